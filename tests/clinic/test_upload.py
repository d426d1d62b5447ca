"""Upload API: formats phones and browsers record, bad input, idempotency, 202 before processing."""

import io
import struct

import av
import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile

from clinic.models import Recording
from tests.conftest import tone_wav

URL = "/api/v1/recordings/"


@pytest.fixture(autouse=True)
def _no_processing(monkeypatch):
    """Upload tests are about ingest: keep the worker out so status stays 'received'."""
    monkeypatch.setattr("clinic.services._enqueue", lambda recording_id: None)


def encode(fmt: str, codec: str, *, seconds: float = 4.0, sr: int = 48000) -> bytes:
    t = np.arange(int(seconds * sr)) / sr
    samples = (0.3 * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t) ** 2).astype(np.float32)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=sr)
        stream.layout = "mono"
        fmt_name = stream.codec_context.format.name
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, samples.size, frame_size):
            chunk = samples[start:start + frame_size]
            data = chunk.reshape(1, -1)
            if fmt_name.startswith("s16"):
                data = (data * 32767).astype(np.int16)
            elif fmt_name.startswith("s32"):
                data = (data * 2147483647).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(data, format=fmt_name, layout="mono")
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()



def _post(api, key, data, name="sample.wav", **headers):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api(key).post(URL, {"audio": SimpleUploadedFile(name, data)}, format="multipart", **headers)


@pytest.mark.parametrize("fmt,codec,container", [
    ("ogg", "libopus", "ogg"), ("webm", "libopus", "webm"), ("mp3", "libmp3lame", "mp3"),
    ("ipod", "aac", "m4a"), ("flac", "flac", "flac"),
])
def test_it_accepts_what_phones_and_browsers_record(cast, api, fmt, codec, container):
    response = _post(api, cast.key_a, encode(fmt, codec), name="rec.bin")
    assert response.status_code == 202, response.json()
    recording = Recording.objects.get(pk=response.json()["id"])
    assert recording.container == container
    assert recording.status == "received"


@pytest.mark.parametrize("sr,channels,subtype", [(8000, 1, "PCM_U8"), (44100, 2, "PCM_16"), (96000, 2, "PCM_24"),
                                                  (22050, 1, "PCM_32"), (48000, 1, "FLOAT")])
def test_it_accepts_wav_variants(cast, api, sr, channels, subtype):
    response = _post(api, cast.key_a, tone_wav(sr=sr, channels=channels, subtype=subtype))
    assert response.status_code == 202, response.json()
    recording = Recording.objects.get(pk=response.json()["id"])
    assert (recording.sample_rate, recording.channels) == (sr, channels)
    assert recording.duration_s == pytest.approx(5.0, abs=0.01)


def test_it_answers_202_with_id_and_status(cast, api):
    response = _post(api, cast.key_a, tone_wav(), **{"HTTP_IDEMPOTENCY_KEY": "k1"})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"id", "status"} and body["status"] == "received"
    recording = Recording.objects.get(pk=body["id"])
    assert recording.patient == cast.patient_a
    assert len(recording.sha256) == 64
    assert recording.file.storage.exists(recording.file.name)


def test_it_trusts_content_not_the_extension(cast, api):
    response = _post(api, cast.key_a, tone_wav(fmt="FLAC", subtype="PCM_16"), name="voice.mp3")
    assert response.status_code == 202
    assert Recording.objects.get(pk=response.json()["id"]).container == "flac"


def test_it_keeps_one_record_for_the_same_file(cast, api):
    data = tone_wav(seed=3)
    first, second = _post(api, cast.key_a, data), _post(api, cast.key_a, data, name="other-name.wav")
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Recording.objects.filter(patient=cast.patient_a).count() == 1


