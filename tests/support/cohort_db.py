"""Write a simulated cohort into the database (tests, benchmarks, validation examples).

Recordings are stored as processed rows with their features; there is no audio file
behind them (``file`` names a path under ``simulated/`` that never exists).
"""

import hashlib
import math

from django.db import transaction

from clinic.models import CareTeam, Patient, Phq9Response, Recording
from clinic.phq9 import phq9_total
from clinic.processing.models import FeatureSet
from tests.support.simulation import SimulatedCohort
from voice_features import FEATURE_NAMES

SIMULATED_VERSION = "simulated"


def _clean(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def cohort_to_db(cohort: SimulatedCohort, *, care_team: CareTeam, with_embeddings: bool = True,
                 batch_size: int = 5000) -> dict[str, int]:
    """Bulk-insert patients, processed recordings with features, and PHQ-9s; returns code -> patient id."""
    with transaction.atomic():
        patients = Patient.objects.bulk_create([
            Patient(code=row.patient_id, care_team=care_team, enrolled_on=row.enrolled_at.date(),
                    sex="female" if row.sex == "F" else "male", birth_year=row.enrolled_at.year - int(row.age),
                    language="en")
            for row in cohort.patients.itertuples()
        ], batch_size=batch_size)
        ids = {p.code: p.pk for p in patients}
        rows = cohort.recordings.to_dict("records")
        recordings = Recording.objects.bulk_create([
            Recording(patient_id=ids[r["patient_id"]], file=f"simulated/{r['recording_id']}.wav",
                      sha256=hashlib.sha256(r["recording_id"].encode()).hexdigest(), size_bytes=0,
                      container="wav", codec="pcm_s16le", sample_rate=16000, channels=1,
                      duration_s=r["duration_s"], recorded_at=r["recorded_at"],
                      status="rejected" if r["rejected"] else "done",
                      status_reason="Simulated rejection." if r["rejected"] else "")
            for r in rows
        ], batch_size=batch_size)
        FeatureSet.objects.bulk_create([
            FeatureSet(recording=rec, version=SIMULATED_VERSION,
                       features={k: _clean(r.get(k)) for k in FEATURE_NAMES},
                       quality={"accepted": not r["rejected"], "speech_s": r["speech_s"]},
                       speaker_mismatch=bool(r["speaker_mismatch"]),
                       embedding={"model": "simulated", "dim": len(r["embedding"]), "vector": list(r["embedding"])}
                       if with_embeddings else None)
            for rec, r in zip(recordings, rows, strict=True)
        ], batch_size=batch_size)
        responses = []
        for q in cohort.phq9.to_dict("records"):
            items = [int(q[f"item{n}"]) for n in range(1, 10)]
            responses.append(Phq9Response(patient_id=ids[q["patient_id"]], answered_at=q["answered_at"],
                                          source="self_report", total=phq9_total(items),
                                          **{f"item{n}": items[n - 1] for n in range(1, 10)}))
        Phq9Response.objects.bulk_create(responses, batch_size=batch_size)
    return ids
