"""voice_features.dsp gives what scipy.signal gives, without importing it."""

import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import butter, find_peaks, sosfilt

from voice_features.dsp import bandpass, butter_bandpass_sos, prominent_peaks
from voice_features.prosody import NUCLEUS_BAND_HZ


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("prominence", [0.0, 0.5, 1.5, 4.0])
def test_prominent_peaks_are_scipys_find_peaks(seed, prominence):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=3000))                       # wandering, many nested peaks
    x[rng.integers(0, 3000, 200)] = x.max() + 1                # isolated spikes
    x[100:140] = x[100]                                        # a flat top or flat valley
    x = np.round(x, 1)                                         # ties and plateaus everywhere
    x[-50:] = -120.0                                           # a floored tail, like silence in dB
    assert np.array_equal(prominent_peaks(x, prominence), find_peaks(x, prominence=prominence)[0])


@pytest.mark.parametrize("x", [[], [1.0], [1.0, 2.0], [1.0, 2.0, 1.0], [3.0, 3.0, 3.0], [1.0, 2.0, 2.0, 1.0],
                               [2.0, 1.0, 2.0], [0.0, 5.0, 5.0, 5.0, 0.0, 6.0, 0.0]])
def test_prominent_peaks_at_the_edges(x):
    x = np.asarray(x, dtype=float)
    assert np.array_equal(prominent_peaks(x, 0.5), find_peaks(x, prominence=0.5)[0]) if x.size else \
        prominent_peaks(x, 0.5).size == 0


@pytest.mark.parametrize("sr", [16000, 8000, 44100])
def test_bandpass_is_sosfilt_of_scipys_butterworth(sr):
    low, high = NUCLEUS_BAND_HZ[0], min(NUCLEUS_BAND_HZ[1], 0.45 * sr)
    sos = butter_bandpass_sos(low, high, sr)
    assert np.allclose(sos, butter(4, (low, high), btype="bandpass", fs=sr, output="sos"), rtol=0, atol=1e-15)
    x = np.random.default_rng(1).normal(size=int(2.7 * sr))
    chunks = np.split(x, [sr, sr + 7, 2 * sr])                 # uneven chunks, one tiny
    y = np.concatenate(list(bandpass(chunks, sos)))
    expected = sosfilt(sos, x)
    assert y.shape == x.shape
    assert np.max(np.abs(y - expected)) < 1e-10 * np.max(np.abs(expected))


def test_extraction_does_not_import_scipy_signal(tmp_path):
    import soundfile as sf

    from voice_features.synth import synth_speech

    speech = synth_speech(run_durations_s=(1.5, 1.5), pause_durations_s=(0.5,), seed=2)
    sf.write(tmp_path / "s.wav", speech.samples, speech.sample_rate)
    code = ("import sys; from voice_features.pipeline import analyse_file; "
            f"analyse_file({str(tmp_path / 's.wav')!r}, with_embedding=False); "
            "print('scipy.signal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