def test_it_keeps_one_record_for_the_same_idempotency_key_and_content(cast, api):
    first = _post(api, cast.key_a, tone_wav(seed=1), HTTP_IDEMPOTENCY_KEY="retry-1")
    again = _post(api, cast.key_a, tone_wav(seed=1), HTTP_IDEMPOTENCY_KEY="retry-1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Recording.objects.count() == 1


def test_it_refuses_a_reused_idempotency_key_with_other_audio_and_keeps_the_first(cast, api):
    first = _post(api, cast.key_a, tone_wav(seed=1), HTTP_IDEMPOTENCY_KEY="retry-1")
    kept = Recording.objects.get(pk=first.json()["id"])
    second = _post(api, cast.key_a, tone_wav(seed=2), HTTP_IDEMPOTENCY_KEY="retry-1")
    assert second.status_code == 422
    assert second.json()["error"] == "idempotency_key_reused"
    assert Recording.objects.count() == 1
    assert Recording.objects.get(pk=kept.pk).sha256 == kept.sha256


@pytest.mark.parametrize("recorded_at,code", [
    ("2099-01-01T00:00:00Z", "recorded_in_future"),
    ("2001-01-01T00:00:00Z", "recorded_before_enrolment"),
])
def test_it_refuses_impossible_recording_times_with_the_reason(cast, api, recorded_at, code):
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("a.wav", tone_wav(seed=5)),
                                                            "recorded_at": recorded_at}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == code and recorded_at[:10] in response.json()["detail"]
    assert Recording.objects.count() == 0


def test_it_allows_a_small_clock_skew(cast, api, settings):
    from datetime import timedelta

    from django.utils import timezone

    ahead = (timezone.now() + timedelta(seconds=settings.CADENCE_MAX_CLOCK_SKEW_S // 2)).isoformat()
    response = api(cast.key_a).post("/api/v1/recordings/", {"audio": SimpleUploadedFile("a.wav", tone_wav(seed=6)),
                                                            "recorded_at": ahead}, format="multipart")
    assert response.status_code == 202


def test_it_lets_two_patients_upload_the_same_file(cast, api):
    data = tone_wav(seed=4)
    assert _post(api, cast.key_a, data).status_code == 202
    assert _post(api, cast.key_b, data).status_code == 202


def _truncated_wav() -> bytes:
    data = tone_wav(seconds=10)
    return data[: len(data) // 5]


def _nan_wav() -> bytes:
    samples = np.zeros(16000 * 5, dtype=np.float32)
    samples[1000] = np.nan
    buf = io.BytesIO()
    sf.write(buf, samples, 16000, subtype="FLOAT", format="WAV")
    return buf.getvalue()


def _unsupported_codec_wav() -> bytes:
    data = bytearray(tone_wav())
    struct.pack_into("<H", data, 20, 0x1234)  # an audio format tag no decoder knows
    return bytes(data)


@pytest.mark.parametrize("make,status,code", [
    (lambda: b"", 400, "empty"),
    (lambda: b"hello, this is a text file renamed to .wav\n" * 20, 415, "not_audio"),
    (_truncated_wav, 400, "truncated"),
    (lambda: tone_wav(seconds=1.0), 422, "too_short"),
    (lambda: tone_wav(seconds=0.0), 422, "too_short"),
    (_unsupported_codec_wav, 415, "unsupported_codec"),
    (lambda: b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", 400, "corrupt"),
])
def test_it_refuses_bad_files_with_a_reason(cast, api, make, status, code):
    response = _post(api, cast.key_a, make())
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["error"] == code
    assert len(body["detail"]) > 10
    assert Recording.objects.count() == 0


def test_it_refuses_too_long_recordings(cast, api, settings):
    settings.CADENCE_MAX_DURATION_S = 4.0
    response = _post(api, cast.key_a, tone_wav(seconds=5))
    assert response.status_code == 422 and response.json()["error"] == "too_long"


def test_it_refuses_files_over_the_size_limit_with_413(cast, api, settings):
    settings.CADENCE_MAX_UPLOAD_BYTES = 50_000
    response = _post(api, cast.key_a, tone_wav(seconds=5))
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_it_rejects_nan_samples_after_decoding(cast, api, monkeypatch):
    from clinic.processing.services import recording_process

    monkeypatch.setattr("clinic.services._enqueue", lambda recording_id: None)
    response = _post(api, cast.key_a, _nan_wav())
    assert response.status_code == 202
    assert recording_process(recording_id=response.json()["id"]) == "rejected"
    recording = Recording.objects.get(pk=response.json()["id"])
    assert "NaN" in recording.status_reason


def test_it_requires_the_audio_field(cast, api):
    response = api(cast.key_a).post(URL, {"other": "x"}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "missing_audio"
