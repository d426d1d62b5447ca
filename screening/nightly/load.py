"""Loading a chunk of patients for the nightly screening, in a fixed number of queries whatever their number.

The nightly run reads every patient in a light form first (scalars only, no JSON),
decides per patient whether anything can have changed (a new recording, a new PHQ-9
that moves the personal offset, a new model, a speaker check due: :func:`screening.nightly.scoring.needs_detail`),
and loads the detail (features, deviations, embeddings) only for those patients.

A stale patient is screened in two steps. Planning reads plain columns only: each processed
recording's time, task and phone, and what each stored score says about the baseline it was
scored against. It decides which recordings get a new score (and so which feature sets their
baselines read), which stored scores keep their deviations and only need the patient's new level,
and which need their stored deviations again. Then one query reads those feature sets and one
those deviations, for every patient of the chunk at once. A catch-up night thus reads the
features of tonight's recordings and their baselines, not every feature set of every patient.
"""

from datetime import datetime

import orjson
from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, TextField, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from clinic.models import Patient, Phq9Response, Recording
from clinic.processing.models import FeatureSet, vector_from_bytes
from screening.models import RiskScore
from screening.nightly.bulk import among
from screening.nightly.rows import FeatureRow, LightPatient, PatientData, RecordingRow, ScoreRow, StoredScore, compared
from screening.risk_model.deviation import Deviation
from voice_features.embedding import EMBEDDING_MODEL_NAME
from voice_features.speaker import MIN_ENROLMENT_RECORDINGS

__all__ = ["light_load", "load_deviations", "load_plan_data", "load_speaker_embeddings", "load_values"]


_SCORE_VALUES = ("pk", "recording_id", "at_text", "risk_model_version", "predicted_phq9", "prob_ge10", "population_phq9",
                 "personal_offset", "n_phq9", "n_recordings", "estimate_type", "early_population", "early_offset",
                 "early_n_phq9", "early_kept", "early_p")


def _early_columns() -> dict:
    """The early estimate's numbers the light load reads (scalars out of the JSON): its population PHQ-9
    (before the level; an early estimate stored before levelling has only ``predicted_phq9``, unlevelled)
    and the level it carries."""
    return {"early_population": Cast(Coalesce(KT("early_estimate__population_phq9"),
                                              KT("early_estimate__predicted_phq9")), FloatField()),
            "early_offset": Cast(KT("early_estimate__personal_offset"), FloatField()),
            "early_n_phq9": Cast(KT("early_estimate__n_phq9"), IntegerField()),
            "early_kept": Case(When(early_estimate__isnull=False, then=Value(True)), default=Value(False)),
            "early_p": Cast(KT("early_estimate__p_phq9_ge10"), FloatField())}


def _timestamp(name: str):
    """A timestamp column read as text: a light load reads over a million of them a night, and
    ``datetime.fromisoformat`` parses one in a fraction of the time the database driver's Python
    loader takes (the same aware datetimes: the connection's time zone is UTC)."""
    return Cast(name, output_field=TextField()) if connection.vendor == "postgresql" else F(name)


def _text(name: str) -> Cast:
    """A JSON column read as its text, for :func:`_json`."""
    return Cast(name, output_field=TextField())


def _json(text: str):
    """JSON text as Python values: orjson gives the same values as the standard library (floats correctly
    rounded both ways) in an eighth of the time, and a catch-up night decodes the features of some 250,000
    recordings and the baseline recording ids of some 450,000 stored scores."""
    return orjson.loads(text)


