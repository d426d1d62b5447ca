"""Bulk export of a care team: FHIR Bulk Data-style NDJSON plus CSV tables, in constant memory.

Outputs (each encrypted at rest like the audio, see clinic/storage.py):

- ``Patient.ndjson`` — one Patient per patient, the pseudonymous code as its only identifier;
- ``QuestionnaireResponse.ndjson`` — PHQ-9 answers (LOINC 44249-1), as clinic/fhir.py builds them;
- ``Observation.ndjson`` — the PHQ-9 total (LOINC 44261-6), one voice-features Observation per
  feature set (code system ``urn:cadence:voice-feature``, one component per feature) and one
  score Observation per risk score (code system ``urn:cadence:score``); docs/data_lifecycle.md
  lists the codes and units;
- ``features.csv`` and ``scores.csv`` — the same numbers as flat tables.

Rows are read with ``iterator()`` in chunks and written as they come, so memory does not
grow with the team's size.
"""

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator

from django.db.models import QuerySet
from django.utils import timezone

from clinic import fhir
from clinic.models import BulkExport, Patient, Phq9Response
from clinic.processing.models import FeatureSet
from clinic.storage import audio_delete, audio_store
from screening.models import RiskScore
from voice_features.registry import BY_KEY, FEATURE_NAMES, UCUM_UNITS

VOICE_SYSTEM = "urn:cadence:voice-feature"
SCORE_SYSTEM = "urn:cadence:score"
UCUM = "http://unitsofmeasure.org"
_ABSENT = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-applicable"}]}
_ROWS_PER_WRITE = 2000
SCORE_COMPONENTS = (("predicted_phq9_low", "predicted-phq9-low", "{score}"),
                    ("predicted_phq9_high", "predicted-phq9-high", "{score}"),
                    ("prob_ge10", "probability-phq9-ge-10", "1"),
                    ("voice_deviation", "voice-deviation-index", "1"))
FEATURES_HEADER = ["patient", "recording_id", "recorded_at", "task", "feature_version", *FEATURE_NAMES]
SCORES_HEADER = ["patient", "recording_id", "scope", "at", "predicted_phq9", "predicted_phq9_low", "predicted_phq9_high",
                 "prob_ge10", "voice_deviation", "calibrated", "risk_model_version", "n_recordings"]


