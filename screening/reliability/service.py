"""Compute and store test–retest reliability from the clinic's own recordings."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from clinic.models import Phq9Response, Recording
from clinic.processing.models import FeatureSet
from screening.models import FeatureReliability
from screening.reliability.icc import RetestRecording, feature_reliability, retest_pairs
from screening.risk_model.deviation import reliability_weights
from voice_features.registry import FEATURE_NAMES


def _recordings() -> list[RetestRecording]:
    rows = (FeatureSet.objects.filter(recording__status=Recording.Status.DONE)
            .exclude(speaker_mismatch=True)
            .order_by("recording_id", "-computed_at")
            .values_list("recording_id", "recording__patient_id", "recording__task", "recording__recorded_at",
                         "features"))
    latest: dict[int, RetestRecording] = {}
    for recording_id, patient_id, task, recorded_at, features in rows.iterator(chunk_size=5000):
        latest.setdefault(recording_id, RetestRecording(patient_id, task, recorded_at, features))
    return list(latest.values())


def _phq9() -> dict[int, list]:
    history: dict[int, list] = defaultdict(list)
    for patient_id, answered_at, total in Phq9Response.objects.values_list("patient_id", "answered_at", "total"):
        history[patient_id].append((answered_at, total))
    return history


def reliability_compute(*, features: tuple[str, ...] = FEATURE_NAMES) -> list[FeatureReliability]:
    """ICC(3,1) and MDC95 per feature and task, replacing the stored figures."""
    pairs = retest_pairs(_recordings(), _phq9())
    now = timezone.now()
    rows = [FeatureReliability(task=r.task, feature=r.feature, computed_at=now, n_pairs=r.n_pairs, icc=r.icc,
                               icc_ci_low=r.icc_ci_low, icc_ci_high=r.icc_ci_high, sem=r.sem, mdc95=r.mdc95,
                               reason=r.reason)
            for task in sorted({pair[0].task for pair in pairs})
            for r in feature_reliability(pairs, task=task, features=features)]
    with transaction.atomic():
        FeatureReliability.objects.all().delete()
        FeatureReliability.objects.bulk_create(rows)
    return rows


def reliability_by_feature(*, task: str) -> dict[str, FeatureReliability]:
    return {row.feature: row for row in FeatureReliability.objects.filter(task=task)}


def reliability_weights_by_task() -> dict[str, dict[str, float]]:
    """Task -> the composite's reliability factors (``screening.risk_model.deviation.reliability_weights``),
    in one query for the whole screening run."""
    icc: dict[str, dict[str, float | None]] = defaultdict(dict)
    for task, feature, value in FeatureReliability.objects.values_list("task", "feature", "icc"):
        icc[task][feature] = value
    return {task: weights for task, values in icc.items() if (weights := reliability_weights(values))}
