"""Who the results hold for: subgroups, care teams, and where the predictions come from."""

from __future__ import annotations

from typing import Any

import pandas as pd

from clinic.phq9 import SCREENING_CUTOFF
from screening.validation.accuracy import screening_accuracy
from screening.validation.pairing import PATIENT_COLUMNS, require_columns
from screening.validation.stats import PHQ9, SUBJECT, _counts, repeated_measures_correlation

__all__ = ["OUT_OF_FOLD_LABEL", "IN_SAMPLE_LABEL", "age_band", "subgroup_breakdown", "by_site",
           "prediction_provenance"]

OUT_OF_FOLD_LABEL = "out-of-fold (cross-validated by patient)"
IN_SAMPLE_LABEL = "in-sample: not an honest estimate"


AGE_BANDS = ((18, 29, "18-29"), (30, 44, "30-44"), (45, 64, "45-64"), (65, 200, "65+"))


def age_band(birth_year: float | None, *, reference_date: pd.Timestamp) -> str:
    """Age band from the birth year, age taken as reference year - birth year
    (birthdays are not stored, so a patient may be one year younger than counted)."""
    if birth_year is None or pd.isna(birth_year):
        return "unknown"
    age = reference_date.year - int(birth_year)
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "under 18" if age < 18 else "unknown"


def _group_row(
    group: str, pairs: pd.DataFrame, *, cutoff: int, n_bootstrap: int, seed: int | None
) -> dict[str, Any]:
    accuracy = screening_accuracy(pairs, cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed)
    return {
        "group": group,
        **_counts(pairs),
        "n_positive": int((pairs[PHQ9] >= cutoff).sum()),
        "auc": (
            {k: accuracy[k] for k in ("status", "auc", "auc_ci95")}
            if accuracy["status"] == "ok"
            else accuracy
        ),
        "rm_corr": repeated_measures_correlation(pairs),
    }


def subgroup_breakdown(
    pairs: pd.DataFrame,
    patients: pd.DataFrame,
    *,
    reference_date: pd.Timestamp,
    cutoff: int = SCREENING_CUTOFF,
    n_bootstrap: int = 2000,
    seed: int | None = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Per sex, age band and language: counts, AUC and rm-corr where there is data.

    Patients missing from ``patients`` (or with a missing field) go to "unknown".
    """
    require_columns(patients, PATIENT_COLUMNS, "patients")
    info = patients.drop_duplicates(SUBJECT).set_index(SUBJECT)
    info = info.assign(
        age_band=[age_band(y, reference_date=reference_date) for y in info["birth_year"]]
    )
    joined = pairs.join(info[["sex", "age_band", "language"]], on=SUBJECT)
    breakdown = {}
    for facet in ("sex", "age_band", "language"):
        labels = joined[facet].astype(object).where(joined[facet].notna(), "unknown")
        breakdown[facet] = [
            _group_row(str(label), group, cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed)
            for label, group in joined.groupby(labels.astype(str), sort=True)
        ]
    return breakdown


def prediction_provenance(pairs: pd.DataFrame) -> dict[str, Any]:
    """Whether every prediction used was out-of-fold; anything else is in-sample."""
    out_of_fold = bool(len(pairs) > 0 and pairs["oof"].astype(bool).all())
    return {
        "out_of_fold": out_of_fold,
        "label": OUT_OF_FOLD_LABEL if out_of_fold else IN_SAMPLE_LABEL,
        "n_pairs_in_sample": int((~pairs["oof"].astype(bool)).sum()),
    }


def by_site(pairs: pd.DataFrame, patients: pd.DataFrame, *, cutoff: int = SCREENING_CUTOFF,
            n_bootstrap: int = 2000, seed: int | None = 0) -> dict[str, Any]:
    """Results per care team, and for all other teams pooled ("leave this team out").

    The predictions themselves are out-of-fold by patient, so no team's patients were in the model that
    scored them; the pooled rows show how much one team moves the clinic-wide figures.
    """
    if "care_team" not in patients.columns:
        return {"status": "insufficient data", "message": "insufficient data: no care team per patient",
                **_counts(pairs), "teams": []}
    team_of = patients.drop_duplicates(SUBJECT).set_index(SUBJECT)["care_team"]
    teams = pairs[SUBJECT].map(team_of).fillna("unknown").astype(str)
    rows = []
    for team in sorted(teams.unique()):
        inside = teams == team
        rows.append({**_group_row(team, pairs[inside], cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed),
                     "leave_one_team_out": _group_row(f"all but {team}", pairs[~inside], cutoff=cutoff,
                                                      n_bootstrap=n_bootstrap, seed=seed)})
    return {"status": "ok", **_counts(pairs), "teams": rows}
