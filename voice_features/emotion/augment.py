"""Training-time augmentation: speed perturbation, noise mixing, SpecAugment.

All take an explicit random generator so a seeded run is repeatable.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["speed_perturb", "mix_noise", "spec_augment", "random_crop"]


def speed_perturb(samples: np.ndarray, *, factor: float) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster (0.9–1.1 typical) by resampling.

    As in Kaldi's speed perturbation, tempo and pitch change together; the output has
    ``round(n / factor)`` samples.
    """
    n_out = max(1, int(round(samples.shape[0] / factor)))
    positions = np.arange(n_out) * factor
    return np.interp(positions, np.arange(samples.shape[0]), samples).astype(np.float32)


def mix_noise(
    samples: np.ndarray, *, snr_db: float, rng: np.random.Generator, noise: np.ndarray | None = None
) -> np.ndarray:
    """Add noise at ``snr_db`` (dB, signal power over noise power).

    ``noise`` defaults to white Gaussian noise; a given noise clip is tiled or cut to length.
    """
    signal_power = float(np.mean(samples.astype(np.float64) ** 2))
    if signal_power == 0:
        return samples.astype(np.float32)
    if noise is None:
        noise = rng.standard_normal(samples.shape[0])
    else:
        noise = np.resize(noise, samples.shape[0])
    noise_power = float(np.mean(noise.astype(np.float64) ** 2)) or 1.0
    gain = np.sqrt(signal_power / (noise_power * 10 ** (snr_db / 10)))
    return (samples + gain * noise).astype(np.float32)


def random_crop(samples: np.ndarray, *, length: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``length``-sample stretch of ``samples``, zero-padded at the end if shorter."""
    if samples.shape[0] <= length:
        return np.pad(samples, (0, length - samples.shape[0])).astype(np.float32)
    start = int(rng.integers(0, samples.shape[0] - length + 1))
    return samples[start : start + length]


def spec_augment(
    batch: torch.Tensor,
    *,
    generator: torch.Generator,
    freq_masks: int = 2,
    max_freq_width: int = 8,
    time_masks: int = 2,
    max_time_width: int = 20,
) -> torch.Tensor:
    """SpecAugment frequency and time masking of log-mels (Park et al. 2019).

    Parameters
    ----------
    batch : torch.Tensor, shape (batch, frames, mels)
        Log-mel windows; masked cells are set to each example's mean (not 0, which in
        log units would be a loud band).

    Returns
    -------
    torch.Tensor
        A masked copy.
    """
    out = batch.clone()
    b, n_frames, n_mels = out.shape
    fill = out.mean(dim=(1, 2))
    for i in range(b):
        for _ in range(freq_masks):
            width = int(torch.randint(0, max_freq_width + 1, (1,), generator=generator))
            start = int(torch.randint(0, max(1, n_mels - width), (1,), generator=generator))
            out[i, :, start : start + width] = fill[i]
        for _ in range(time_masks):
            width = int(torch.randint(0, max_time_width + 1, (1,), generator=generator))
            start = int(torch.randint(0, max(1, n_frames - width), (1,), generator=generator))
            out[i, start : start + width, :] = fill[i]
    return out
