"""manage.py train_emotion_model, end to end on a tiny synthetic EMO-DB-layout corpus."""

import json

import pytest
import torch
from django.core.management import CommandError, call_command

from tests.voice_features.emotion.synthetic_corpus import write_emodb_corpus
from voice_features.emotion import registry

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)


#: The command's plumbing (train, distil, export, register, activate) needs every speaker and emotion, not
#: every sentence: two of the six (48 utterances) train in a third of the time. Accuracy is test_pipeline.py's.
TEXTS = ["a01", "b01"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    torch.set_num_threads(1)  # the CI machine has 2 shared cores
    return write_emodb_corpus(tmp_path_factory.mktemp("emodb-small"), texts=TEXTS)


def test_it_trains_registers_and_activates_from_the_command_line(corpus, tmp_path, capsys):
    out = tmp_path / "registry"
    call_command(
        "train_emotion_model", "--corpus", str(corpus), "--layout", "emodb",
        "--out-registry", str(out), "--epochs", "1", "--seed", "3", "--no-progress",
    )
    (version,) = registry.list_versions(out)
    assert registry.active_version(out) == version
    metadata = json.loads((out / version / "metadata.json").read_text())
    assert metadata["train_config"]["epochs"] == 1 and metadata["train_config"]["seed"] == 3
    assert metadata["corpus"]["layout"] == "emodb" and metadata["corpus"]["n_utterances"] == 6 * len(TEXTS) * 4
    assert {"model.pt", "model.ts", "model.onnx", "model_int8.onnx", "evaluation.json", "confusion_matrix.png"} <= set(metadata["files"])
    stdout = capsys.readouterr().out
    assert "UAR" in stdout and version in stdout
    assert "teacher: UAR" in stdout and "student: UAR" in stdout and "INT8 (static conv blocks 2-3, dynamic LSTM) UAR change" in stdout
    teacher, student = metadata["distillation"]["teacher"], metadata["distillation"]["student"]
    assert teacher["parameters"] > 2 * student["parameters"]  # the student is the serving-size model
    assert metadata["model_config"]["conv_channels"] == student["config"]["conv_channels"] == [16, 32, 64]
    assert teacher["config"]["conv_channels"] == [32, 64, 128]
    assert student["uar"] == metadata["evaluation"]["uar"]


def test_it_can_register_without_activating(corpus, tmp_path):
    out = tmp_path / "registry"
    call_command(
        "train_emotion_model", "--corpus", str(corpus), "--layout", "emodb",
        "--out-registry", str(out), "--epochs", "1", "--no-activate", "--no-distill", "--no-progress",
    )
    assert len(registry.list_versions(out)) == 1
    assert registry.active_version(out) is None
    assert registry.read_metadata(out, registry.list_versions(out)[0])["distillation"] is None


def test_it_reports_a_corpus_in_the_wrong_layout(corpus, tmp_path):
    with pytest.raises(CommandError, match="No ravdess utterances"):
        call_command(
            "train_emotion_model", "--corpus", str(corpus), "--layout", "ravdess",
            "--out-registry", str(tmp_path), "--no-progress",
        )
