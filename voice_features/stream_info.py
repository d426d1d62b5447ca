"""What an audio stream says about itself, before and while it is decoded: container, codec, rate, channels,
duration and bit rate (:class:`AudioInfo`), the checks a stream must pass before Cadence decodes it, and the
packet tally that measures what a streamed file's header leaves out (:mod:`voice_features.audio` is the loader
that uses them)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import av

from voice_features.errors import VoiceFeaturesError

__all__ = ["MAX_CHANNELS", "AudioInfo", "PacketTally", "codec_label", "info_from_container", "needs_tally",
           "validate_info"]

_MIN_SR, _MAX_SR = 8000, 96000


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
    """Audio bit rate, bit/s: as the file declares it, as computed for PCM, or, when the container does not say
    (a browser's WebM or Ogg), the stream's packet bytes over its duration; None when unknown."""


def info_from_container(container: av.container.InputContainer, kind: str) -> AudioInfo:
    if not container.streams.audio:
        raise VoiceFeaturesError("The file holds no audio stream.", code="no_audio_stream")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx is None or ctx.format is None or not ctx.sample_rate:
        raise VoiceFeaturesError(
            f"This {kind.upper()} file holds audio in a format Cadence cannot decode "
            f"({codec_label(stream)}); please record again with the Cadence app or as WAV, AAC, Opus or AMR.",
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


def codec_label(stream) -> str:
    """The codec's name for a person: FFmpeg's long name, its short name, or the file's codec tag."""
    ctx = stream.codec_context
    codec = getattr(ctx, "codec", None) if ctx is not None else None
    label = getattr(codec, "long_name", None) or getattr(ctx, "name", None)
    if not label or label == "none":
        tag = getattr(stream, "codec_tag", None) or ""
        label = f"codec tag {tag}" if tag and tag.strip("\x00") else "an unknown codec"
    return label


MAX_CHANNELS = 8
"""FFmpeg mixes 1-8 channels (and some larger standard layouts) down to mono; a voice needs one or two."""


def validate_info(info: AudioInfo) -> None:
    if not _MIN_SR <= info.sample_rate <= _MAX_SR:
        raise VoiceFeaturesError(
            f"Sample rate {info.sample_rate} Hz is not supported (8000-96000 Hz).", code="unsupported_rate"
        )
    if info.channels < 1:
        raise VoiceFeaturesError("The audio stream has no channels.", code="no_audio_stream")
    if info.channels > MAX_CHANNELS:
        raise VoiceFeaturesError(
            f"The recording has too many channels ({info.channels}); at most {MAX_CHANNELS} are accepted, and a "
            "voice recording needs one (mono) or two (stereo).", code="too_many_channels")


class PacketTally:
    """Bytes and time span of a stream's packets: the real bit rate and duration of a file whose container
    does not say (a browser's MediaRecorder writes WebM with neither, as it streams the file out)."""

    def __init__(self, time_base) -> None:
        self.time_base, self.bytes, self.first, self.end, self.last = time_base, 0, None, None, None

    def add(self, packet: av.Packet) -> None:
        if not packet.size or packet.pts is None:
            return
        self.bytes += packet.size
        step = packet.duration or (packet.pts - self.last if self.last is not None else 0)
        self.first = packet.pts if self.first is None else min(self.first, packet.pts)
        self.end = packet.pts + step if self.end is None else max(self.end, packet.pts + step)
        self.last = packet.pts

    def completed(self, info: AudioInfo) -> AudioInfo:
        """``info`` with what its header left unknown (bit rate, duration) taken from the packets."""
        if self.first is None or self.time_base is None:
            return info
        span_s = float((self.end - self.first) * self.time_base)
        if span_s <= 0:
            return info
        return replace(info, duration_s=info.duration_s if info.duration_s is not None else span_s,
                       bit_rate=info.bit_rate or round(self.bytes * 8 / span_s))


def needs_tally(info: AudioInfo) -> bool:
    return info.bit_rate is None or info.duration_s is None
