"""Encode test audio into the containers and codecs phones and browsers send, at test time (never committed).

Everything is made with PyAV (its FFmpeg has the OpenCORE AMR-NB encoder, Opus, LAME, AAC,
ALAC). Two files FFmpeg cannot write are assembled by hand from their specifications:
CAF holding AAC (Apple Core Audio Format spec: desc, kuki = MPEG-4 esds, pakt, data chunks) and
AMR-WB storage format (RFC 4867 section 5; no AMR-WB encoder ships, so its frames carry
arbitrary speech parameters - a decoder test, not a speech test).
"""

from __future__ import annotations

import io
import struct

import av
import numpy as np

__all__ = ["encode", "streamed", "amr_nb_3gp", "amr_wb_file", "caf_aac", "passage", "AMR_NB_MODES", "PHONE_CODECS"]

AMR_NB_MODES = (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200)
"""The eight AMR-NB bit rates, bit/s (3GPP TS 26.071)."""
_AMR_WB_FRAME_BYTES = (17, 23, 32, 36, 40, 46, 50, 58, 60)  # speech payload per 20-ms frame, modes 0-8


def _resample(samples: np.ndarray, sr: int, rate: int) -> np.ndarray:
    if rate == sr:
        return samples.astype(np.float32)
    frame = av.AudioFrame.from_ndarray(samples.astype(np.float32).reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = sr
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(out).astype(np.float32)


def _frames_for(stream, samples: np.ndarray, rate: int):
    ctx = stream.codec_context
    fmt = ctx.format.name
    frame_size = ctx.frame_size or 1024
    for start in range(0, samples.size, frame_size):
        data = samples[start:start + frame_size].reshape(1, -1)
        if fmt.startswith("s16"):
            data = np.clip(data * 32767, -32768, 32767).astype(np.int16)
        elif fmt.startswith("s32"):
            data = np.clip(data * 2147483647.0, -2147483648, 2147483647).astype(np.int32)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="mono")
        frame.sample_rate = rate
        yield frame


def encode(samples: np.ndarray, sr: int, *, fmt: str, codec: str, rate: int | None = None,
           bit_rate: int | None = None) -> bytes:
    """``samples`` (mono float, full scale 1) encoded with ``codec`` in container ``fmt`` at ``rate`` Hz."""
    rate = rate or sr
    x = _resample(np.asarray(samples, dtype=np.float32), sr, rate)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        for frame in _frames_for(stream, x, rate):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


