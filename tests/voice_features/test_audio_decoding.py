"""WAV and FLAC read by libsndfile in blocks give the very samples FFmpeg's frame-by-frame decoding gives."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from voice_features import audio
from voice_features.errors import VoiceFeaturesError


def _file(sr: int, channels: int, fmt: str, subtype: str) -> bytes:
    rng = np.random.default_rng(sr + channels)
    x = np.clip(rng.normal(0.0, 0.3, sr // 2), -1.1, 1.1)  # some samples at full scale
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, 0.5 * x[::-1]], axis=1)[:, :channels], sr, subtype=subtype, format=fmt)
    return buf.getvalue()


def _with_ffmpeg_only(monkeypatch, data: bytes) -> audio.DecodedAudio:
    with monkeypatch.context() as patch:
        patch.setattr(audio, "_LIBSNDFILE_CODECS", frozenset())
        return audio.load_audio(data)


@pytest.fixture
def libsndfile_reads(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = audio._libsndfile_chunks

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(audio, "_libsndfile_chunks", counted)
    return calls


@pytest.mark.parametrize(("sr", "channels", "fmt", "subtype"), [
    (16000, 1, "WAV", "PCM_16"), (16000, 2, "WAV", "PCM_24"), (44100, 1, "WAV", "PCM_16"),
    (48000, 2, "WAV", "FLOAT"), (8000, 1, "WAV", "PCM_U8"), (22050, 2, "WAVEX", "PCM_32"),
    (48000, 1, "FLAC", "PCM_16"), (44100, 2, "FLAC", "PCM_24"),
])
def test_libsndfile_blocks_equal_ffmpeg_frames(monkeypatch, libsndfile_reads, sr, channels, fmt, subtype):
    data = _file(sr, channels, fmt, subtype)
    fast = audio.load_audio(data)
    assert libsndfile_reads, "the libsndfile path was not taken"
    reference = _with_ffmpeg_only(monkeypatch, data)
    np.testing.assert_array_equal(fast.samples, reference.samples)
    assert fast.clipping_fraction == reference.clipping_fraction
    assert fast.info == reference.info


def test_companded_pcm_stays_with_ffmpeg(libsndfile_reads):
    decoded = audio.load_audio(_file(8000, 1, "WAV", "ULAW"))
    assert not libsndfile_reads and decoded.info.codec == "pcm_mulaw" and decoded.samples.size == 8000


def test_a_streamed_wav_that_declares_no_length_is_read_to_its_end(libsndfile_reads):
    data = bytearray(_file(16000, 1, "WAV", "PCM_16"))
    at = data.index(b"data")
    data[at + 4: at + 8] = struct.pack("<I", 0)  # libsndfile would read 0 frames
    decoded = audio.load_audio(bytes(data))
    assert not libsndfile_reads and decoded.samples.size == 8000


def test_too_long_and_non_finite_are_refused_on_the_libsndfile_path():
    with pytest.raises(VoiceFeaturesError) as too_long:
        audio.load_audio(_file(16000, 1, "WAV", "PCM_16"), max_duration_s=0.2)
    assert too_long.value.code == "too_long"
    samples = np.zeros(16000, dtype=np.float32)
    samples[100] = np.nan
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, subtype="FLOAT", format="WAV")
    with pytest.raises(VoiceFeaturesError) as nan:
        audio.load_audio(buf.getvalue())
    assert nan.value.code == "non_finite"


def test_a_streamed_webm_gets_its_bit_rate_and_duration_from_its_packets():
    """MediaRecorder's WebM declares neither; the packets give both, at upload and when the worker decodes it."""
    import av

    from tests.support.codecs import streamed

    t = np.arange(8 * 16000) / 16000
    speechlike = (0.3 * np.sin(2 * np.pi * 140 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    data = streamed(speechlike, 16000, bit_rate=64000)
    with av.open(io.BytesIO(data)) as container:
        assert container.duration is None and not container.bit_rate and not container.streams.audio[0].bit_rate
    info = audio.probe_audio(data)
    packet_bytes = len(data) - 200  # the header and cluster overhead are a few hundred bytes
    assert info.duration_s == pytest.approx(8.0, abs=0.05)
    assert info.bit_rate == pytest.approx(packet_bytes * 8 / info.duration_s, rel=0.05)
    assert (info.container, info.codec, info.channels) == ("webm", "opus", 1)
    decoded = audio.load_audio(data)
    assert decoded.info.bit_rate == info.bit_rate and decoded.info.duration_s == info.duration_s
