"""Speaker consistency: is this recording the enrolled patient's voice?

A patient's first valid recordings (``MIN_ENROLMENT_RECORDINGS`` of them) define an
enrolment centroid: the L2-normalised mean of their voice embeddings
(:mod:`voice_features.embedding`). Every later recording is compared with it by cosine
similarity and flagged as a speaker mismatch below ``SPEAKER_MISMATCH_THRESHOLD``, so a
relative or another person speaking does not silently feed the patient's baseline.

The threshold is the equal-error-rate operating point measured by
``benchmarks/calibrate_speaker.py`` on synthetic voices (see docs/speaker_consistency.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_curve

from voice_features.errors import VoiceFeaturesError

__all__ = [
    "MIN_ENROLMENT_RECORDINGS",
    "SPEAKER_MISMATCH_THRESHOLD",
    "enrolment_centroid",
    "speaker_similarity",
    "is_speaker_mismatch",
    "speaker_checks",
    "equal_error_rate",
    "speaker_trials",
]

MIN_ENROLMENT_RECORDINGS = 3
# Equal-error-rate point of benchmarks/calibrate_speaker.py (GE2E, 2-s windows, 11 synthetic
# voices x 10 utterances, 3-utterance enrolment): EER 3.5 % at 0.877, rounded down.
# Synthetic voices are steadier than people; read docs/speaker_consistency.md first.
SPEAKER_MISMATCH_THRESHOLD = 0.87


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = np.linalg.norm(v)
    if not np.isfinite(norm) or norm == 0:
        raise VoiceFeaturesError("An embedding is zero or not finite.", code="bad_embedding")
    return v / norm


def enrolment_centroid(embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """L2-normalised mean of unit-normalised embeddings.

    Parameters
    ----------
    embeddings : sequence of np.ndarray, each shape (d,)
        Voice embeddings of the enrolment recordings.

    Returns
    -------
    np.ndarray, shape (d,)
        Unit-norm centroid.
    """
    if len(embeddings) == 0:
        raise VoiceFeaturesError("Enrolment needs at least one embedding.", code="no_enrolment")
    return _unit(np.mean([_unit(e) for e in embeddings], axis=0))


def speaker_similarity(embedding: np.ndarray, centroid: np.ndarray) -> float:
    """Cosine similarity in [-1, 1] between an embedding and an enrolment centroid."""
    return float(np.clip(_unit(embedding) @ _unit(centroid), -1.0, 1.0))


def is_speaker_mismatch(
    similarity: float, *, threshold: float = SPEAKER_MISMATCH_THRESHOLD
) -> bool:
    """True when ``similarity`` is below ``threshold``; False for NaN (no enrolment yet)."""
    if similarity is None or math.isnan(similarity):
        return False
    return similarity < threshold


def speaker_checks(
    embeddings: Sequence[np.ndarray], segments: Sequence[int], *, n_enrol: int = MIN_ENROLMENT_RECORDINGS,
    threshold: float = SPEAKER_MISMATCH_THRESHOLD,
) -> list[tuple[float | None, bool]]:
    """Similarity and mismatch flag of each recording, enrolling the speaker afresh on every phone.

    A change of phone or codec moves the GE2E embedding of the same voice as far as another
    speaker does (measured on eSpeak, Festival HTS and LibriVox passages: AMR-NB copies scored
    0.72–0.90 against their own WAV enrolment, below the 0.87 threshold in 7 of 12 trials;
    docs/speaker_consistency.md). So each phone segment has its own enrolment: its first
    ``n_enrol`` recordings, and later recordings of the segment are compared with that.
    Until a segment has its enrolment, its recordings get their similarity to the previous
    segment's centroid (for the record) and are never flagged.

    Parameters
    ----------
    embeddings : sequence of np.ndarray
        The recordings' voice embeddings, oldest first.
    segments : sequence of int
        Phone-segment index of each recording (non-decreasing).

    Returns
    -------
    list of (similarity or None, mismatch)
        None while no enrolment at all exists yet.
    """
    if len(embeddings) != len(segments):
        raise VoiceFeaturesError("One segment index per embedding is needed.")
    members: dict[int, list[int]] = {}
    for i, segment in enumerate(segments):
        members.setdefault(segment, []).append(i)
    result: list[tuple[float | None, bool]] = [(None, False)] * len(embeddings)
    previous = None
    for segment in sorted(members):
        rows = members[segment]
        centroid = (enrolment_centroid([embeddings[i] for i in rows[:n_enrol]]) if len(rows) >= n_enrol else None)
        for position, i in enumerate(rows):
            if centroid is not None:
                similarity = speaker_similarity(embeddings[i], centroid)
                result[i] = (similarity, position >= n_enrol and is_speaker_mismatch(similarity, threshold=threshold))
            elif previous is not None:
                result[i] = (speaker_similarity(embeddings[i], previous), False)
        previous = centroid if centroid is not None else previous
    return result


def equal_error_rate(
    same_scores: Sequence[float], different_scores: Sequence[float]
) -> tuple[float, float]:
    """Equal error rate of a similarity score, and the threshold where it occurs.

    Parameters
    ----------
    same_scores, different_scores : sequence of float
        Similarities of same-speaker (target) and different-speaker (impostor) trials.

    Returns
    -------
    eer : float
        Fraction in [0, 1] where the false-reject rate (same < t) equals the
        false-accept rate (different >= t), interpolated between candidate thresholds.
    threshold : float
        The threshold ``t`` at that point (midpoint of the bracketing candidates).
    """
    same = np.asarray(same_scores, dtype=np.float64)
    diff = np.asarray(different_scores, dtype=np.float64)
    if same.size == 0 or diff.size == 0:
        raise VoiceFeaturesError("EER needs both same- and different-speaker trials.")
    fpr, tpr, thresholds = roc_curve(np.r_[np.ones(same.size), np.zeros(diff.size)], np.r_[same, diff],
                                     drop_intermediate=False)
    # roc_curve accepts score >= t and runs from the highest threshold (inf) down; walk it upwards.
    candidates, far, frr = thresholds[::-1], fpr[::-1], 1.0 - tpr[::-1]
    gap = frr - far
    i = int(np.argmax(gap >= 0))  # first candidate where misses catch up with false accepts
    if i == 0:
        return float(frr[0] + far[0]) / 2, float(candidates[0])
    # Linear interpolation of the crossing between candidates i-1 and i.
    g0, g1 = gap[i - 1], gap[i]
    w = g0 / (g0 - g1) if g1 != g0 else 0.5
    eer = (1 - w) * (frr[i - 1] + far[i - 1]) / 2 + w * (frr[i] + far[i]) / 2
    upper = candidates[i] if np.isfinite(candidates[i]) else candidates[i - 1]
    return float(eer), float((candidates[i - 1] + upper) / 2)


def speaker_trials(
    embeddings_by_voice: Mapping[str, Sequence[np.ndarray]], *, n_enrol: int = MIN_ENROLMENT_RECORDINGS
) -> tuple[np.ndarray, np.ndarray]:
    """Same-voice and different-voice similarities against 3-utterance enrolments.

    Each utterance is scored against its own voice's centroid built from ``n_enrol``
    *other* utterances (the next ones, cyclically), and against every other voice's
    centroid of its first ``n_enrol`` utterances.

    Returns
    -------
    same, different : np.ndarray
        Cosine similarities of target and impostor trials.
    """
    voices = {k: [np.asarray(e) for e in v] for k, v in embeddings_by_voice.items()}
    if any(len(v) <= n_enrol for v in voices.values()):
        raise VoiceFeaturesError(f"Every voice needs more than {n_enrol} utterances.")
    fixed = {k: enrolment_centroid(v[:n_enrol]) for k, v in voices.items()}
    same, different = [], []
    for name, utterances in voices.items():
        n = len(utterances)
        for i, utterance in enumerate(utterances):
            own = enrolment_centroid([utterances[(i + j) % n] for j in range(1, n_enrol + 1)])
            same.append(speaker_similarity(utterance, own))
            different += [speaker_similarity(utterance, c) for k, c in fixed.items() if k != name]
    return np.array(same), np.array(different)