class _OneWay(io.RawIOBase):
    """A write-only, unseekable output: what a browser's MediaRecorder streams its file into."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        return self.buffer.write(data)


def streamed(samples: np.ndarray, sr: int, *, fmt: str = "webm", codec: str = "libopus", rate: int = 48000,
             bit_rate: int = 64000) -> bytes:
    """Like :func:`encode`, but muxed without seeking back, as MediaRecorder writes WebM: the container then
    declares neither the duration nor the bit rate."""
    out = _OneWay()
    x = _resample(np.asarray(samples, dtype=np.float32), sr, rate)
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout, stream.bit_rate = "mono", bit_rate
        for frame in _frames_for(stream, x, rate):
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.buffer.getvalue()


def amr_nb_3gp(samples: np.ndarray, sr: int, *, bit_rate: int, fmt: str = "3gp") -> bytes:
    """AMR-NB at one of :data:`AMR_NB_MODES` in a 3GP file (``fmt="amr"``: the raw storage format)."""
    return encode(samples, sr, fmt=fmt, codec="libopencore_amrnb", rate=8000, bit_rate=bit_rate)


def amr_wb_file(*, seconds: float = 5.0, mode: int = 8, seed: int = 0) -> bytes:
    """An AMR-WB storage-format file (``#!AMR-WB``) of ``seconds`` of 20-ms frames in ``mode``."""
    rng = np.random.default_rng(seed)
    header = bytes([(mode << 3) | 0x04])  # frame type, quality bit set
    frames = [header + rng.integers(0, 256, _AMR_WB_FRAME_BYTES[mode], dtype=np.uint8).tobytes()
              for _ in range(int(seconds / 0.02))]
    return b"#!AMR-WB\n" + b"".join(frames)


def _descriptor(tag: int, body: bytes) -> bytes:
    return bytes([tag, 0x80, 0x80, 0x80, len(body)]) + body


def _esds(audio_specific_config: bytes, bit_rate: int) -> bytes:
    """The MPEG-4 ES descriptor CAF keeps as the AAC magic cookie (ISO/IEC 14496-1)."""
    decoder_specific = _descriptor(0x05, audio_specific_config)
    config = _descriptor(0x04, bytes([0x40, 0x15]) + b"\x00\x18\x00" + struct.pack(">II", bit_rate, bit_rate) + decoder_specific)
    es = _descriptor(0x03, b"\x00\x01\x00" + config + _descriptor(0x06, b"\x02"))
    return b"\x00\x00\x00\x00" + es


def _varint(value: int) -> bytes:
    """CAF packet-table integer: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">q", len(body)) + body


def caf_aac(samples: np.ndarray, sr: int, *, rate: int = 44100, bit_rate: int = 64000) -> bytes:
    """AAC-LC in a CAF file as iOS records it (FFmpeg's CAF muxer cannot write AAC)."""
    x = _resample(np.asarray(samples, dtype=np.float32), sr, rate)
    ctx = av.CodecContext.create("aac", "w")
    ctx.sample_rate, ctx.layout, ctx.format, ctx.bit_rate = rate, "mono", "fltp", bit_rate
    ctx.flags |= av.codec.context.Flags.global_header
    ctx.open()
    packets = []
    for start in range(0, x.size, 1024):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[start:start + 1024].reshape(1, -1)), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        packets += [bytes(p) for p in ctx.encode(frame)]
    packets += [bytes(p) for p in ctx.encode(None)]
    desc = struct.pack(">d4sIIIII", float(rate), b"aac ", 2, 0, 1024, 1, 0)  # AAC-LC, 1024 frames per packet, mono
    valid = x.size
    pakt = struct.pack(">qqii", len(packets), valid, 2048 - 1024, len(packets) * 1024 - valid - 1024) + b"".join(
        _varint(len(p)) for p in packets)
    data = struct.pack(">I", 0) + b"".join(packets)
    return (b"caff" + struct.pack(">HH", 1, 0) + _chunk(b"desc", desc) + _chunk(b"kuki", _esds(bytes(ctx.extradata), bit_rate))
            + _chunk(b"pakt", pakt) + _chunk(b"data", data))


PHONE_CODECS = {
    "amr-nb 12.2k": lambda x, sr: amr_nb_3gp(x, sr, bit_rate=12200),
    "amr-nb 4.75k": lambda x, sr: amr_nb_3gp(x, sr, bit_rate=4750),
    "opus 16k": lambda x, sr: encode(x, sr, fmt="ogg", codec="libopus", rate=16000, bit_rate=16000),
    "aac 64k": lambda x, sr: encode(x, sr, fmt="ipod", codec="aac", rate=44100, bit_rate=64000),
    "mp3 64k": lambda x, sr: encode(x, sr, fmt="mp3", codec="libmp3lame", rate=44100, bit_rate=64000),
    "mu-law 8k": lambda x, sr: encode(x, sr, fmt="wav", codec="pcm_mulaw", rate=8000),
}
"""What phones and browsers send, by name: ``(samples, sr) -> file bytes``."""


def passage(parts: list[np.ndarray], *, sr: int, gaps_s: tuple[float, ...] = (0.6, 0.9, 0.5), edge_s: float = 0.4,
            noise_dbfs: float = -60.0, seed: int = 0) -> np.ndarray:
    """Utterances joined by pauses of known length over a steady room-noise floor, like a phone recording."""
    rng = np.random.default_rng(seed)
    pieces = [np.zeros(int(edge_s * sr))]
    for i, part in enumerate(parts):
        pieces.append(np.asarray(part, dtype=np.float64))
        pieces.append(np.zeros(int((gaps_s[i] if i < len(parts) - 1 else edge_s) * sr)))
    x = np.concatenate(pieces)
    x = 0.5 * x / max(float(np.max(np.abs(x))), 1e-9)
    x += rng.normal(0.0, 10 ** (noise_dbfs / 20), x.size)
    return x.astype(np.float32)
