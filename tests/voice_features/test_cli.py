"""``python -m voice_features``: the records of ``manage.py extract_features``, without Django."""

from __future__ import annotations

import io
import json

import pytest
import soundfile as sf
from django.core.management import call_command

from voice_features import cli
from voice_features.synth import synth_speech


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "speech.wav"
    sf.write(path, synth_speech(seed=4).samples, 16000, subtype="PCM_16")
    return path


@pytest.mark.parametrize("task", [[], ["--task", "sustained_vowel"]])
def test_it_prints_the_records_of_the_management_command(speech_wav, capsys, tmp_path, task):
    assert cli.main([str(speech_wav), "--json", "--emotion-registry", str(tmp_path), *task]) == 0
    ours = json.loads(capsys.readouterr().out)
    out = io.StringIO()
    call_command("extract_features", str(speech_wav), "--json", *task, stdout=out)
    assert ours == json.loads(out.getvalue())
    assert ours["embedding"]["dim"] == 256 and ours["emotion"] is None
    assert (ours["features"]["speech_rate_syl_s"] is None) == bool(task)  # no speech rate for a sustained vowel


def test_it_reports_a_bad_file_and_exits_1_after_the_others(speech_wav, capsys, tmp_path):
    junk = tmp_path / "notes.wav"
    junk.write_bytes(b"not audio")
    assert cli.main([str(junk), str(speech_wav), "--no-embedding"]) == 1
    captured = capsys.readouterr()
    assert "not a supported audio file" in captured.out and "accepted" in captured.out
    assert "1 of 2 file(s) could not be analysed." in captured.err


