"""Encryption at rest for patient files (recordings, bulk exports), above any storage backend.

Envelope encryption: every file gets a random 256-bit data key; the data key is wrapped
(AES-GCM) by a master key, whose id is written in the file's header. The content is cut into
64 KiB chunks, each sealed with AES-GCM under the data key; a chunk's nonce and associated
data carry its index and whether it is the last one, so chunks cannot be reordered, dropped
or the file truncated without the decryption failing. Decryption streams with constant
memory and is seekable (decoders seek), so the worker and playback read through it.

File layout::

    b"CADENC1\\n" | key id (8 bytes) | wrapped data key (12-byte nonce + 32 + 16 tag)
    | nonce prefix (4 bytes) | chunk size (4 bytes, big endian) | sealed chunks ...

Master keys come from ``CADENCE_AUDIO_KEYS`` (comma-separated base64 of 32 random bytes, the
first one encrypts, all of them decrypt; ``CADENCE_AUDIO_KEYS_FILE`` for a secret mount). The
embedded default keeps a development key in ``var/``. The backend under this module is
Django's default storage, so an object store works unchanged.
"""

import base64
import binascii
import hashlib
import io
import os
import struct
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import default_storage

__all__ = ["AudioKeyError", "EncryptedFileError", "audio_store", "audio_open", "audio_delete", "audio_reencrypt",
           "canary_reencrypt", "audio_keys_verify", "keyring", "new_master_key", "CANARY_NAME"]

MAGIC = b"CADENC1\n"
CHUNK = 64 * 1024
TAG = 16
_WRAPPED = 12 + 32 + TAG
_HEADER = struct.Struct(f">{len(MAGIC)}s8s{_WRAPPED}s4sI")
CANARY_NAME = "keys/audio-key-check.bin"
_CANARY_TEXT = b"cadence audio key check"


class AudioKeyError(ImproperlyConfigured):
    """The master keys are missing, malformed or do not open the stored files."""


class EncryptedFileError(ValueError):
    """A stored file is not a Cadence encrypted file, or was altered."""


def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"cadence-key-id" + key).digest()[:8]


def _parse_keys(raw: str) -> list[bytes]:
    keys = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            key = base64.b64decode(item, validate=True)
        except (binascii.Error, ValueError):
            raise AudioKeyError("CADENCE_AUDIO_KEYS holds a value that is not base64.") from None
        if len(key) != 32:
            raise AudioKeyError(f"CADENCE_AUDIO_KEYS holds a {len(key)}-byte key; keys are 32 random bytes "
                                "(make one with: python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())').")
        keys.append(key)
    return keys


def _dev_key(path: Path) -> str:
    """The embedded default's key, made once and kept (0600) next to the SQLite database."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_master_key())
    return path.read_text().strip()


@lru_cache(maxsize=4)
def _keyring(raw: str, dev_key_file: str) -> tuple[tuple[bytes, bytes], ...]:
    if not raw and dev_key_file:
        raw = _dev_key(Path(dev_key_file))
    keys = _parse_keys(raw)
    if not keys:
        raise AudioKeyError("No audio encryption key: set CADENCE_AUDIO_KEYS (or CADENCE_AUDIO_KEYS_FILE) to the "
                            "base64 of 32 random bytes.")
    return tuple((_key_id(key), key) for key in keys)


def keyring() -> tuple[tuple[bytes, bytes], ...]:
    """(key id, key) pairs; the first encrypts new files."""
    return _keyring(settings.CADENCE_AUDIO_KEYS, str(settings.CADENCE_AUDIO_DEV_KEY_FILE or ""))


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">Q", index)


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">Q?", index, last)


def encrypt_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The encrypted file as a stream of bytes, from a stream of plaintext of any chunking."""
    key_id, master = keyring()[0]
    data_key, prefix = AESGCM.generate_key(bit_length=256), os.urandom(4)
    wrap_nonce = os.urandom(12)
    wrapped = wrap_nonce + AESGCM(master).encrypt(wrap_nonce, data_key, MAGIC + key_id)
    header = _HEADER.pack(MAGIC, key_id, wrapped, prefix, CHUNK)
    yield header
    aead, buffer, index = AESGCM(data_key), bytearray(), 0
    for piece in chunks:
        buffer += piece
        while len(buffer) > CHUNK:  # keep at least one byte back: the last chunk is sealed as last
            yield aead.encrypt(_nonce(prefix, index), bytes(buffer[:CHUNK]), _aad(header, index, False))
            del buffer[:CHUNK]
            index += 1
    yield aead.encrypt(_nonce(prefix, index), bytes(buffer), _aad(header, index, True))


