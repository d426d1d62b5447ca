"""The validation report on the clinic's data: built in Celery, kept as history.

Reports never evaluate a model on the patients it was fitted on: with a fitted model, predictions come from
cross-validation split by patient (:func:`screening.risk_model.services.out_of_fold_scores`). Nor do they compare
a score with a PHQ-9 that levelled it: with a fitted model or the prior, each patient's level is re-estimated from
the PHQ-9s answered before the recording (:func:`screening.risk_model.services.prospective_scores`). The statistics
are in :mod:`screening.validation`, the sections in :mod:`.sections`, the HTML page in :mod:`.html`.
"""

import json
from datetime import datetime

import pandas as pd
from django.conf import settings
from django.utils import timezone, translation

from clinic.models import CareTeam
from clinic.phq9 import WINDOW_DAYS as PHQ9_WINDOW_DAYS
from screening.models import ValidationReport
from screening.reports.html import render
from screening.risk_model.model import RiskModel as ScoringModel
from screening.risk_model.selectors import active_risk_model_row
from screening.risk_model.services import (
    PRIOR_SOURCE,
    alerts_frame,
    out_of_fold_scores,
    patients_frame,
    phq9_frame,
    prospective_scores,
    recording_scores_frame,
)
from screening.validation import build_report

__all__ = ["TEAM_SUMMARY_BOOTSTRAP", "validation_report_build", "validation_report_content"]


def _report_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, str | None, ScoringModel]:
    """The whole clinic's scores (out-of-fold where a model was fitted), PHQ-9s, patients and alerts."""
    scores, phq9 = recording_scores_frame(), phq9_frame()
    model, row = active_risk_model_row()
    if row is None:
        # The prior was never fitted on any patient here; each patient's level is taken from the PHQ-9s answered
        # before the recording, as for a fitted model, not the stored one (which every PHQ-9 so far set).
        scores = prospective_scores(scores, phq9, model) if len(scores) else scores
        scores["oof"] = True
        source = PRIOR_SOURCE
    else:
        scores = out_of_fold_scores(scores, phq9) if len(scores) else scores.assign(oof=False)
        source = None
    return scores, phq9, patients_frame(), alerts_frame(), source, model


def _report_on(inputs, *, patient_ids: set[int] | None, now: datetime | None, n_bootstrap: int):
    """The report on ``patient_ids`` only (None: everyone); predictions come from the whole clinic's folds."""
    scores, phq9, patients, alerts, source, model = inputs
    if patient_ids is not None:
        scores, phq9, patients, alerts = (frame[frame["patient_id"].isin(patient_ids)]
                                          for frame in (scores, phq9, patients, alerts))
    return build_report(
        phq9=phq9, scores=scores, patients=patients, window_days=PHQ9_WINDOW_DAYS,
        min_recordings=settings.CADENCE_PAIRING_MIN_RECORDINGS, threshold=settings.CADENCE_RISK_PROBABILITY_THRESHOLD,
        n_bootstrap=n_bootstrap, generated_at=now or timezone.now(), prediction_source=source,
        model={"version": model.version, "kind": model.kind, "calibrated": model.calibrated}, alerts=alerts,
    )


def validation_report_content(*, now: datetime | None = None, n_bootstrap: int | None = None,
                              patient_ids: set[int] | None = None):
    """The report object (see :func:`screening.validation.build_report`) on the clinic's data."""
    return _report_on(_report_inputs(), patient_ids=patient_ids, now=now,
                      n_bootstrap=n_bootstrap or settings.CADENCE_REPORT_BOOTSTRAP)


#: Bootstrap resamples of each care team's summary in a cross-team report (the summary has no intervals).
TEAM_SUMMARY_BOOTSTRAP = 20


def validation_report_build(*, trigger: str = "manual", n_bootstrap: int | None = None,
                            care_team_ids: list[int] | None = None) -> ValidationReport:
    """Build the report now and keep it (reports are history: nothing is overwritten). Runs in Celery only.

    ``care_team_ids`` limits the report to those teams' patients (a clinician's scope);
    None covers every team and adds one summary per team (the research scope).
    """
    inputs = _report_inputs()
    teams = CareTeam.objects.order_by("name")
    if care_team_ids is not None:
        care_team_ids = sorted(set(care_team_ids))
        teams = teams.filter(pk__in=care_team_ids)
    members = {team.pk: set(team.patients.values_list("pk", flat=True)) for team in teams}
    in_scope = None if care_team_ids is None else set().union(*members.values())
    report = _report_on(inputs, patient_ids=in_scope, now=None,
                        n_bootstrap=n_bootstrap or settings.CADENCE_REPORT_BOOTSTRAP)
    summaries = []
    if care_team_ids is None:
        for team in teams:
            team_report = _report_on(inputs, patient_ids=members[team.pk], now=None,
                                     n_bootstrap=TEAM_SUMMARY_BOOTSTRAP)
            summaries.append({"care_team": team.pk, "name": team.name,
                              "summary": json.loads(render(team_report, "json"))["summary"]})
    return ValidationReport.objects.create(trigger=trigger, payload=json.loads(render(report, "json")),
                                           html=_page(report, "en"), html_i18n=_pages(report),
                                           care_team_ids=care_team_ids, team_summaries=summaries)


def _page(report, language: str) -> str:
    with translation.override(language):
        return render(report, "html")


def _pages(report) -> dict[str, str]:
    """The page in every language of ``LANGUAGES`` but English, built from the same report (the dashboard shows the
    reader's; English is ``html``)."""
    return {code: _page(report, code) for code, _name in settings.LANGUAGES if code != "en"}
