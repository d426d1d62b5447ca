"""Upload API: formats phones and browsers record, bad input, idempotency, 202 before processing."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile

from clinic.models import Recording
from tests.conftest import tone_wav
from tests.support import codecs

URL = "/api/v1/recordings/"


@pytest.fixture(autouse=True)
def _no_processing(monkeypatch):
    """Upload tests are about ingest: keep the worker out so status stays 'received'."""
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)


def _tone(seconds: float = 4.0, sr: int = 48000) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t) ** 2).astype(np.float32)


def encode(fmt: str, codec: str, *, seconds: float = 4.0, sr: int = 48000) -> bytes:
    return codecs.encode(_tone(seconds, sr), sr, fmt=fmt, codec=codec)


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
    (_unsupported_codec_wav, 415, "unsupported_format"),
    (lambda: b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", 400, "corrupt"),
])
def test_it_refuses_bad_files_with_a_reason(cast, api, make, status, code):
    response = _post(api, cast.key_a, make())
    assert response.status_code == status, response.json()
    body = response.json()
    assert body["error"] == code
    assert len(body["detail"]) > 10
    assert Recording.objects.count() == 0


def test_an_unsupported_codec_is_named_and_no_ffmpeg_text_reaches_the_patient(cast, api):
    body = _post(api, cast.key_a, _unsupported_codec_wav()).json()
    assert body["error"] == "unsupported_format"
    assert "codec" in body["detail"] and "Errno" not in body["detail"] and "FFmpeg" not in body["detail"]


@pytest.mark.parametrize("make", [
    lambda: codecs.amr_nb_3gp(_tone(4.0, 8000), 8000, bit_rate=12200)[:-3000],  # cut off mid-stream
    lambda: b"#!AMR\n" + bytes(range(256)) * 4,  # frames of nonsense
    lambda: b"caff\x00\x01\x00\x00" + b"\x00" * 200,
])
def test_damaged_phone_files_get_a_sentence_not_errno_text(cast, api, make):
    response = _post(api, cast.key_a, make(), name="phone.3gp")
    body = response.json()
    if response.status_code == 202:  # a cut-off AMR stream still holds 1 s of good frames: accepted
        return
    assert response.status_code in (400, 415, 422), body
    assert "Errno" not in body["detail"] and "avcodec" not in body["detail"] and "patches" not in body["detail"]


@pytest.mark.parametrize("bit_rate", codecs.AMR_NB_MODES)
def test_it_accepts_amr_nb_in_3gp_at_every_mode(cast, api, bit_rate):
    response = _post(api, cast.key_a, codecs.amr_nb_3gp(_tone(4.0, 8000), 8000, bit_rate=bit_rate), name="rec.3gp")
    assert response.status_code == 202, response.json()
    recording = Recording.objects.get(pk=response.json()["id"])
    assert (recording.container, recording.codec, recording.sample_rate) == ("3gp", "amrnb", 8000)
    assert recording.bit_rate == pytest.approx(bit_rate, rel=0.1)  # the 3GP figure includes framing


@pytest.mark.parametrize("make,container,codec", [
    (lambda: codecs.amr_nb_3gp(_tone(4.0, 8000), 8000, bit_rate=4750, fmt="amr"), "amr", "amrnb"),
    (lambda: codecs.amr_wb_file(seconds=4.0), "amr", "amrwb"),
    (lambda: codecs.caf_aac(_tone(), 48000), "caf", "aac"),
    (lambda: encode("caf", "alac"), "caf", "alac"),
    (lambda: encode("caf", "pcm_s16le"), "caf", "pcm_s16le"),
    (lambda: codecs.encode(_tone(), 48000, fmt="wav", codec="pcm_mulaw", rate=8000), "wav", "pcm_mulaw"),
    (lambda: codecs.encode(_tone(), 48000, fmt="au", codec="pcm_mulaw", rate=8000), "au", "pcm_mulaw"),
])
def test_it_accepts_amr_wb_caf_and_telephone_formats(cast, api, make, container, codec):
    response = _post(api, cast.key_a, make(), name="rec.bin")
    assert response.status_code == 202, response.json()
    recording = Recording.objects.get(pk=response.json()["id"])
    assert (recording.container, recording.codec) == (container, codec)
    assert recording.bit_rate and recording.bit_rate > 0


def test_it_stores_the_device_model_from_the_form_or_the_header(cast, api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    first = api(cast.key_a).post(URL, {"audio": SimpleUploadedFile("a.wav", tone_wav(seed=5)), "device_model": "Pixel 7"},
                                  format="multipart")
    second = _post(api, cast.key_a, tone_wav(seed=6), HTTP_X_DEVICE_MODEL="iPhone14,2\x07")
    assert Recording.objects.get(pk=first.json()["id"]).device_model == "Pixel 7"
    assert Recording.objects.get(pk=second.json()["id"]).device_model == "iPhone14,2"
    assert Recording.objects.get(pk=second.json()["id"]).bit_rate == 16000 * 16


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

    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    response = _post(api, cast.key_a, _nan_wav())
    assert response.status_code == 202
    assert recording_process(recording_id=response.json()["id"]) == "rejected"
    recording = Recording.objects.get(pk=response.json()["id"])
    assert "NaN" in recording.status_reason


def test_it_requires_the_audio_field(cast, api):
    response = api(cast.key_a).post(URL, {"other": "x"}, format="multipart")
    assert response.status_code == 400 and response.json()["error"] == "missing_audio"
