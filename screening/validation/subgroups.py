"""Who the results hold for: subgroups, care teams, and where the predictions come from."""

from __future__ import annotations

from typing import Any

import pandas as pd

from clinic.phq9 import SCREENING_CUTOFF
from screening.validation.accuracy import screening_accuracy
from screening.validation.pairing import PATIENT_COLUMNS, pair_phq9_with_voice, require_columns
from screening.validation.stats import PHQ9, SUBJECT, _counts, repeated_measures_correlation
from screening.validation.text import gettext_noop

__all__ = ["OUT_OF_FOLD_LABEL", "IN_SAMPLE_LABEL", "age_band", "subgroup_breakdown", "by_site",
           "prediction_provenance", "recording_subgroups", "codec_label", "RECORDING_FACETS"]

OUT_OF_FOLD_LABEL = gettext_noop("out-of-fold (cross-validated by patient)")
IN_SAMPLE_LABEL = gettext_noop("in-sample: not an honest estimate")


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


#: Recording-level facets: the frame column(s) each is read from.
RECORDING_FACETS = ("codec", "device", "task")
#: Devices listed by name (most recordings first); the rest are pooled so the table stays readable.
MAX_DEVICES = 8
BIT_RATE_BANDS = ((32_000, "< 32 kbit/s"), (96_000, "32\u201395 kbit/s"), (float("inf"), "\u2265 96 kbit/s"))


def codec_label(codec: object, bit_rate: object) -> str:
    """Codec name with its bit-rate band, e.g. "opus < 32 kbit/s"; "unknown" without a codec."""
    name = str(codec).strip().lower() if isinstance(codec, str) and codec.strip() else "unknown"
    if bit_rate is None or pd.isna(bit_rate):
        return name
    band = next(label for limit, label in BIT_RATE_BANDS if float(bit_rate) < limit)
    return f"{name} {band}"


def _recording_labels(scores: pd.DataFrame, facet: str) -> pd.Series | None:
    def text(column: str) -> pd.Series:
        values = scores[column].astype(object)
        return values.where(values.notna() & (values.astype(str).str.strip() != ""), "unknown").astype(str)

    if facet == "codec" and "codec" in scores:
        rates = scores["bit_rate"] if "bit_rate" in scores else pd.Series(None, index=scores.index)
        return pd.Series([codec_label(c, b) for c, b in zip(scores["codec"], rates, strict=True)],
                         index=scores.index)
    if facet == "device" and "device_model" in scores:
        labels = text("device_model")
        named = labels[labels != "unknown"].value_counts().index[:MAX_DEVICES]
        return labels.where(labels.isin(named) | (labels == "unknown"), "other devices")
    if facet == "task" and "task" in scores:
        return text("task")
    return None


def recording_subgroups(phq9: pd.DataFrame, scores: pd.DataFrame, *, window_days: int, min_recordings: int,
                        cutoff: int = SCREENING_CUTOFF, n_bootstrap: int = 2000,
                        seed: int | None = 0) -> dict[str, list[dict[str, Any]]]:
    """Per codec (with bit-rate band), device and recording task: the report re-paired on that group's
    recordings only, so each row says how the voice score does when every recording is of that kind.

    A facet whose column the scores lack is left out; a PHQ-9 whose window holds too few recordings of a
    group is not paired in that group (the rows' n say how many remain).
    """
    breakdown = {}
    for facet in RECORDING_FACETS:
        labels = _recording_labels(scores, facet)
        if labels is None:
            continue
        rows = []
        for label in sorted(labels.unique()):
            subset = scores[labels == label]
            # only these patients can pair in this group: pairing the others would find nothing, slowly
            answers = phq9[phq9[SUBJECT].isin(set(subset[SUBJECT]))]
            pairs = pair_phq9_with_voice(answers, subset, window_days=window_days,
                                         min_recordings=min_recordings).pairs
            row = _group_row(label, pairs, cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed)
            rows.append({**row, "n_recordings": int(subset["voice_score"].notna().sum())})
        breakdown[facet] = rows
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
        return {"status": "insufficient data", "message": gettext_noop("insufficient data: no care team per patient"),
                **_counts(pairs), "teams": []}
    team_of = patients.drop_duplicates(SUBJECT).set_index(SUBJECT)["care_team"]
    teams = pairs[SUBJECT].map(team_of).fillna("unknown").astype(str)
    rows = []
    for team in sorted(teams.unique()):
        inside = teams == team
        rows.append({**_group_row(team, pairs[inside], cutoff=cutoff, n_bootstrap=n_bootstrap, seed=seed),
                     "leave_one_team_out": _group_row(gettext_noop("all but %(team)s", team=team), pairs[~inside], cutoff=cutoff,
                                                      n_bootstrap=n_bootstrap, seed=seed)})
    return {"status": "ok", **_counts(pairs), "teams": rows}
