"""What a file is, from its bytes: the container sniffed from its head, and a WAV's chunk list checked
before FFmpeg sees it (:mod:`voice_features.audio` is the loader that uses both)."""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

from voice_features.errors import VoiceFeaturesError

__all__ = ["MAX_WAV_CHUNKS", "check_wav_complete", "sniff_container"]


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
        return "3gp" if head[8:11] == b"3g2" or head[8:10] == b"3g" else "m4a"
    if head[:4] == b"caff":
        return "caf"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head[:4] == b".snd":
        return "au"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    return None


#: A real WAV has a handful of chunks (fmt, data, LIST, fact, bext, ...). A file made of millions of empty
#: chunks would keep FFmpeg's header scan busy for a minute, so it is refused before FFmpeg sees it.
MAX_WAV_CHUNKS = 64


def check_wav_complete(stream: BinaryIO) -> None:
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
