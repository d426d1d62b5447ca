"""SER evaluation: utterance-level predictions, metrics, JSON report, confusion image.

Conventions of the SER literature: *weighted accuracy* (WA) is plain accuracy over
utterances (classes weighted by their frequency), *unweighted average recall* (UAR, also
"UA") is the mean of per-class recalls, the primary figure on imbalanced corpora.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, recall_score
from torch import nn

from voice_features.emotion.features import log_mel, sliding_windows

__all__ = ["classification_metrics", "utterance_posteriors", "evaluate_model", "write_report"]


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], *, labels: Sequence[str]) -> dict:
    """WA, UAR, macro-F1, per-class recall and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : sequence of int
        Class indices into ``labels``.

    Returns
    -------
    dict
        ``confusion_matrix[i][j]`` counts true class i predicted as j. Recall and F1 of a
        class absent from ``y_true`` are NaN and left out of UAR / macro-F1.
    """
    classes = np.arange(len(labels))
    true = np.asarray(y_true, dtype=int)
    pred = np.asarray(y_pred, dtype=int)
    cm = confusion_matrix(true, pred, labels=classes)
    present = np.unique(true)
    recall = recall_score(true, pred, labels=classes, average=None, zero_division=np.nan)
    return {
        "labels": list(labels),
        "n": int(true.size),
        "weighted_accuracy": float(accuracy_score(true, pred)),
        "uar": float(balanced_accuracy_score(true, pred)),
        "macro_f1": float(f1_score(true, pred, labels=present, average="macro", zero_division=0)),
        "per_class_recall": {label: (None if np.isnan(r) else float(r)) for label, r in zip(labels, recall)},
        "support": {label: int(s) for label, s in zip(labels, cm.sum(axis=1))},
        "confusion_matrix": cm.tolist(),
    }


def utterance_posteriors(model: nn.Module, samples: np.ndarray) -> np.ndarray:
    """Mean class posterior over the 2-s / 0.5-s windows of one utterance, shape (k,)."""
    windows, _ = sliding_windows(log_mel(samples))
    with torch.inference_mode():
        probs = torch.softmax(model(torch.from_numpy(windows)), dim=-1)
    return probs.mean(dim=0).numpy()


def evaluate_model(
    model: nn.Module, waveforms: Sequence[np.ndarray], y_true: Sequence[int], *, labels: Sequence[str]
) -> dict:
    """Utterance-level metrics of ``model`` (in eval mode) on 16-kHz waveforms."""
    model.eval()
    y_pred = [int(np.argmax(utterance_posteriors(model, w))) for w in waveforms]
    return classification_metrics(y_true, y_pred, labels=labels)


def _plot_confusion(metrics: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(metrics["confusion_matrix"], dtype=float)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    labels = metrics["labels"]
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            colour = "white" if rows[i, j] > 0.5 else "black"
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", color=colour)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"UAR {metrics['uar']:.2f}  WA {metrics['weighted_accuracy']:.2f}  macro-F1 {metrics['macro_f1']:.2f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(metrics: dict, out_dir: Path | str, *, extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``evaluation.json`` and ``confusion_matrix.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report, image = out / "evaluation.json", out / "confusion_matrix.png"
    report.write_text(json.dumps({**metrics, **(extra or {})}, indent=2), encoding="utf-8")
    _plot_confusion(metrics, image)
    return report, image
