"""Two pieces of scipy.signal, without importing scipy.signal.

``import scipy.signal`` costs about 0.6 CPU-s per process (it loads scipy.stats and the
array-API layer), a tenth of the whole extraction of 12 minutes of speech in a fresh process
(``benchmarks/bench_features.py``). The syllable-nucleus detector needs only two of its
functions; this module gives the same results (tests compare them with scipy.signal):

* :func:`prominent_peaks` — ``scipy.signal.find_peaks(x, prominence=p)[0]``;
* :func:`bandpass` — ``scipy.signal.sosfilt`` of the 4th-order Butterworth band-pass
  ``butter(4, band, btype="bandpass", fs=sr, output="sos")``, as a convolution with the filter's
  impulse response (it decays below 1e-30 within the 2048 taps kept) by FFT. The design for
  16 kHz, the rate every recording is analysed at, is stored; another rate designs it with
  ``scipy.signal.butter`` (imported then, and only then).
"""

# Not part of the product any more: Cadence calls scipy.signal again. This was voice_features/dsp.py until
# benchmarks/bench_dsp_vs_library.py showed that, in a long-lived worker, it saved nothing per recording (it was
# slower than the library); it is kept unchanged only so that the benchmark can be run again.

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["prominent_peaks", "bandpass", "butter_bandpass_sos"]

_IMPULSE_TAPS = 2048
_STORED_SOS = {
    # butter(4, (400.0, 2000.0), btype="bandpass", fs=16000, output="sos"); tests check it still is
    (400.0, 2000.0, 16000): (
        (0.0048243433577162325, 0.009648686715432465, 0.0048243433577162325, 1.0, -1.1719909087814908,
         0.40931184968231843),
        (1.0, 2.0, 1.0, 1.0, -1.2181948809159393, 0.6892325996551805),
        (1.0, -2.0, 1.0, 1.0, -1.684119181035706, 0.7235079018394279),
        (1.0, -2.0, 1.0, 1.0, -1.8930350853656797, 0.9180337569665631),
    ),
}


def prominent_peaks(x: np.ndarray, prominence: float) -> np.ndarray:
    """Indices of the local maxima of ``x`` whose prominence is at least ``prominence``.

    Same definitions as ``scipy.signal.find_peaks(x, prominence=prominence)``: a flat top counts
    once, at its middle (rounded down); the ends of ``x`` are never peaks; a peak's prominence is its
    height above the higher of the two lowest points between it and the nearest strictly higher
    sample on each side (or the end of ``x``).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 3:
        return np.empty(0, dtype=np.intp)
    # runs of equal values; a peak is a run higher than both neighbouring runs, not touching an end
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    ends = np.r_[starts[1:], n] - 1
    values = x[starts]
    if values.size < 3:
        return np.empty(0, dtype=np.intp)
    inner = np.arange(1, values.size - 1)
    is_peak = (values[inner] > values[inner - 1]) & (values[inner] > values[inner + 1])
    runs = inner[is_peak]
    peaks = (starts[runs] + ends[runs]) // 2
    if peaks.size == 0:
        return peaks.astype(np.intp)
    heights = x[peaks]
    # nearest strictly higher peak on each side (monotonic stacks over the peaks); between a peak
    # and that one, everything that rises above the peak's height would itself hold a higher peak,
    # so the lowest point in between is the lowest point before the first higher sample
    left = _nearest_higher(peaks, heights, range(peaks.size), end=0)
    right = _nearest_higher(peaks, heights, range(peaks.size - 1, -1, -1), end=n - 1)
    keep = np.empty(peaks.size, dtype=bool)
    for i, (p, lo, hi) in enumerate(zip(peaks, left, right, strict=True)):
        base = max(x[lo:p + 1].min(), x[p:hi + 1].min())
        keep[i] = heights[i] - base >= prominence
    return peaks[keep].astype(np.intp)


def _nearest_higher(peaks: np.ndarray, heights: np.ndarray, order, *, end: int) -> np.ndarray:
    """For each peak, the index of the nearest strictly higher peak met before it in ``order`` (a monotonic
    stack), or ``end`` where there is none."""
    found = np.full(peaks.size, end, dtype=np.intp)
    stack: list[int] = []
    for i in order:
        while stack and heights[stack[-1]] <= heights[i]:
            stack.pop()
        if stack:
            found[i] = peaks[stack[-1]]
        stack.append(i)
    return found


def butter_bandpass_sos(low_hz: float, high_hz: float, sr: int) -> np.ndarray:
    """Second-order sections of the 4th-order Butterworth band-pass, shape (4, 6)."""
    stored = _STORED_SOS.get((float(low_hz), float(high_hz), int(sr)))
    if stored is not None:
        return np.array(stored)
    from scipy.signal import butter  # only for a rate or band without a stored design

    return butter(4, (low_hz, high_hz), btype="bandpass", fs=sr, output="sos")


@lru_cache(maxsize=8)
def _impulse(sos_key: tuple) -> np.ndarray:
    h = np.zeros(_IMPULSE_TAPS)
    h[0] = 1.0
    for b0, b1, b2, _, a1, a2 in sos_key:  # direct form II transposed, section by section
        out = np.empty_like(h)
        z1 = z2 = 0.0
        for i, v in enumerate(h.tolist()):
            y = b0 * v + z1
            z1 = b1 * v - a1 * y + z2
            z2 = b2 * v - a2 * y
            out[i] = y
        h = out
    return h


@lru_cache(maxsize=16)
def _impulse_spectrum(sos_key: tuple, n_fft: int) -> np.ndarray:
    return np.fft.rfft(_impulse(sos_key), n_fft)


def bandpass(chunks, sos: np.ndarray):
    """Filter a signal given as consecutive chunks; yields the filtered chunks (same lengths).

    Equal to running ``scipy.signal.sosfilt`` over the whole signal with zero initial state.
    """
    key = tuple(map(tuple, np.asarray(sos, dtype=np.float64).tolist()))
    tail = np.zeros(0)
    for chunk in chunks:
        x = np.asarray(chunk, dtype=np.float64)
        m = x.size
        n_fft = 1 << int(np.ceil(np.log2(m + _IMPULSE_TAPS)))
        y = np.fft.irfft(np.fft.rfft(x, n_fft) * _impulse_spectrum(key, n_fft), n_fft)[:m + _IMPULSE_TAPS - 1]
        y[:tail.size] += tail  # the previous chunk's ringing (always shorter than y)
        yield y[:m]
        tail = y[m:]
