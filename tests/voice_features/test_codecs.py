"""Phone codecs: every AMR-NB mode, AMR-WB and CAF decode; prosody survives lossy coding; voice quality is withheld where it does not.

Files are encoded at test time with PyAV (tests/support/codecs.py); nothing is committed.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import codecs
from tests.voice_features.conftest import load_16k
from voice_features import analyse
from voice_features.audio import load_audio, probe_audio
from voice_features.errors import VoiceFeaturesError
from voice_features.pipeline import analyse_file

SR = 16000


@pytest.fixture(scope="module")
def espeak_passage(espeak_recording) -> np.ndarray:
    return load_16k(espeak_recording.path)


@pytest.mark.parametrize("bit_rate", codecs.AMR_NB_MODES)
@pytest.mark.parametrize("fmt", ["3gp", "amr"])
def test_it_decodes_amr_nb_at_every_mode(espeak_passage, bit_rate, fmt):
    data = codecs.amr_nb_3gp(espeak_passage[: 4 * SR], SR, bit_rate=bit_rate, fmt=fmt)
    info = probe_audio(data)
    audio = load_audio(data)
    assert (info.container, info.codec, info.sample_rate) == (fmt, "amrnb", 8000)
    assert audio.duration_s == pytest.approx(4.0, abs=0.05)
    original, decoded = espeak_passage[: 4 * SR], audio.samples[: 4 * SR]
    envelope = lambda x: np.sqrt(np.mean(x[: x.size // 320 * 320].reshape(-1, 320) ** 2, axis=1))  # noqa: E731
    n = min(envelope(original).size, envelope(decoded).size)
    assert np.corrcoef(envelope(original)[:n], envelope(decoded)[:n])[0, 1] > 0.9  # the speech is where it was
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert level(decoded) == pytest.approx(level(original), abs=3.0)


def test_it_decodes_amr_wb_and_caf():
    t = np.arange(3 * SR) / SR
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    for data, codec in [(codecs.amr_wb_file(seconds=3.0), "amrwb"), (codecs.caf_aac(tone, SR), "aac"),
                        (codecs.encode(tone, SR, fmt="caf", codec="alac"), "alac"),
                        (codecs.encode(tone, SR, fmt="caf", codec="pcm_s16be"), "pcm_s16be")]:
        audio = load_audio(data)
        assert audio.info.codec == codec
        assert audio.duration_s == pytest.approx(3.0, abs=0.15)
        if codec != "amrwb":  # the AMR-WB file carries arbitrary parameters; only that it decodes is known
            assert np.sqrt(np.mean(audio.samples**2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_an_unknown_codec_is_refused_with_its_name_not_ffmpeg_text():
    data = bytearray(codecs.encode(np.zeros(SR, dtype=np.float32), SR, fmt="wav", codec="pcm_s16le"))
    data[20:22] = (0x1234).to_bytes(2, "little")
    with pytest.raises(VoiceFeaturesError) as caught:
        probe_audio(bytes(data))
    assert caught.value.code == "unsupported_format"
    assert "codec" in caught.value.message and "Errno" not in caught.value.message


@pytest.fixture(scope="module")
def grid_passages(espeak_passage):
    """Two voices: the eSpeak passage and the package's own synthetic speech (a lower, steadier voice)."""
    from voice_features.synth import synth_speech

    synthetic = synth_speech(run_durations_s=(2.2, 2.8, 1.9), pause_durations_s=(0.7, 0.5), f0_hz=110.0, seed=5).samples
    return {"espeak": espeak_passage, "synthetic": synthetic.astype(np.float32)}


@pytest.fixture(scope="module")
def grid_originals(grid_passages):
    return {name: analyse(x, sr=SR).features for name, x in grid_passages.items()}


@pytest.mark.parametrize("codec", ["amr-nb 4.75k", "opus 16k", "aac 64k", "mp3 64k", "mu-law 8k"])
@pytest.mark.parametrize("voice", ["espeak", "synthetic"])
def test_prosody_survives_phone_codecs(grid_passages, grid_originals, voice, codec):
    decoded = load_audio(codecs.PHONE_CODECS[codec](grid_passages[voice], SR))
    copy, original = analyse(decoded.samples, sr=decoded.sample_rate).features, grid_originals[voice]
    assert copy["speech_rate_syl_s"] == pytest.approx(original["speech_rate_syl_s"], rel=0.05)
    assert abs(copy["pause_count"] - original["pause_count"]) <= 1
    assert abs(copy["f0_median_st"] - original["f0_median_st"]) <= 0.5
    assert abs(copy["f0_range_st"] - original["f0_range_st"]) <= 1.0


_VOICE = ("jitter_local", "shimmer_local", "hnr_db", "cpp_db", "f1_mean_hz", "f2_mean_hz", "f1_bw_hz", "mfcc2_mean",
          "mfcc2_sd")
#: The phone recorder's take: Opus at 64 kbit/s in a WebM that declares no bit rate (read from its packets).
_SENT = codecs.PHONE_CODECS | {"recorder webm 64k": lambda x, sr: codecs.streamed(x, sr, bit_rate=64000)}


@pytest.mark.parametrize("codec,withheld", [
    ("amr-nb 12.2k", set(_VOICE)),
    ("opus 16k", {"jitter_local", "shimmer_local", "mfcc2_mean", "mfcc2_sd"}),
    ("aac 64k", {"cpp_db", "f1_mean_hz", "mfcc2_mean", "mfcc2_sd"}),
    ("mp3 64k", {"mfcc2_sd"}),
    ("mu-law 8k", {"cpp_db", "f1_mean_hz", "f2_mean_hz", "f1_bw_hz", "mfcc2_mean", "mfcc2_sd"}),
    ("recorder webm 64k", set()),
])
def test_features_a_codec_distorts_are_withheld_with_a_reason(grid_passages, codec, withheld):
    payload = analyse_file(_SENT[codec](grid_passages["synthetic"], SR), with_embedding=False)
    features, quality = payload["features"], payload["quality"]
    assert quality["source"]["codec"] and quality["source"]["sample_rate"]
    for name in _VOICE:
        assert (features[name] is None) == (name in withheld), name
        assert (name in quality["withheld_features"]) == (name in withheld), name
    assert all(len(quality["withheld_features"][name]) > 40 for name in withheld)
    assert features["speech_rate_syl_s"] is not None
    if codec.startswith("recorder"):
        assert quality["source"]["bit_rate"] > 58000 and quality["source"]["container"] == "webm"
