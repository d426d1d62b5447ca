"""The one audio loader: sniff the container, probe, decode to mono 16 kHz float32.

Content decides the format, never the file name. Everything that cannot be used
raises :class:`~voice_features.errors.VoiceFeaturesError` with a reason a person
can read.
"""

from __future__ import annotations

import io
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from voice_features.errors import VoiceFeaturesError

__all__ = ["AudioInfo", "DecodedAudio", "sniff_container", "probe_audio", "load_audio", "TARGET_SR"]

TARGET_SR = 16000
SUPPORTED = ("wav", "flac", "ogg", "webm", "mp3", "m4a")
_CLIP_LEVEL = 0.999
_MIN_SR, _MAX_SR = 8000, 96000

Source = str | Path | bytes | BinaryIO


@dataclass(frozen=True)
class AudioInfo:
    """What the file says about itself (before decoding)."""

    container: str
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None
    bits_per_sample: int | None


@dataclass(frozen=True)
class DecodedAudio:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` Hz, shape (n,)."""

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo
    clipping_fraction: float

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate


def sniff_container(head: bytes) -> str | None:
    """Container from the first bytes of a file, or None when it is not audio we take."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    return None


def _open(source: Source) -> BinaryIO:
    if isinstance(source, (str, Path)):
        return open(source, "rb")
    if isinstance(source, (bytes, bytearray)):
        return io.BytesIO(source)
    source.seek(0)
    return source


def _read_head(stream: BinaryIO, size: int = 64) -> bytes:
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


#: A real WAV has a handful of chunks (fmt, data, LIST, fact, bext, ...). A file made of millions of empty
#: chunks would keep FFmpeg's header scan busy for a minute, so it is refused before FFmpeg sees it.
MAX_WAV_CHUNKS = 64


def _check_wav_complete(stream: BinaryIO) -> None:
    """Walk the RIFF chunk list (bounded): refuse a WAV that was cut off or holds too many chunks."""
    stream.seek(0, io.SEEK_END)
    file_size = stream.tell()
    stream.seek(12)
    for _ in range(MAX_WAV_CHUNKS):
        header = stream.read(8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"data":
            available = file_size - stream.tell()
            if chunk_size not in (0, 0xFFFFFFFF) and available < chunk_size * 0.99:
                raise VoiceFeaturesError(
                    f"The WAV file is truncated: it declares {chunk_size} bytes of audio but holds {available}.",
                    code="truncated",
                )
            if chunk_size in (0, 0xFFFFFFFF):
                break  # streamed WAV: the audio runs to the end of the file
        stream.seek(chunk_size + (chunk_size & 1), io.SEEK_CUR)
    else:
        if len(stream.read(8)) == 8:
            raise VoiceFeaturesError(
                f"The WAV file is made of more than {MAX_WAV_CHUNKS} chunks (a recording has a handful); "
                "it is refused without being read.",
                code="corrupt",
            )
    stream.seek(0)


def _info_from_container(container: av.container.InputContainer, kind: str) -> AudioInfo:
    if not container.streams.audio:
        raise VoiceFeaturesError("The file holds no audio stream.", code="no_audio_stream")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None or ctx.format is None or not ctx.sample_rate:
        raise VoiceFeaturesError(
            f"The audio codec of this {kind} file is not supported ({getattr(ctx, 'name', None) or 'unknown'}).",
            code="unsupported_codec",
        )
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    elif kind == "wav":
        duration = 0.0  # FFmpeg reports no duration only for a WAV without samples
    else:
        duration = None
    bits = ctx.format.bits
    return AudioInfo(
        container=kind,
        codec=ctx.name,
        sample_rate=int(ctx.sample_rate or 0),
        channels=int(ctx.channels or 0),
        duration_s=duration,
        bits_per_sample=bits,
    )


def _validate_info(info: AudioInfo) -> None:
    if not _MIN_SR <= info.sample_rate <= _MAX_SR:
        raise VoiceFeaturesError(
            f"Sample rate {info.sample_rate} Hz is not supported (8000-96000 Hz).", code="unsupported_rate"
        )
    if info.channels < 1:
        raise VoiceFeaturesError("The audio stream has no channels.", code="no_audio_stream")


def probe_audio(source: Source) -> AudioInfo:
    """Read only the header: container, codec, rate, channels, declared duration.

    Raises
    ------
    VoiceFeaturesError
        Empty, not audio, truncated, or a stream FFmpeg cannot open.
    """
    with _sniffed(source) as (stream, kind):
        try:
            with av.open(stream, mode="r", format=_FFMPEG_FORMAT[kind]) as container:
                info = _info_from_container(container, kind)
        except av.FFmpegError as exc:
            raise VoiceFeaturesError(f"The {kind} file could not be read: {exc}.", code="corrupt") from exc
    _validate_info(info)
    return info


_FFMPEG_FORMAT = {"wav": "wav", "flac": "flac", "ogg": "ogg", "webm": "matroska", "mp3": "mp3", "m4a": "mov"}


@contextmanager
def _sniffed(source: Source):
    """The opened stream and its container; a truncated WAV is refused before FFmpeg sees it."""
    stream = _open(source)
    try:
        kind = _sniff_or_raise(stream)
        if kind == "wav":
            _check_wav_complete(stream)
        yield stream, kind
    finally:
        if isinstance(source, (str, Path)):
            stream.close()


def _sniff_or_raise(stream: BinaryIO) -> str:
    head = _read_head(stream)
    if not head:
        raise VoiceFeaturesError("The file is empty.", code="empty")
    kind = sniff_container(head)
    if kind is None:
        raise VoiceFeaturesError(
            "The file is not a supported audio file (WAV, FLAC, OGG/Opus, WebM/Opus, MP3 or M4A/AAC).",
            code="not_audio",
        )
    return kind


def _frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32768.0
    if data.dtype == np.int32:
        return (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    return data.astype(np.float32, copy=False)


def load_audio(source: Source, *, target_sr: int = TARGET_SR, max_duration_s: float | None = None) -> DecodedAudio:
    """Decode any supported file to mono float32 at ``target_sr`` Hz.

    Parameters
    ----------
    source : path, bytes or binary file object
    target_sr : int
        Output sample rate in Hz.
    max_duration_s : float, optional
        Refuse audio longer than this many seconds (checked while decoding).

    Returns
    -------
    DecodedAudio
        ``samples`` has shape (n,) in [-1, 1]; ``clipping_fraction`` is the share of
        original samples at full scale, measured before resampling smooths it away.
    """
    with _sniffed(source) as (stream, kind):
        try:
            return _decode(stream, kind, target_sr, max_duration_s)
        except av.FFmpegError as exc:
            raise VoiceFeaturesError(f"The {kind} file could not be decoded: {exc}.", code="corrupt") from exc


class _Growing:
    """A float32 buffer filled in place: decoding a long file holds one copy of it, not three."""

    def __init__(self, expected: int) -> None:
        self.data = np.empty(max(expected, 1), dtype=np.float32)
        self.size = 0

    def extend(self, chunk: np.ndarray) -> None:
        end = self.size + chunk.size
        if end > self.data.size:
            grown = np.empty(max(end, 2 * self.data.size), dtype=np.float32)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size:end] = chunk
        self.size = end

    def view(self) -> np.ndarray:
        return self.data[: self.size]


def _decode(stream: BinaryIO, kind: str, target_sr: int, max_duration_s: float | None) -> DecodedAudio:
    with av.open(stream, mode="r", format=_FFMPEG_FORMAT[kind]) as container:
        info = _info_from_container(container, kind)
        _validate_info(info)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
        out = _Growing(int(((info.duration_s or 60.0) + 1.0) * target_sr))
        clipped = total = 0
        for frame in container.decode(container.streams.audio[0]):
            original = _frame_to_float(frame)
            if not np.isfinite(original).all():
                raise VoiceFeaturesError("The audio contains invalid samples (NaN or infinity).", code="non_finite")
            clipped += int(np.count_nonzero(np.abs(original) >= _CLIP_LEVEL))
            total += original.size
            frame.pts = None
            for resampled in resampler.resample(frame):
                out.extend(resampled.to_ndarray().reshape(-1))
            if max_duration_s is not None and total / max(info.channels, 1) / info.sample_rate > max_duration_s:
                raise VoiceFeaturesError(
                    f"The recording is longer than the {max_duration_s:.0f}-s limit.", code="too_long"
                )
        for resampled in resampler.resample(None):
            out.extend(resampled.to_ndarray().reshape(-1))
    if total == 0:
        raise VoiceFeaturesError("The file contains no audio samples.", code="empty")
    samples = out.view()
    np.clip(samples, -1.0, 1.0, out=samples)
    return DecodedAudio(samples=samples, sample_rate=target_sr, info=info, clipping_fraction=clipped / total)
