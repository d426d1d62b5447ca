"""The one audio loader: sniff the container, probe, decode to mono 16 kHz float32.

Content decides the format, never the file name. Everything that cannot be used
raises :class:`~voice_features.errors.VoiceFeaturesError` with a reason a person
can read; FFmpeg's own messages (errno text) never reach a person.

Phones send AMR-NB in 3GP at 4.75-12.2 kbit/s. FFmpeg's native AMR-NB decoder refuses
some of those streams ("not yet implemented"), so AMR is decoded with the OpenCORE
decoders PyAV's FFmpeg ships (:data:`_PREFERRED_DECODER`).

Linear PCM in WAV and FLAC (mono or stereo) is read by libsndfile in large blocks instead
of FFmpeg's small frames (:data:`_LIBSNDFILE_CODECS`): the samples are the same, and the
block-wise resampling goes through the same FFmpeg resampler, so the output is identical
while a 12-minute WAV costs ~0.03 CPU-s instead of ~0.2.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import soundfile

from voice_features.containers import check_wav_complete, sniff_container
from voice_features.errors import VoiceFeaturesError

__all__ = ["AudioInfo", "DecodedAudio", "sniff_container", "probe_audio", "load_audio", "TARGET_SR"]

TARGET_SR = 16000
SUPPORTED = ("wav", "flac", "ogg", "webm", "mp3", "m4a", "3gp", "amr", "caf", "au")
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
    bit_rate: int | None = None
    """Audio bit rate, bit/s, as the file declares it (or as computed for PCM); None when unknown."""


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


def _info_from_container(container: av.container.InputContainer, kind: str) -> AudioInfo:
    if not container.streams.audio:
        raise VoiceFeaturesError("The file holds no audio stream.", code="no_audio_stream")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None or ctx.format is None or not ctx.sample_rate:
        raise VoiceFeaturesError(
            f"This {kind.upper()} file holds audio in a format Cadence cannot decode "
            f"({_codec_label(stream)}); please record again with the Cadence app or as WAV, AAC, Opus or AMR.",
            code="unsupported_format",
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
    channels = int(ctx.channels or 0)
    bit_rate = int(stream.bit_rate or ctx.bit_rate or (container.bit_rate if len(container.streams) == 1 else 0) or 0) or None
    if bit_rate is None and ctx.name.startswith("pcm_"):
        bit_rate = int(ctx.sample_rate) * channels * (8 if ctx.name in _G711 else bits)
    return AudioInfo(
        container=kind,
        codec=ctx.name,
        sample_rate=int(ctx.sample_rate or 0),
        channels=channels,
        duration_s=duration,
        bits_per_sample=bits,
        bit_rate=bit_rate,
    )


_G711 = ("pcm_mulaw", "pcm_alaw")


def _codec_label(stream) -> str:
    """The codec's name for a person: FFmpeg's long name, its short name, or the file's codec tag."""
    ctx = stream.codec_context
    codec = getattr(ctx, "codec", None) if ctx is not None else None
    label = getattr(codec, "long_name", None) or getattr(ctx, "name", None)
    if not label or label == "none":
        tag = getattr(stream, "codec_tag", None) or ""
        label = f"codec tag {tag}" if tag and tag.strip("\x00") else "an unknown codec"
    return label


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
            with _open_probed(stream, kind) as container:
                info = _info_from_container(container, kind)
                _validate_info(info)
                _decode_a_little(container, info)
        except av.FFmpegError as exc:
            raise _decoding_error(exc, kind, reading=True) from exc
    return info


_HEADER_ONLY = {"probesize": "2048", "analyzeduration": "0"}
"""FFmpeg options that take a stream's parameters from the container header alone. By default FFmpeg reads
and analyses up to 5 MB of packets to find them, which for a 30-s WAV was 3 ms of the upload's 12 ms of CPU;
a PCM WAV's header says everything (the same codec, rate, channels, duration and bit rate either way)."""


def _open_probed(stream: BinaryIO, kind: str) -> av.container.InputContainer:
    """The container opened for probing: a WAV of PCM or G.711 from its header alone, anything else
    (compressed audio in WAV included) with FFmpeg's full stream analysis."""
    if kind == "wav":
        start = stream.tell()
        container = av.open(stream, mode="r", format="wav", options=_HEADER_ONLY)
        ctx = container.streams.audio[0].codec_context if container.streams.audio else None
        if ctx is not None and ctx.name.startswith("pcm_"):
            return container
        container.close()
        stream.seek(start)
    return av.open(stream, mode="r", format=_FFMPEG_FORMAT[kind])


_FFMPEG_FORMAT = {"wav": "wav", "flac": "flac", "ogg": "ogg", "webm": "matroska", "mp3": "mp3", "m4a": "mov",
                  "3gp": "mov", "amr": "amr", "caf": "caf", "au": "au"}
_PREFERRED_DECODER = {"amrnb": "libopencore_amrnb", "amrwb": "libopencore_amrwb"}
"""FFmpeg's native AMR-NB decoder refuses some phone streams; OpenCORE decodes every mode."""
_PROBE_DECODE_S = 1.0


def _decoding_error(exc: av.FFmpegError, kind: str, *, reading: bool = False) -> VoiceFeaturesError:
    """A sentence for a person in place of FFmpeg's errno text (kept as the exception's cause for operators)."""
    name = kind.upper()
    if isinstance(exc, (av.PatchWelcomeError, av.DecoderNotFoundError)):
        return VoiceFeaturesError(
            f"This {name} file uses an audio format variant Cadence cannot decode; "
            "please record again with the Cadence app or as WAV, AAC, Opus or AMR.",
            code="unsupported_format",
        )
    verb = "read" if reading else "decoded"
    return VoiceFeaturesError(
        f"The {name} file could not be {verb}: it looks damaged or cut off. Please record and upload it again.",
        code="corrupt",
    )