def _datetime(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def light_load(patient_ids: list[int]) -> dict[int, LightPatient]:
    data = {p.pk: LightPatient(p) for p in Patient.objects.filter(pk__in=patient_ids)}
    # Rows that go into sets and dicts are read without the models' default ordering: a sort of a chunk's
    # rows that nothing reads.
    mismatched = set(FeatureSet.objects.filter(recording__patient_id__in=patient_ids, speaker_mismatch=True)
                     .order_by().values_list("recording_id", flat=True))
    recordings = (Recording.objects.filter(patient_id__in=patient_ids)
                  .annotate(at_text=_timestamp("recorded_at")).values_list("pk", "patient_id", "at_text", "status"))
    parse = _datetime
    for pk, patient_id, recorded_at, status in recordings.order_by("recorded_at").iterator(chunk_size=20000):
        light = data[patient_id]
        light.last_recording_at = recorded_at = parse(recorded_at)
        if status == Recording.Status.DONE:
            (light.mismatched if pk in mismatched else light.valid).append((pk, recorded_at))
    due = (FeatureSet.objects.filter(recording__patient_id__in=patient_ids, recording__status="done",
                                     speaker_similarity__isnull=True, embedding_vector__isnull=False,
                                     embedding_model=EMBEDDING_MODEL_NAME)
           .order_by().values_list("recording__patient_id", flat=True).distinct())
    for patient_id in due:
        data[patient_id].speaker_check_due = True
    scores = (RiskScore.objects.filter(patient_id__in=patient_ids).annotate(at_text=_timestamp("at"), **_early_columns())
              .values_list("patient_id", "scope", *_SCORE_VALUES))
    for patient_id, scope, pk, recording_id, at, *values in scores.iterator(chunk_size=20000):
        row = ScoreRow(pk, recording_id, parse(at), *values)
        if scope == RiskScore.Scope.RECORDING:
            data[patient_id].scores[row.recording_id] = row
        else:
            data[patient_id].weeks[row.at] = row
    answers = (Phq9Response.objects.filter(patient_id__in=patient_ids).annotate(at_text=_timestamp("answered_at"))
               .order_by("answered_at").values_list("patient_id", "pk", "at_text", "total", "item9"))
    for patient_id, pk, answered_at, total, item9 in answers:
        data[patient_id].phq9.append((pk, parse(answered_at), total, item9))
    return data


_META_VALUES = ("pk", "recording_id", "speaker_similarity", "speaker_mismatch", "embedding_model",
                "recording__patient_id", "at_text", "recording__device_model", "recording__codec", "recording__task",
                "recording__language")


def load_plan_data(lights: list[LightPatient]) -> list[PatientData]:
    """The stale patients' processed recordings and stored scores, without their JSON: two queries."""
    data = {light.patient.pk: PatientData(light) for light in lights}
    ids = list(data)
    feature_sets = (FeatureSet.objects.filter(recording__patient_id__in=ids, recording__status="done")
                    .annotate(at_text=_timestamp("recording__recorded_at"))
                    .order_by("recording__recorded_at", "-computed_at").values_list(*_META_VALUES))
    seen = set()
    parse = _datetime
    for *values, patient_id, recorded_at, device_model, codec, task, language in feature_sets.iterator(
            chunk_size=20000):
        if values[1] not in seen:
            seen.add(values[1])
            data[patient_id].feature_sets.append(
                FeatureRow(*values, RecordingRow(patient_id, parse(recorded_at), device_model, codec, task, language)))
    stored = (RiskScore.objects.filter(patient_id__in=ids, scope=RiskScore.Scope.RECORDING).order_by()
              .annotate(status=KT("deviations__status"), reason=KT("deviations__reason"),
                        baseline_ids=KT("deviations__baseline_recording_ids"),
                        has_z=Case(When(deviations__has_key="z", then=Value(True)), default=Value(False)))
              .values_list("patient_id", "recording_id", "task", "baseline_id", "status", "reason", "baseline_ids",
                           "has_z"))
    for patient_id, recording_id, task, baseline_id, status, reason, baseline_ids, has_z in stored.iterator(
            chunk_size=20000):
        row = data[patient_id].light.scores.get(recording_id)
        if row is None:  # scored after the light load (a concurrent task): planned as unscored
            continue
        summary = {"status": status, "reason": reason, "z": {} if has_z else None,
                   "baseline_recording_ids": tuple(map(str, _json(baseline_ids))) if baseline_ids else ()}
        data[patient_id].stored[recording_id] = StoredScore(row, task, baseline_id, summary)
    return list(data.values())


def load_values(rows: list[FeatureRow], *, embeddings_only: bool = False) -> None:
    """Fill in these feature sets (one query): features, embedding vector and emotion, or the vector. The
    vector is read from its float64 column, not from the embedding's JSON (the same numbers, decoded in a
    fraction of the time)."""
    if not rows:
        return
    by_pk = {row.pk: row for row in rows}
    queryset = FeatureSet.objects.filter(among("pk", list(by_pk))).order_by()
    if embeddings_only:
        for pk, vector in queryset.values_list("pk", "embedding_vector").iterator(chunk_size=5000):
            by_pk[pk].vector = vector_from_bytes(vector)
        return
    # The JSON is read as text and decoded here (:func:`_json`), not by the field's converter.
    queryset = queryset.annotate(features_text=_text("features"), emotion_text=_text("emotion"))
    loads = _json
    for pk, features, vector, emotion in queryset.values_list(
            "pk", "features_text", "embedding_vector", "emotion_text").iterator(chunk_size=5000):
        row = by_pk[pk]
        row.features, row.vector = loads(features), vector_from_bytes(vector)
        row.emotion = None if emotion is None else loads(emotion)


def _speaker_rows(data: PatientData) -> list[FeatureRow]:
    """The feature sets whose embeddings a patient's speaker check reads: the recordings not checked yet, and
    each phone segment's enrolment (its first checked recordings; all of a segment with fewer). The check
    of the others stands while the enrolment does (:func:`load_speaker_embeddings`)."""
    rows = []
    for members in data.by_segment(lambda fs: fs.has_embedding).values():
        checked = [fs for fs in members if fs.speaker_similarity is not None]
        if len(checked) < MIN_ENROLMENT_RECORDINGS:
            rows += members
        else:
            enrolment = {fs.pk for fs in checked[:MIN_ENROLMENT_RECORDINGS]}
            rows += [fs for fs in members if fs.pk in enrolment or fs.speaker_similarity is None]
    return rows


def load_speaker_embeddings(patients: list[PatientData]) -> None:
    """Embeddings for the speaker check of the patients who have a recording waiting for it (two queries at
    most). A new recording is compared with its segment's enrolment, so only the enrolment's embeddings and
    the unchecked ones are read; where an unchecked recording is itself part of an enrolment (uploaded late,
    or the first of a new phone), the enrolment changes and every embedding of the patient is read."""
    due = [data for data in patients if data.light.speaker_check_due]
    load_values([fs for data in due for fs in _speaker_rows(data)], embeddings_only=True)
    everything = [data for data in due if any(
        fs.speaker_similarity is None
        for members in data.by_segment(compared)
        .values() for fs in members[:MIN_ENROLMENT_RECORDINGS])]
    load_values([fs for data in everything for fs in data.feature_sets if fs.has_embedding and fs.vector is None],
                 embeddings_only=True)


def load_deviations(pks: list[int]) -> dict[int, Deviation]:
    """The stored deviations of these scores (one query)."""
    if not pks:
        return {}
    rows = (RiskScore.objects.filter(among("pk", pks)).order_by().annotate(text=_text("deviations"))
            .values_list("pk", "text").iterator(chunk_size=5000))
    return {pk: Deviation.from_dict(_json(text)) for pk, text in rows}
