"""``manage.py extract_features``: one JSON line per file, errors per file, non-zero exit."""

from __future__ import annotations

import io
import json

import pytest
import soundfile as sf
from django.core.management import call_command
from django.core.management.base import CommandError

from voice_features import FEATURE_NAMES, FEATURE_SET_VERSION
from voice_features.synth import synth_speech


@pytest.fixture
def speech_wav(tmp_path):
    path = tmp_path / "speech.wav"
    sf.write(path, synth_speech(seed=4).samples, 16000, subtype="PCM_16")
    return path


def _run(*args) -> tuple[str, Exception | None]:
    out = io.StringIO()
    try:
        call_command("extract_features", *map(str, args), stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_it_prints_one_json_object_per_file(speech_wav):
    out, error = _run(speech_wav, speech_wav, "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert error is None and len(lines) == 2
    assert lines[0]["file"] == str(speech_wav)
    assert set(lines[0]["features"]) == set(FEATURE_NAMES)
    assert lines[0]["quality"]["accepted"] is True
    assert lines[0]["version"] == FEATURE_SET_VERSION


def test_it_reports_a_bad_file_and_exits_non_zero_after_the_others(speech_wav, tmp_path):
    junk = tmp_path / "notes.wav"
    junk.write_bytes(b"this is not audio at all")
    out, error = _run(junk, tmp_path / "missing.wav", speech_wav, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert [("error" in r) for r in records] == [True, True, False]
    assert "not a supported audio file" in records[0]["error"]
    assert "could not be opened" in records[1]["error"]
    assert records[2]["features"]["syllable_count"] > 0
    assert isinstance(error, CommandError) and "2 of 3" in str(error)


def test_it_prints_a_readable_table_without_json(speech_wav, tmp_path):
    silence = tmp_path / "silence.wav"
    sf.write(silence, [0.0] * 32000, 16000, subtype="PCM_16")
    out, error = _run(speech_wav, silence)
    assert error is None
    assert "accepted" in out and "speech_rate_syl_s" in out
    assert "rejected: No speech was detected in the recording." in out
    assert "n/a" in out  # undefined features of the silent file


def test_it_adds_the_voice_embedding_and_says_when_emotion_is_off(speech_wav):
    out, error = _run(str(speech_wav), "--json")
    assert error is None
    record = json.loads(out.strip().splitlines()[0])
    embedding = record["embedding"]
    assert embedding["model"] == "resemblyzer-ge2e" and embedding["dim"] == 256 == len(embedding["vector"])
    assert abs(sum(v * v for v in embedding["vector"]) - 1.0) < 1e-3  # L2-normalised
    assert record["emotion"] is None  # no trained emotion model is active: the stage is off