def _frames(container: av.container.InputContainer):
    """Decoded frames of the first audio stream, with the preferred decoder for its codec."""
    stream = container.streams.audio[0]
    preferred = _PREFERRED_DECODER.get(stream.codec_context.name)
    if preferred is None or preferred not in av.codecs_available:
        yield from container.decode(stream)
        return
    ctx = av.CodecContext.create(preferred, "r")
    ctx.sample_rate = stream.codec_context.sample_rate
    ctx.layout = stream.codec_context.layout
    if stream.codec_context.extradata:
        ctx.extradata = stream.codec_context.extradata
    for packet in container.demux(stream):
        yield from ctx.decode(packet)


def _decode_a_little(container: av.container.InputContainer, info: AudioInfo) -> None:
    """Decode the first second so a stream the decoder refuses is refused at upload, not later."""
    decoded = 0
    for frame in _frames(container):
        decoded += frame.samples
        if decoded >= _PROBE_DECODE_S * info.sample_rate:
            break


@contextmanager
def _sniffed(source: Source):
    """The opened stream and its container; a truncated WAV is refused before FFmpeg sees it."""
    stream = _open(source)
    try:
        kind = _sniff_or_raise(stream)
        if kind == "wav":
            check_wav_complete(stream)
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
            "The file is not a supported audio file "
            "(WAV, FLAC, OGG/Opus, WebM/Opus, MP3, M4A/AAC, 3GP/AMR, AMR, CAF or AU).",
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
            raise _decoding_error(exc, kind) from exc


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


_LIBSNDFILE_CODECS = frozenset({"pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "flac"})
"""Codecs whose WAV/FLAC files libsndfile decodes to the very samples FFmpeg gives (tests compare both).
Not 64-bit float: FFmpeg resamples it in double precision, so float32 blocks would differ by ~1e-7."""
_LIBSNDFILE_LAYOUTS = {"mono": "mono", "1 channels": "mono", "stereo": "stereo", "2 channels": "stereo"}
"""Channel layouts (as FFmpeg names them before decoding; WAV without a channel mask has no order) read by libsndfile."""
_BLOCK_FRAMES = 1 << 16


def _decode(stream: BinaryIO, kind: str, target_sr: int, max_duration_s: float | None) -> DecodedAudio:
    with av.open(stream, mode="r", format=_FFMPEG_FORMAT[kind]) as container:
        info = _info_from_container(container, kind)
        _validate_info(info)
        layout = _LIBSNDFILE_LAYOUTS.get(container.streams.audio[0].codec_context.layout.name)
        if not (kind in ("wav", "flac") and info.codec in _LIBSNDFILE_CODECS and layout is not None):
            return _resampled(_ffmpeg_chunks(container), info, target_sr, max_duration_s)
    reader = _libsndfile_reader(stream, info)
    if reader is None:
        with av.open(stream, mode="r", format=_FFMPEG_FORMAT[kind]) as container:
            return _resampled(_ffmpeg_chunks(container), info, target_sr, max_duration_s)
    with reader:
        return _resampled(_libsndfile_chunks(reader, layout), info, target_sr, max_duration_s)


def _libsndfile_reader(stream: BinaryIO, info: AudioInfo) -> soundfile.SoundFile | None:
    """libsndfile's reader of the file when it reads the header as FFmpeg did, else None (stream rewound).

    A streamed WAV that declares 0 bytes of audio reads as empty in libsndfile and in full in FFmpeg.
    """
    stream.seek(0)
    try:
        reader = soundfile.SoundFile(stream)
    except (soundfile.LibsndfileError, RuntimeError):
        stream.seek(0)
        return None
    declared = info.duration_s
    if (reader.samplerate == info.sample_rate and reader.channels == info.channels and declared is not None
            and abs(reader.frames - declared * info.sample_rate) < 0.5):
        return reader
    reader.close()
    stream.seek(0)
    return None


def _ffmpeg_chunks(container: av.container.InputContainer):
    """``(samples as float, frame for the resampler)`` of every decoded FFmpeg frame."""
    for frame in _frames(container):
        frame.pts = None
        yield _frame_to_float(frame), frame


def _libsndfile_chunks(reader: soundfile.SoundFile, layout: str):
    """``(samples, frame for the resampler)`` of blocks of :data:`_BLOCK_FRAMES` read by libsndfile.

    libsndfile scales integer PCM to floats as FFmpeg does (x / 2^(bits-1)); the frame is
    planar float, which FFmpeg's resampler converts, mixes and resamples as it does the
    decoder's packed integer frames.
    """
    for block in reader.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T), format="fltp", layout=layout)
        frame.sample_rate = reader.samplerate
        yield block, frame


def _resampled(chunks, info: AudioInfo, target_sr: int, max_duration_s: float | None) -> DecodedAudio:
    """Check, count clipping on, and resample to mono ``target_sr`` the ``(samples, frame)`` chunks of one file."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=target_sr)
    out = _Growing(int(((info.duration_s or 60.0) + 1.0) * target_sr))
    clipped = total = 0
    for original, frame in chunks:
        if not np.isfinite(original).all():
            raise VoiceFeaturesError("The audio contains invalid samples (NaN or infinity).", code="non_finite")
        clipped += int(np.count_nonzero(np.abs(original) >= _CLIP_LEVEL))
        total += original.size
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
