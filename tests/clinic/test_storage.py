"""Encryption at rest: stored audio is ciphertext, named by uuid, 0600; playback, keys checks and rotation."""

import base64
import io
import os
import stat
from pathlib import Path

import av
import pytest
import soundfile as sf
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from clinic import storage
from clinic.checks import audio_keys_check
from clinic.models import Recording
from clinic.services import recording_ingest
from tests.conftest import tone_wav


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def stored(cast, monkeypatch):
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    data = tone_wav(seconds=4.0, seed=3)
    recording = recording_ingest(patient=cast.patient_a, upload=SimpleUploadedFile("s.wav", data)).recording
    return recording, data


def test_it_stores_ciphertext_that_does_not_decode_as_audio(stored):
    recording, data = stored
    path = Path(default_storage.path(recording.file.name))
    raw = path.read_bytes()
    assert raw.startswith(storage.MAGIC) and data[:64] not in raw and len(raw) > len(data)
    with pytest.raises(sf.LibsndfileError):
        sf.read(io.BytesIO(raw))
    # FFmpeg refuses the random bytes, or (now and then) takes them for a container that has no audio stream.
    with pytest.raises((av.error.FFmpegError, IndexError, StopIteration)):
        av.open(io.BytesIO(raw)).decode(audio=0).__next__()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cast_code_not_in(recording.file.name, recording.patient.code)


def cast_code_not_in(name: str, code: str) -> bool:
    return code not in name and name.startswith("recordings/") and name.endswith(".enc")


def test_it_plays_back_the_original_bytes_to_the_care_team(stored, cast, api):
    recording, data = stored
    response = api(cast.alice_token).get(f"/api/v1/recordings/{recording.pk}/audio/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Length"] == str(len(data))


@pytest.mark.parametrize("size", [0, 1, storage.CHUNK - 1, storage.CHUNK, storage.CHUNK + 1, 3 * storage.CHUNK + 17])
def test_it_round_trips_and_seeks_across_chunk_boundaries(size, settings):
    data = os.urandom(size)
    name = storage.audio_store(prefix="t", chunks=[data[i:i + 1000] for i in range(0, size, 1000)])
    with storage.audio_open(name) as plain:
        assert plain.read() == data
        plain.seek(max(0, size - storage.CHUNK - 5))
        assert plain.read(10) == data[max(0, size - storage.CHUNK - 5):][:10]
        assert plain.seek(0, io.SEEK_END) == size


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_it_detects_altered_or_truncated_files(damage):
    data = os.urandom(2 * storage.CHUNK + 100)
    name = storage.audio_store(prefix="t", chunks=[data])
    path = Path(default_storage.path(name))
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-5] ^= 1
    else:
        raw = raw[:-(100 + storage.TAG)]  # drop the whole last chunk: the new last one was not sealed as last
    path.write_bytes(bytes(raw))
    with pytest.raises(storage.EncryptedFileError), storage.audio_open(name) as plain:
        plain.read()


def test_it_fails_the_start_up_check_without_a_key_or_with_a_wrong_one(settings):
    assert audio_keys_check(None) == []  # first start: writes the key check file
    settings.CADENCE_AUDIO_KEYS, settings.CADENCE_AUDIO_DEV_KEY_FILE = "", None
    assert [e.id for e in audio_keys_check(None)] == ["clinic.E001"]
    settings.CADENCE_AUDIO_KEYS = base64.b64encode(b"short").decode()
    assert "32 random bytes" in audio_keys_check(None)[0].msg
    settings.CADENCE_AUDIO_KEYS = _key()
    errors = audio_keys_check(None)
    assert [e.id for e in errors] == ["clinic.E001"] and "wrong or missing key" in errors[0].msg


def test_it_keeps_a_generated_development_key_for_the_embedded_default(settings, tmp_path):
    settings.CADENCE_AUDIO_KEYS, settings.CADENCE_AUDIO_DEV_KEY_FILE = "", tmp_path / "var" / "audio-dev.key"
    first = storage.keyring()
    assert stat.S_IMODE(settings.CADENCE_AUDIO_DEV_KEY_FILE.stat().st_mode) == 0o600
    storage._keyring.cache_clear()
    assert storage.keyring() == first


def test_it_rotates_to_a_new_key_and_the_old_key_can_go(stored, settings, cast, api):
    recording, data = stored
    audio_keys_check(None)
    old = settings.CADENCE_AUDIO_KEYS
    new = _key()
    settings.CADENCE_AUDIO_KEYS = f"{new},{old}"
    out = io.StringIO()
    call_command("rotate_audio_key", stdout=out)
    assert "re-encrypted 1 recordings" in out.getvalue()
    settings.CADENCE_AUDIO_KEYS = new
    assert audio_keys_check(None) == []
    recording.refresh_from_db()
    response = api(cast.alice_token).get(f"/api/v1/recordings/{recording.pk}/audio/")
    assert b"".join(response.streaming_content) == data
    assert len(default_storage.listdir("recordings")[1]) == 1  # the old ciphertext is gone
    assert Recording.objects.get().file.name == recording.file.name