def feature_unit(name: str) -> str:
    """The UCUM code of a feature's unit (its ``Feature.unit`` in the registry)."""
    return UCUM_UNITS[BY_KEY[name].unit]


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _quantity(value, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _subject(code: str) -> dict:
    return {"identifier": {"system": "urn:cadence:patient-code", "value": code}}


def patient_resource(patient: Patient) -> dict:
    return {"resourceType": "Patient", "id": f"patient-{patient.pk}",
            "identifier": [{"system": "urn:cadence:patient-code", "value": patient.code}]}


def _component(system: str, code: str, value, unit: str) -> dict:
    component = {"code": {"coding": [{"system": system, "code": code}]}}
    finite = _finite(value)
    if finite is None:
        return component | {"dataAbsentReason": _ABSENT}
    return component | {"valueQuantity": _quantity(finite, unit)}


def voice_observation(fs: FeatureSet, code: str, recorded_at: str, task: str) -> dict:
    return {
        "resourceType": "Observation", "id": f"voice-{fs.pk}", "status": "final",
        "code": {"coding": [{"system": VOICE_SYSTEM, "code": "voice-features", "display": "Voice features of one recording"}],
                 "text": f"Voice features, feature set {fs.version}"},
        "subject": _subject(code), "effectiveDateTime": recorded_at, "method": {"text": f"speech task: {task}"},
        "identifier": [{"system": "urn:cadence:recording", "value": str(fs.recording_id)}],
        "component": [_component(VOICE_SYSTEM, name, value, feature_unit(name))
                      for name, value in sorted(fs.features.items())],
    }


def score_observation(score: RiskScore, code: str) -> dict:
    resource = {
        "resourceType": "Observation", "id": f"score-{score.pk}", "status": "final",
        "code": {"coding": [{"system": SCORE_SYSTEM, "code": "predicted-phq9",
                             "display": "PHQ-9 total predicted from voice (decision support)"}]},
        "subject": _subject(code), "effectiveDateTime": score.at.isoformat(),
        "method": {"text": f"risk model {score.risk_model_version}; {score.scope}; "
                           + ("calibrated" if score.calibrated else "uncalibrated")},
        "component": [_component(SCORE_SYSTEM, c, getattr(score, field), unit) for field, c, unit in SCORE_COMPONENTS],
    }
    value = _finite(score.predicted_phq9)
    resource.update({"valueQuantity": _quantity(value, "{score}")} if value is not None else {"dataAbsentReason": _ABSENT})
    return resource


def _csv_line(row: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _encoded(lines: Iterable[str], counter: list[int], tick: Callable[[], None]) -> Iterator[bytes]:
    """Join lines into ~1 MB writes, counting them and reporting progress."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        counter[0] += 1
        if len(batch) >= _ROWS_PER_WRITE:
            yield "".join(batch).encode()
            batch.clear()
            tick()
    yield "".join(batch).encode()


def _ndjson(resources: Iterable[dict]) -> Iterator[str]:
    for resource in resources:
        yield json.dumps(resource, separators=(",", ":"), allow_nan=False) + "\n"


class _Outputs:
    """The export's querysets and how each output file is made from them."""

    def __init__(self, export: BulkExport) -> None:
        team = export.care_team_id
        self.patients = Patient.objects.filter(care_team_id=team).order_by("pk")
        self.phq9 = Phq9Response.objects.filter(patient__care_team_id=team).select_related(
            "patient", "entered_by").order_by("pk")
        self.features = FeatureSet.objects.filter(recording__patient__care_team_id=team).order_by("pk").values_list(
            "pk", "recording_id", "version", "features", "recording__recorded_at", "recording__patient__code",
            "recording__task")
        self.scores = RiskScore.objects.filter(patient__care_team_id=team).select_related("patient").order_by("pk")

    def total_rows(self) -> int:
        return sum(q.count() for q in (self.patients, self.phq9, self.features, self.scores)) * 2 or 1

    def files(self) -> list[tuple[str, str, Callable[[], Iterator[str]]]]:
        return [
            ("Patient.ndjson", "Patient", lambda: _ndjson(patient_resource(p) for p in _it(self.patients))),
            ("QuestionnaireResponse.ndjson", "QuestionnaireResponse",
             lambda: _ndjson(fhir.questionnaire_response(r) for r in _it(self.phq9))),
            ("Observation.ndjson", "Observation", self._observations),
            ("features.csv", "", self._features_csv),
            ("scores.csv", "", self._scores_csv),
        ]

    def _observations(self) -> Iterator[str]:
        yield from _ndjson(fhir.total_observation(r) for r in _it(self.phq9))
        yield from _ndjson(voice_observation(_FS(pk, rec, version, features), code, at.isoformat(), task)
                           for pk, rec, version, features, at, code, task in _it(self.features))
        yield from _ndjson(score_observation(s, s.patient.code) for s in _it(self.scores))

    def _features_csv(self) -> Iterator[str]:
        yield _csv_line(FEATURES_HEADER)
        for _, rec, version, features, at, code, task in _it(self.features):
            yield _csv_line([code, rec, at.isoformat(), task, version,
                             *(_finite(features.get(n)) for n in FEATURE_NAMES)])

    def _scores_csv(self) -> Iterator[str]:
        yield _csv_line(SCORES_HEADER)
        for s in _it(self.scores):
            yield _csv_line([s.patient.code, s.recording_id, s.scope, s.at.isoformat(), *(
                _finite(getattr(s, f)) for f in SCORES_HEADER[4:9]), s.calibrated, s.risk_model_version, s.n_recordings])


class _FS:
    __slots__ = ("pk", "recording_id", "version", "features")

    def __init__(self, pk, recording_id, version, features) -> None:
        self.pk, self.recording_id, self.version, self.features = pk, recording_id, version, features


def _it(queryset: QuerySet):
    return queryset.iterator(chunk_size=_ROWS_PER_WRITE)


def bulk_export_build(*, export_id: int) -> BulkExport:
    """Build the export's files, updating progress as rows are written."""
    claimed = BulkExport.objects.filter(pk=export_id, status=BulkExport.Status.QUEUED).update(
        status=BulkExport.Status.RUNNING)
    export = BulkExport.objects.get(pk=export_id)
    if claimed != 1:
        return export
    outputs = _Outputs(export)
    total, written, files = outputs.total_rows(), [0], {}

    def tick() -> None:
        BulkExport.objects.filter(pk=export_id).update(progress=min(0.99, written[0] / total))

    try:
        for filename, resource_type, lines in outputs.files():
            before = written[0]
            name = audio_store(prefix=f"exports/{export_id}", chunks=_encoded(lines(), written, tick))
            files[filename] = {"name": name, "type": resource_type,
                               "count": written[0] - before - (0 if resource_type else 1)}
    except Exception as exc:
        BulkExport.objects.filter(pk=export_id).update(status=BulkExport.Status.FAILED, error=repr(exc)[:2000],
                                                       files=files, finished_at=timezone.now())
        raise
    done = BulkExport.objects.filter(pk=export_id).update(status=BulkExport.Status.DONE, progress=1.0, files=files,
                                                          finished_at=timezone.now())
    if not done:  # a patient of the team was erased meanwhile, and the export with them: keep no copy
        for entry in files.values():
            audio_delete(entry["name"])
        export.status = BulkExport.Status.FAILED
        return export
    export.refresh_from_db()
    return export
