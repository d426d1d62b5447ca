"""From stored feature sets to baseline candidates, per recording task, language and phone segment.

The nightly screening (:mod:`screening.nightly.load`) loads a patient's processed
recordings once; this module turns them into :class:`BaselineRecording` rows that carry
their task and phone segment, and says for each recording which earlier recordings its
baseline is built from now. A stored score whose baseline was built from other
recordings (a recording uploaded late with an earlier ``recorded_at``, a new phone found
in between) is out of date and gets re-scored.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from screening.baselines.baseline import FEATURE_KEYS, BaselineRecording, SortedCandidates
from screening.baselines.segments import FIRST_RECORDINGS, NEW_PHONE, DeviceInfo, device_segments

if TYPE_CHECKING:  # a feature set, or the nightly run's plain row of one (screening.nightly.rows.FeatureRow)
    from clinic.processing.models import FeatureSet

__all__ = ["BaselinePlan", "baseline_records", "baseline_record", "baseline_keys", "baseline_candidates", "baseline_plan",
           "phone_segments"]

PENDING = "baseline pending"


def _emotion_features(fs: FeatureSet) -> dict[str, float]:
    """Mean emotion posteriors as ``emotion_<label>`` values: the patient's emotional baseline."""
    posterior = (fs.emotion or {}).get("mean_posterior") or {}
    return {f"emotion_{label}": value for label, value in posterior.items()}


def phone_segments(feature_sets: list[FeatureSet]) -> dict[str, tuple[int, str]]:
    """``{recording id: (segment index, segment key)}``: where a new phone or codec family starts a segment
    (``screening.baselines.segments.device_segments``) over a patient's processed recordings. Baselines and the
    speaker check cut the recordings the same way."""
    return device_segments(DeviceInfo(str(fs.recording_id), fs.recording.recorded_at,
                                      fs.recording.device_model, fs.recording.codec) for fs in feature_sets)


class _NotLoaded(Mapping):
    """The features of a record made for planning: planning reads times, tasks and segments only, and
    reading features it did not load would be a bug, so it fails loudly instead of reading nothing."""

    def __init__(self, recording_id: str) -> None:
        self.recording_id = recording_id

    def _fail(self, *args):
        raise RuntimeError(f"the features of recording {self.recording_id} were not loaded")

    __getitem__ = __iter__ = __len__ = _fail


def baseline_records(feature_sets: list[FeatureSet], segments: dict[str, tuple[int, str]], *,
                     with_values: bool = True) -> tuple[list[BaselineRecording], dict[str, int]]:
    """Baseline candidates (each with its task and phone segment, from :func:`phone_segments`) and each
    recording's segment index. ``with_values=False`` makes records for planning only (which recordings a
    baseline takes): they carry no features or embedding, so the feature sets' JSON need not be read."""
    records = [baseline_record(fs, segments) if with_values else
               BaselineRecording(recording_id=str(fs.recording_id), recorded_at=fs.recording.recorded_at,
                                 features=_NotLoaded(str(fs.recording_id)), embedding=None,
                                 speaker_mismatch=bool(fs.speaker_mismatch), task=fs.recording.task,
                                 segment=segments[str(fs.recording_id)][1], language=fs.recording.language)
               for fs in feature_sets]
    return records, {rid: index for rid, (index, _) in segments.items()}


def baseline_record(fs: FeatureSet, segments: dict[str, tuple[int, str]]) -> BaselineRecording:
    """One baseline candidate with its features (emotion posteriors included) and embedding."""
    return BaselineRecording(recording_id=str(fs.recording_id), recorded_at=fs.recording.recorded_at,
                             features=fs.features | _emotion_features(fs), embedding=fs.vector,
                             speaker_mismatch=bool(fs.speaker_mismatch), task=fs.recording.task,
                             segment=segments[str(fs.recording_id)][1], language=fs.recording.language)


def baseline_keys(records: list[BaselineRecording]) -> tuple[str, ...]:
    """The features a baseline over ``records`` summarises: the registry's, then the emotion posteriors
    any of them carries. A key no record has a value for adds nothing to a baseline, so the keys of the
    chosen records give the same baseline as the keys of all the patient's records."""
    keys = set().union(*(r.features for r in records))
    emotion = sorted(key for key in keys if key.startswith("emotion_"))
    return (*FEATURE_KEYS, *emotion)


@dataclass(frozen=True)
class BaselinePlan:
    """The baseline a recording gets now: the chosen recordings (oldest first) and their kind,
    or, while there are too few, the reason the score is pending."""

    chosen: list[BaselineRecording]
    kind: str
    recording_ids: tuple[str, ...]
    pending_reason: str

    def pending_payload(self, task: str) -> dict:
        return {"status": PENDING, "reason": self.pending_reason, "task": task}

    def holds_for(self, summary: dict) -> bool:
        """Does a stored score still match this plan? ``summary`` is what planning reads of its deviations
        (``screening.nightly.services.StoredScore``): status, reason, whether it has z-scores, and the baseline's
        recording ids as a tuple of strings."""
        if not self.recording_ids:
            return summary.get("status") == PENDING and summary.get("reason") == self.pending_reason
        return summary.get("z") is not None and summary.get("baseline_recording_ids", ()) == self.recording_ids


Candidates = dict[tuple[str, str, str], SortedCandidates]


def baseline_candidates(records: list[BaselineRecording]) -> Candidates:
    """The valid records of each (task, language, segment), in the order baselines take them: built once per
    patient, so that planning each recording's baseline does not filter and sort all of the patient's records
    again. A patient who records in two languages keeps a baseline per language, as per task."""
    groups: dict[tuple[str, str, str], list[BaselineRecording]] = {}
    for r in records:
        if r.valid:
            groups.setdefault((r.task, r.language, r.segment), []).append(r)
    for group in groups.values():
        group.sort(key=lambda r: (r.recorded_at, r.recording_id))
    return {key: SortedCandidates(group) for key, group in groups.items()}


_NO_CANDIDATES = SortedCandidates([])


def baseline_plan(rec: BaselineRecording, segment_index: int, candidates: Candidates) -> BaselinePlan:
    """The baseline ``rec`` gets now: ``select_baseline_recordings`` over the patient's records, taken from
    :func:`baseline_candidates` (valid, same task, language and segment, made before, already in its order)."""
    group = candidates.get((rec.task, rec.language, rec.segment), _NO_CANDIDATES)
    chosen, kind = group.choose(bisect_left(group.times, rec.recorded_at), at=rec.recorded_at)
    reason = "" if chosen else (NEW_PHONE if segment_index > 0 else FIRST_RECORDINGS)
    return BaselinePlan(chosen, kind, tuple(r.recording_id for r in chosen), reason)