class DecryptingReader(io.RawIOBase):
    """A seekable, read-only plaintext view of an encrypted file object (one chunk in memory)."""

    def __init__(self, raw) -> None:
        super().__init__()
        self._raw = raw
        header = raw.read(_HEADER.size)
        if len(header) != _HEADER.size:
            raise EncryptedFileError("The stored file is not an encrypted Cadence file.")
        magic, key_id, wrapped, self._prefix, self._chunk = _HEADER.unpack(header)
        if magic != MAGIC:
            raise EncryptedFileError("The stored file is not an encrypted Cadence file.")
        self._header = header
        self._aead = AESGCM(_unwrap(key_id, wrapped))
        raw.seek(0, io.SEEK_END)
        body = raw.tell() - _HEADER.size
        self._n_chunks = max(1, -(-body // (self._chunk + TAG)))
        self._size = body - self._n_chunks * TAG
        if self._size < 0:
            raise EncryptedFileError("The stored file is truncated.")
        self._pos, self._cached = 0, (-1, b"")

    def _plain_chunk(self, index: int) -> bytes:
        if self._cached[0] != index:
            self._raw.seek(_HEADER.size + index * (self._chunk + TAG))
            sealed = self._raw.read(self._chunk + TAG)
            last = index == self._n_chunks - 1
            try:
                plain = self._aead.decrypt(_nonce(self._prefix, index), sealed, _aad(self._header, index, last))
            except InvalidTag:
                raise EncryptedFileError("The stored file was altered or truncated.") from None
            self._cached = (index, plain)
        return self._cached[1]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index, offset = divmod(self._pos, self._chunk)
        piece = self._plain_chunk(index)[offset:offset + len(buffer)]
        buffer[:len(piece)] = piece
        self._pos += len(piece)
        return len(piece)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    @property
    def size(self) -> int:
        return self._size


def _unwrap(key_id: bytes, wrapped: bytes) -> bytes:
    for candidate_id, master in keyring():
        if candidate_id == key_id:
            try:
                return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], MAGIC + key_id)
            except InvalidTag:
                break
    raise AudioKeyError(f"The stored file is encrypted under key {key_id.hex()}, which is not among the "
                        "configured CADENCE_AUDIO_KEYS.")


def _save(name: str, chunks: Iterable[bytes]) -> str:
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        for sealed in encrypt_chunks(chunks):
            spool.write(sealed)
        spool.seek(0)
        return default_storage.save(name, File(spool, name=name))


def audio_store(*, prefix: str, chunks: Iterable[bytes]) -> str:
    """Encrypt and store; returns the storage name (``<prefix>/<uuid>.enc``, nothing patient-identifying)."""
    return _save(f"{prefix}/{uuid.uuid4().hex}.enc" if prefix else f"{uuid.uuid4().hex}.enc", chunks)


def audio_open(name: str) -> io.BufferedReader:
    """A buffered, seekable plaintext stream of a stored encrypted file."""
    return io.BufferedReader(DecryptingReader(default_storage.open(name, "rb")), buffer_size=CHUNK)


def audio_delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def audio_reencrypt(name: str) -> str | None:
    """Re-encrypt a stored file under the current key into a new file; None if it already was.

    The caller points its record at the returned name and then deletes the old file, so a
    crash in between leaves both files, never none.
    """
    current_id = keyring()[0][0]
    with default_storage.open(name, "rb") as raw:
        if raw.read(_HEADER.size)[len(MAGIC):len(MAGIC) + 8] == current_id:
            return None
    with audio_open(name) as plain:
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        return audio_store(prefix=folder, chunks=iter(lambda: plain.read(CHUNK), b""))


def canary_reencrypt() -> None:
    """After a rotation the key check file is rewritten under the current key."""
    audio_delete(CANARY_NAME)
    _save(CANARY_NAME, [_CANARY_TEXT])


def audio_keys_verify() -> None:
    """Fail loudly at start-up: keys missing or malformed, or none of them opens the stored files."""
    keyring()
    if not default_storage.exists(CANARY_NAME):
        _save(CANARY_NAME, [_CANARY_TEXT])
        return
    try:
        with audio_open(CANARY_NAME) as check:
            ok = check.read() == _CANARY_TEXT
    except AudioKeyError:
        ok = False
    except EncryptedFileError as exc:
        raise AudioKeyError(f"The key check file {CANARY_NAME} is damaged: {exc}") from None
    if not ok:
        raise AudioKeyError("None of the configured CADENCE_AUDIO_KEYS opens the stored audio (a wrong or missing "
                            "key); the previous key must stay in CADENCE_AUDIO_KEYS until rotate_audio_key has run.")
