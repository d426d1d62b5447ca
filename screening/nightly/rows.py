"""What the nightly screening reads and writes, as plain values: the rows of one patient's light load and
detail, and the writes of a chunk."""

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from clinic.models import Patient
from clinic.processing.models import FeatureSet
from screening.baselines.planning import phone_segments
from screening.models import Alert, BaselineSnapshot, RiskScore
from screening.risk_model.model import PredictiveNumbers
from voice_features.embedding import EMBEDDING_MODEL_NAME

__all__ = ["FeatureRow", "LightPatient", "PatientData", "RecordingRow", "ScoreRow", "StoredScore", "Writes", "compared"]


@dataclass
class ScoreRow:
    pk: int
    recording_id: int | None
    at: datetime
    model_version: str
    predicted_phq9: float | None
    prob_ge10: float | None
    population_phq9: float | None
    personal_offset: float | None
    n_phq9: int | None
    n_recordings: int
    # From the early estimate (JSON): the type of estimate, the early model's population PHQ-9 of the recording
    # (early rows, and personal rows that keep it: the input of the early level), and the early level an early
    # row was levelled by (None: unlevelled, stored before early estimates were levelled).
    estimate_type: str = ""
    early_population: float | None = None
    early_offset: float | None = None
    early_n_phq9: int | None = None
    early_kept: bool = False  # the score has an early estimate (or a personal score's early population record)
    # An early row's levelled P(PHQ-9 >= 10): None under the uncalibrated early prior, which gives no probability.
    early_p: float | None = None


@dataclass
class LightPatient:
    patient: Patient
    valid: list[tuple[int, datetime]] = field(default_factory=list)       # processed, accepted, same speaker
    scores: dict[int, ScoreRow] = field(default_factory=dict)
    weeks: dict[datetime, ScoreRow] = field(default_factory=dict)
    phq9: list[tuple[int, datetime, int, int]] = field(default_factory=list)  # id, answered_at, total, item9
    mismatched: list[tuple[int, datetime]] = field(default_factory=list)
    last_recording_at: datetime | None = None
    speaker_check_due: bool = False


@dataclass
class RecordingRow:
    """What screening reads of a processed recording (its task, language, time and phone)."""

    patient_id: int
    recorded_at: datetime
    device_model: str
    codec: str
    task: str
    language: str


@dataclass
class FeatureRow:
    """The newest feature set of a processed recording: the attributes of :class:`FeatureSet` that screening
    reads, as plain values. ``features``, ``vector`` (the voice embedding, from ``FeatureSet.embedding_vector``)
    and ``emotion`` are None until loaded; the embedding's model ("" without one) is read with the plan,
    for the speaker check."""

    pk: int
    recording_id: int
    speaker_similarity: float | None
    speaker_mismatch: bool | None
    embedding_model: str
    recording: RecordingRow
    features: dict | None = None
    vector: np.ndarray | None = None
    emotion: dict | None = None

    @property
    def has_embedding(self) -> bool:
        return bool(self.embedding_model)


@dataclass
class StoredScore:
    """A stored recording score as planning reads it: its light row, and from its deviations only what
    says which baseline it was scored against (``summary``, the keys :meth:`BaselinePlan.holds_for` reads;
    the baseline's recording ids as a tuple of strings)."""

    row: ScoreRow
    task: str
    baseline_id: int | None
    summary: dict


@dataclass
class PatientData:
    light: LightPatient
    feature_sets: list[FeatureRow] = field(default_factory=list)   # newest version of each recording, oldest first
    stored: dict[int, StoredScore] = field(default_factory=dict)   # recording id -> recording-scope score

    @property
    def patient(self) -> Patient:
        return self.light.patient

    @functools.cached_property
    def segments(self) -> dict[str, tuple[int, str]]:
        """One cut of the recordings into phone segments, for the speaker check and the baselines."""
        return phone_segments(self.feature_sets)

    def by_segment(self, keep) -> dict[int, list[FeatureRow]]:
        """The feature sets ``keep`` accepts, in time order, by phone segment."""
        groups: dict[int, list[FeatureRow]] = defaultdict(list)
        for fs in self.feature_sets:
            if keep(fs):
                groups[self.segments[str(fs.recording_id)][0]].append(fs)
        return groups


@dataclass
class Writes:
    feature_sets: list[FeatureSet] = field(default_factory=list)
    snapshots: list[tuple[BaselineSnapshot, list[RiskScore]]] = field(default_factory=list)
    new_scores: list[RiskScore] = field(default_factory=list)
    changed_scores: list[RiskScore] = field(default_factory=list)
    # Stored scores whose deviations and drivers stand and whose level changed: (patient id, row, new numbers).
    repredicted: list[tuple[int, ScoreRow, PredictiveNumbers]] = field(default_factory=list)
    # Stored scores predicted again with their stored deviation (a new model): updated in place.
    refilled: list[RiskScore] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    # Early estimates written in place (pk, early_estimate JSON): stored early rows re-levelled, and personal
    # scores given their recording's early population PHQ-9.
    early_estimates: list[tuple[int, dict]] = field(default_factory=list)
    # Stored early estimates re-levelled from their stored population PHQ-9: (pk, the keys the level changes),
    # merged into the stored JSON.
    early_levels: list[tuple[int, dict]] = field(default_factory=list)
    # The stored early rows those two lists re-level, as they will read once written: (patient id, row), for
    # tonight's alerts.
    early_rows: list[tuple[int, ScoreRow]] = field(default_factory=list)
    screened: list[int] = field(default_factory=list)


def compared(fs: FeatureRow) -> bool:
    """Does the speaker check compare this feature set? Its vector is loaded and comes from the encoder the
    mismatch threshold was calibrated for."""
    return fs.vector is not None and fs.embedding_model == EMBEDDING_MODEL_NAME
