"""Train → evaluate → export → register → infer, on a tiny synthetic EMO-DB-layout corpus.

The corpus classes differ only in prosody (see synthetic_corpus.py); the model trained
here lives in a tmp registry and is never shipped.
"""

import json
import shutil

import numpy as np
import onnxruntime
import pytest
import torch
from numpy.testing import assert_allclose

from voice_features.emotion import inference, registry
from voice_features.emotion.export import ServingModule
from voice_features.emotion.features import log_mel, sliding_windows
from voice_features.emotion.train import TrainConfig, train_and_register
from voice_features.errors import VoiceFeaturesError

from .synthetic_corpus import SR, synthesise_utterance

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

LABELS = ["anger", "happiness", "neutral", "sadness"]
# 11 epochs (was 15) keeps a clear margin, measured with seed 0 on this corpus: held-out UAR 0.8125
# (0.896 at 15, 0.6875 at 8; the test asks >= 0.6, chance 0.25), INT8 top-class agreement 1.0 and
# UAR change 0.0, and the "sadness" clip's mean posterior 0.478 against 0.269 for the next class.
# Each epoch costs about 3.4 CPU-seconds.
EPOCHS = 11


@pytest.fixture(scope="module")
def trained(tmp_path_factory, emodb_corpus):
    torch.set_num_threads(1)
    registry_dir = tmp_path_factory.mktemp("registry")
    metadata = train_and_register(
        emodb_corpus, layout="emodb", registry_dir=registry_dir, config=TrainConfig(epochs=EPOCHS, seed=0, distill=False), progress=False, log=lambda _: None
    )
    return registry_dir, metadata


@pytest.fixture(scope="module")
def test_windows():
    rng = np.random.default_rng(99)
    waves = [synthesise_utterance(letter, "09", rng) for letter in "NWTF"]
    return np.concatenate([sliding_windows(log_mel(w))[0] for w in waves])


def test_it_reaches_a_uar_far_above_chance_on_unseen_speakers(trained):
    _, metadata = trained
    evaluation = metadata["evaluation"]
    assert metadata["labels"] == LABELS
    assert not set(metadata["split"]["train_speakers"]) & set(metadata["split"]["test_speakers"])
    assert evaluation["uar"] >= 0.6  # chance is 0.25
    assert set(evaluation) >= {"weighted_accuracy", "uar", "macro_f1", "per_class_recall", "confusion_matrix"}


