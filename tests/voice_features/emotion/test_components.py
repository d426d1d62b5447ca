"""Loss, split, augmentation, metrics and determinism of the SER recipe."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from voice_features.emotion.augment import mix_noise, random_crop, spec_augment, speed_perturb
from voice_features.emotion.evaluate import classification_metrics
from voice_features.emotion.features import WINDOW_FRAMES, log_mel, sliding_windows
from voice_features.emotion.model import CRNNConfig, EmotionCRNN
from voice_features.emotion.train import FocalLoss, TrainConfig, speaker_split, train_model


def test_it_computes_focal_loss_with_gamma_and_alpha():
    logits = torch.log(torch.tensor([[0.8, 0.2], [0.4, 0.6]]))
    target = torch.tensor([0, 0])
    expected = np.mean([-0.25 * 0.2**2 * np.log(0.8), -0.25 * 0.6**2 * np.log(0.4)])
    assert_allclose(float(FocalLoss(gamma=2, alpha=0.25)(logits, target)), expected, rtol=1e-6)


def test_it_splits_by_speaker_and_keeps_every_class_in_both_sets():
    speakers = [f"s{i}" for i in range(10) for _ in range(8)]
    labels = ["a", "b", "c", "d"] * 20
    train, test = speaker_split(speakers, labels, test_fraction=0.2, seed=3)
    assert not {speakers[i] for i in train} & {speakers[i] for i in test}
    assert {labels[i] for i in test} == {labels[i] for i in train} == {"a", "b", "c", "d"}
    assert len(test) == 16


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_it_speed_perturbs_duration_and_pitch_together(factor):
    sr = 16_000
    t = np.arange(sr) / sr
    out = speed_perturb(np.sin(2 * np.pi * 200 * t).astype(np.float32), factor=factor)
    assert out.shape[0] == round(sr / factor)
    spectrum = np.abs(np.fft.rfft(out * np.hanning(out.size)))
    peak_hz = np.argmax(spectrum) * sr / out.size
    assert_allclose(peak_hz, 200 * factor, atol=2)


@pytest.mark.parametrize("snr_db", [5.0, 12.5, 20.0])
def test_it_mixes_noise_at_the_requested_snr(snr_db):
    rng = np.random.default_rng(0)
    clean = np.sin(np.linspace(0, 2000, 32_000)).astype(np.float32)
    noisy = mix_noise(clean, snr_db=snr_db, rng=rng)
    noise = noisy - clean
    assert_allclose(10 * np.log10(np.mean(clean**2) / np.mean(noise**2)), snr_db, atol=0.05)


def test_it_masks_frequency_and_time_bands_with_specaugment():
    batch = torch.arange(2 * 200 * 64, dtype=torch.float32).reshape(2, 200, 64)
    masked = spec_augment(batch, generator=torch.Generator().manual_seed(1), max_freq_width=8, max_time_width=20)
    changed = masked != batch
    assert changed.any()
    assert changed.float().mean() < 0.5
    assert torch.equal(spec_augment(batch, generator=torch.Generator().manual_seed(1)), masked)


def test_it_crops_and_windows_to_two_seconds():
    rng = np.random.default_rng(0)
    assert random_crop(np.ones(10_000, np.float32), length=32_000, rng=rng).shape == (32_000,)
    windows, starts = sliding_windows(log_mel(np.zeros(16_000 * 5, np.float32)))
    assert windows.shape == (7, WINDOW_FRAMES, 64)
    assert_allclose(starts, np.arange(7) * 0.5)


def test_it_computes_wa_uar_macro_f1_and_the_confusion_matrix():
    metrics = classification_metrics([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0], labels=["a", "b"])
    assert metrics["confusion_matrix"] == [[3, 1], [1, 1]]
    assert_allclose(metrics["weighted_accuracy"], 4 / 6)
    assert_allclose(metrics["uar"], (0.75 + 0.5) / 2)
    assert_allclose(metrics["macro_f1"], (0.75 + 0.5) / 2)  # precision equals recall here
    assert metrics["per_class_recall"] == {"a": 0.75, "b": 0.5}


def test_it_exposes_the_penultimate_layer_as_the_embedding():
    model = EmotionCRNN(CRNNConfig(n_classes=3, embedding_dim=32, labels=("a", "b", "c"))).eval()
    x = torch.randn(4, WINDOW_FRAMES, 64)
    with torch.no_grad():
        embedding = model.embed(x)
        assert embedding.shape == (4, 32)
        assert torch.allclose(model.classifier(embedding), model(x))


def test_it_trains_deterministically_with_a_seed():
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(24_000)).astype(np.float32) for _ in range(8)]
    config = TrainConfig(epochs=2, seed=7, batch_size=4, conv_channels=(4, 8, 8), lstm_hidden=8, embedding_dim=8)
    first, history_1 = train_model(waves, [0, 1] * 4, labels=["a", "b"], config=config, progress=False)
    second, history_2 = train_model(waves, [0, 1] * 4, labels=["a", "b"], config=config, progress=False)
    assert history_1 == history_2
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    assert_allclose(history_1[-1]["lr"], 1e-6, rtol=1e-3)  # cosine annealing ends at lr_min


def test_distillation_loss_is_the_temperature_scaled_kl_plus_the_hard_loss():
    from voice_features.emotion.distill import DistillationLoss

    torch.manual_seed(0)
    teacher = torch.nn.Linear(3, 4)
    batch, target = torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 0])
    student_logits = torch.randn(5, 4)
    hard = torch.nn.CrossEntropyLoss()
    loss = DistillationLoss(teacher, hard_loss=lambda z, y: hard(z, y), temperature=3.0, alpha=0.6)
    with torch.no_grad():
        p_t = torch.softmax(teacher(batch) / 3.0, dim=-1)
    kl = float((p_t * (p_t.log() - torch.log_softmax(student_logits / 3.0, dim=-1))).sum(dim=1).mean())
    expected = 0.6 * 9.0 * kl + 0.4 * float(hard(student_logits, target))
    assert_allclose(float(loss(student_logits, target, batch)), expected, rtol=1e-5)
    with torch.no_grad():
        same = teacher(batch)
    only_soft = DistillationLoss(teacher, hard_loss=lambda z, y: hard(z, y), temperature=2.0, alpha=1.0)
    assert float(only_soft(same, target, batch)) == pytest.approx(0.0, abs=1e-6)


def test_the_teacher_stays_in_eval_mode_inside_the_distillation_loss():
    from voice_features.emotion.distill import DistillationLoss

    teacher = EmotionCRNN(CRNNConfig(n_classes=2, conv_channels=(4, 8, 8), lstm_hidden=8, embedding_dim=8))
    loss = DistillationLoss(teacher, hard_loss=torch.nn.CrossEntropyLoss()).train()
    assert loss.training and not teacher.training
    batch = torch.randn(3, WINDOW_FRAMES, 64)
    logits, target = torch.randn(3, 2), torch.tensor([0, 1, 0])
    assert float(loss(logits, target, batch)) == float(loss(logits, target, batch))  # no dropout in the teacher


def test_a_distilled_student_with_alpha_0_and_the_focal_label_term_is_the_no_teacher_model():
    """So 'student (KD, focal)' differs from the focal baseline only by the teacher (bench_distillation.py)."""
    rng = np.random.default_rng(0)
    waves = [(0.1 * rng.standard_normal(24_000)).astype(np.float32) for _ in range(8)]
    config = TrainConfig(epochs=1, seed=3, batch_size=4, conv_channels=(4, 8, 8), lstm_hidden=8, embedding_dim=8)
    teacher = EmotionCRNN(CRNNConfig(n_classes=2, conv_channels=(4, 8, 8), lstm_hidden=8, embedding_dim=8)).eval()
    direct, _ = train_model(waves, [0, 1] * 4, labels=["a", "b"], config=config, progress=False)
    focal_kd, _ = train_model(waves, [0, 1] * 4, labels=["a", "b"], teacher=teacher, progress=False,
                              config=TrainConfig(**{**config.__dict__, "distill_alpha": 0.0, "distill_label_loss": "focal"}))
    for (name, a), (_, b) in zip(direct.state_dict().items(), focal_kd.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="label loss"):
        train_model(waves, [0, 1] * 4, labels=["a", "b"], teacher=teacher, progress=False,
                    config=TrainConfig(epochs=1, distill_label_loss="hinge"))