def test_it_writes_the_report_and_confusion_image(trained):
    registry_dir, metadata = trained
    folder = registry_dir / metadata["version"]
    report = json.loads((folder / "evaluation.json").read_text())
    assert report["confusion_matrix"] == metadata["evaluation"]["confusion_matrix"]
    assert len(report["history"]) == EPOCHS
    assert (folder / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_it_exports_onnx_matching_torch_within_1e_4(trained, test_windows):
    registry_dir, metadata = trained
    assert metadata["export_checks"]["onnx_max_abs_diff"] <= 1e-4
    model = registry.load_model(registry_dir, metadata["version"])
    session = onnxruntime.InferenceSession(str(registry_dir / metadata["version"] / "model.onnx"))
    posteriors, embedding = session.run(None, {"logmel": test_windows})
    with torch.no_grad():
        expected = ServingModule(model)(torch.from_numpy(test_windows))
    assert_allclose(posteriors, expected[0].numpy(), atol=1e-4)
    assert_allclose(embedding, expected[1].numpy(), atol=1e-4)


def test_it_exports_torchscript_fp32_and_an_int8_onnx(trained, test_windows):
    import onnx

    registry_dir, metadata = trained
    folder = registry_dir / metadata["version"]
    model = registry.load_model(registry_dir, metadata["version"])
    x = torch.from_numpy(test_windows)
    with torch.no_grad():
        reference = ServingModule(model)(x)[0]
        scripted = torch.jit.load(str(folder / "model.ts"))(x)[0]
    assert_allclose(scripted.numpy(), reference.numpy(), atol=1e-5)
    graph = onnx.load(str(folder / "model_int8.onnx")).graph
    ops = [node.op_type for node in graph.node]
    # The one-input-channel first convolution stays FP32 (slower in INT8); the other two and the LSTM run in INT8.
    assert ops.count("QLinearConv") == 2 and ops.count("Conv") == 1 and ops.index("Conv") < ops.index("QLinearConv")
    assert ops.count("DynamicQuantizeLSTM") == 1 and "LSTM" not in ops
    int8 = onnxruntime.InferenceSession(str(folder / "model_int8.onnx")).run(["posteriors"], {"logmel": test_windows})[0]
    assert float(np.abs(int8 - reference.numpy()).max()) < 0.15  # INT8 is close but not identical
    checks = metadata["export_checks"]
    assert checks["int8_top_class_agreement"] >= 0.9
    assert abs(checks["int8_uar_change"]) <= 0.15
    assert checks["int8_speedup"] > 0 and checks["int8_onnx_bytes"] < checks["fp32_onnx_bytes"]


def test_the_int8_session_keeps_the_first_pooling_in_fp32(trained, test_windows, tmp_path):
    """ORT's QDQ propagation would move the first QuantizeLinear above the FP32 MaxPool, giving a generic
    UINT8 NCHW MaxPool slower than the whole FP32 graph; onnx_session turns that rewrite off."""
    from voice_features.emotion.quantize import onnx_session

    registry_dir, metadata = trained
    session = onnx_session(registry_dir / metadata["version"] / "model_int8.onnx", profile_prefix=str(tmp_path / "p"))
    session.run(None, {"logmel": test_windows})
    kernels = [e["args"] for e in json.loads(open(session.end_profiling()).read())
               if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    pools = [(k["op_name"], next(iter(k["input_type_shape"][0]))) for k in kernels if "MaxPool" in k["op_name"]]
    assert len(pools) == 3
    assert ("MaxPool", "uint8") not in pools and pools[0][1] == "float"


def test_it_registers_one_active_model_and_infers_posteriors(trained):
    registry_dir, metadata = trained
    assert registry.active_version(registry_dir) == metadata["version"]
    assert inference.emotion_stage_status(registry_dir) == metadata["version"]
    rng = np.random.default_rng(5)
    speech = np.concatenate([synthesise_utterance("T", "10", rng) for _ in range(3)])
    padded = np.concatenate([np.zeros(SR, np.float32), speech])
    result = inference.analyse_emotion(padded, sr=SR, speech_intervals=[(1.0, 1.0 + speech.size / SR)], registry_dir=registry_dir)
    n_windows = 1 + (speech.size // 160 + 1 - 200) // 50
    assert result.window_posteriors.shape == (n_windows, 4)
    assert_allclose(result.window_posteriors.sum(axis=1), 1.0, rtol=1e-5)
    assert result.labels[int(np.argmax(result.mean_posterior))] == "sadness"
    assert result.embedding.shape == (64,)
    doc = result.to_json_dict()
    assert doc["model_version"] == metadata["version"] and set(doc["mean_posterior"]) == set(LABELS)
    # The fixture's INT8 graph passed its parity checks, so the live path is ONNX Runtime INT8.
    assert inference.int8_parity_failure(metadata) is None
    assert doc["runtime"] == {"engine": "onnxruntime", "precision": "int8", "graph": "model_int8.onnx",
                              "engine_version": onnxruntime.__version__, "fallback_reason": None}


def _clip():
    rng = np.random.default_rng(11)
    return np.concatenate([synthesise_utterance(letter, "09", rng) for letter in "WWF"])


def test_the_int8_and_fp32_paths_give_the_same_top_class_on_the_same_clip(trained):
    registry_dir, metadata = trained
    clip = _clip()
    int8 = inference.load_runner(registry_dir, metadata["version"]).analyse(clip)
    fp32 = inference.load_runner(registry_dir, metadata["version"], int8=False, onnx=False).analyse(clip)
    fp32_onnx = inference.load_runner(registry_dir, metadata["version"], int8=False).analyse(clip)
    assert (int8.runtime["precision"], fp32.runtime["precision"], fp32_onnx.runtime["precision"]) == ("int8", "fp32", "fp32")
    assert fp32.runtime["engine"] == "torch" and fp32.runtime["fallback_reason"] == "FP32 requested"
    assert fp32_onnx.runtime["engine"] == "onnxruntime" and fp32_onnx.runtime["graph"] == "model.onnx"
    assert_allclose(fp32_onnx.window_posteriors, fp32.window_posteriors, atol=1e-4)
    assert int(np.argmax(int8.mean_posterior)) == int(np.argmax(fp32.mean_posterior))
    assert np.mean(int8.window_posteriors.argmax(1) == fp32.window_posteriors.argmax(1)) >= 0.9
    assert_allclose(int8.window_posteriors, fp32.window_posteriors, atol=0.15)  # close, not identical
    assert int8.embedding.shape == fp32.embedding.shape and np.corrcoef(int8.embedding, fp32.embedding)[0, 1] > 0.95
    assert_allclose(int8.window_starts_s, fp32.window_starts_s)


def _registry_copy(trained, tmp_path):
    registry_dir, metadata = trained
    copy = tmp_path / "reg"
    shutil.copytree(registry_dir, copy)
    return copy, copy / metadata["version"]


@pytest.mark.parametrize(("checks", "reason"), [
    ({"int8_uar_change": -0.08}, "INT8 UAR change -0.080 is outside ±0.05"),
    ({"int8_top_class_agreement": 0.8}, "INT8 top-class agreement 80.0% with FP32 is below 95%"),
    ({"int8_top_class_agreement": None}, "no INT8 parity checks were recorded at export"),
])
def test_it_serves_fp32_when_the_int8_parity_checks_failed(trained, tmp_path, checks, reason):
    copy, folder = _registry_copy(trained, tmp_path)
    metadata = json.loads((folder / "metadata.json").read_text())
    metadata["export_checks"].update(checks)
    (folder / "metadata.json").write_text(json.dumps(metadata))
    result = inference.analyse_emotion(_clip(), registry_dir=copy)
    assert result.runtime["engine"] == "onnxruntime" and result.runtime["precision"] == "fp32"
    assert result.runtime["fallback_reason"] == reason
    assert result.to_json_dict()["runtime"]["graph"] == "model.onnx"


@pytest.mark.parametrize(("damage", "code"), [("delete", "is missing"), ("tamper", "does not match its registered digest")])
def test_it_serves_fp32_when_the_int8_graph_is_missing_or_altered(trained, tmp_path, damage, code):
    copy, folder = _registry_copy(trained, tmp_path)
    if damage == "delete":
        (folder / "model_int8.onnx").unlink()
    else:
        (folder / "model_int8.onnx").write_bytes(b"not a graph")
    result = inference.analyse_emotion(_clip(), registry_dir=copy)
    assert (result.runtime["graph"], result.runtime["precision"]) == ("model.onnx", "fp32")
    assert result.runtime["fallback_reason"].startswith("model_int8.onnx") and code in result.runtime["fallback_reason"]
    expected = inference.load_runner(trained[0], trained[1]["version"], int8=False, onnx=False).analyse(_clip())
    assert_allclose(result.window_posteriors, expected.window_posteriors, atol=1e-4)
    # Without a usable FP32 ONNX graph either, the torch model serves.
    (folder / "model.onnx").unlink()
    result = inference.load_runner(copy, trained[1]["version"]).analyse(_clip())
    assert (result.runtime["engine"], result.runtime["graph"]) == ("torch", "model.pt")
    assert "model.onnx is missing" in result.runtime["fallback_reason"]
    assert_allclose(result.window_posteriors, expected.window_posteriors, atol=1e-6)


def test_it_is_off_without_an_active_model(trained, tmp_path, monkeypatch):
    monkeypatch.delenv(inference.REGISTRY_ENV, raising=False)
    samples = np.zeros(SR * 3, np.float32)
    assert inference.analyse_emotion(samples) is None
    assert inference.emotion_stage_status() == "off"
    assert inference.analyse_emotion(samples, registry_dir=tmp_path) is None
    registry_dir, metadata = trained
    registry.deactivate(registry_dir)
    try:
        assert inference.emotion_stage_status(registry_dir) == "off"
        assert inference.analyse_emotion(samples, registry_dir=registry_dir) is None
    finally:
        registry.activate(registry_dir, metadata["version"])


def test_it_refuses_a_tampered_model_file(trained, tmp_path):
    registry_dir, metadata = trained
    copy = tmp_path / "reg"
    shutil.copytree(registry_dir, copy)
    (copy / metadata["version"] / "model.pt").write_bytes(b"not a model")
    with pytest.raises(VoiceFeaturesError, match="digest"):
        registry.load_model(copy, metadata["version"])
