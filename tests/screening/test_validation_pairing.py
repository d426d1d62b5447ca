"""Pairing PHQ-9 answers with the voice scores of the 14 days before them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from screening.validation.pairing import (
    PAIR_COLUMNS,
    UNPAIRED_NO_RECORDINGS,
    UNPAIRED_TOO_FEW_RECORDINGS,
    ValidationInputError,
    pair_phq9_with_voice,
)

T0 = pd.Timestamp("2025-03-20 10:00", tz="UTC")


def _phq9(*rows):
    """rows: (patient_id, phq9_id, answered_at, total)."""
    return pd.DataFrame(
        [
            {"patient_id": p, "phq9_id": i, "answered_at": t, "total": total, "item9": 0}
            for p, i, t, total in rows
        ]
    )


def _scores(*rows, oof=True):
    """rows: (patient_id, recorded_at, voice_score[, predicted, prob[, oof]])."""
    records = []
    for n, row in enumerate(rows):
        patient, at, voice, *rest = row
        predicted = rest[0] if len(rest) > 0 else 10.0
        prob = rest[1] if len(rest) > 1 else 0.5
        records.append(
            {
                "patient_id": patient,
                "recording_id": n + 1,
                "recorded_at": at,
                "voice_score": voice,
                "predicted_phq9": predicted,
                "prob_ge10": prob,
                "oof": rest[2] if len(rest) > 2 else oof,
            }
        )
    return pd.DataFrame(records)


def test_it_uses_the_half_open_window_before_the_phq9():
    day = pd.Timedelta(days=1)
    scores = _scores(
        (1, T0, 1.0),  # at answered_at: in
        (1, T0 - 14 * day + pd.Timedelta(seconds=1), 3.0),  # just inside: in
        (1, T0 - 14 * day, 100.0),  # exactly 14 d before: out
        (1, T0 + pd.Timedelta(seconds=1), 200.0),  # after: out
    )
    result = pair_phq9_with_voice(_phq9((1, 1, T0, 12)), scores)
    pair = result.pairs.iloc[0]
    assert pair["n_recordings"] == 2
    assert_allclose(pair["voice_score"], 2.0)


def test_it_averages_each_score_and_skips_missing_predictions():
    scores = _scores(
        (1, T0 - pd.Timedelta(days=1), 1.0, 8.0, 0.2),
        (1, T0 - pd.Timedelta(days=2), 2.0, np.nan, np.nan),
        (1, T0 - pd.Timedelta(days=3), 6.0, 12.0, 0.6),
    )
    pair = pair_phq9_with_voice(_phq9((1, 1, T0, 12)), scores).pairs.iloc[0]
    assert_allclose(
        pair[["voice_score", "predicted_phq9", "prob_ge10"]].to_numpy(float), [3.0, 10.0, 0.4]
    )
    assert pair["phq9_total"] == 12


def test_it_counts_unpaired_phq9_with_their_reasons():
    phq9 = _phq9((1, 1, T0, 5), (1, 2, T0 + pd.Timedelta(days=28), 9), (2, 3, T0, 14))
    scores = _scores(
        (1, T0 - pd.Timedelta(days=1), 1.0),
        (1, T0 - pd.Timedelta(days=2), 1.5),
        (1, T0 + pd.Timedelta(days=27), 2.0),
    )
    result = pair_phq9_with_voice(phq9, scores, min_recordings=2)
    assert result.n_phq9 == 3
    assert list(result.pairs["phq9_id"]) == [1]
    assert result.n_unpaired == 2
    assert result.unpaired_reasons == {UNPAIRED_NO_RECORDINGS: 1, UNPAIRED_TOO_FEW_RECORDINGS: 1}
    assert dict(zip(result.unpaired["phq9_id"], result.unpaired["reason"])) == {
        2: UNPAIRED_TOO_FEW_RECORDINGS,
        3: UNPAIRED_NO_RECORDINGS,
    }


@pytest.mark.parametrize("min_recordings, expected_pairs", [(1, 1), (3, 0)])
def test_it_applies_the_minimum_number_of_recordings(min_recordings, expected_pairs):
    scores = _scores((1, T0 - pd.Timedelta(days=1), 1.0), (1, T0 - pd.Timedelta(days=2), 1.5))
    result = pair_phq9_with_voice(_phq9((1, 1, T0, 5)), scores, min_recordings=min_recordings)
    assert len(result.pairs) == expected_pairs
    assert result.n_unpaired == 1 - expected_pairs


def test_it_does_not_count_recordings_without_a_voice_score():
    scores = _scores((1, T0 - pd.Timedelta(days=1), 1.0), (1, T0 - pd.Timedelta(days=2), np.nan))
    result = pair_phq9_with_voice(_phq9((1, 1, T0, 5)), scores, min_recordings=2)
    assert result.pairs.empty
    assert result.unpaired_reasons == {UNPAIRED_TOO_FEW_RECORDINGS: 1}


def test_it_never_borrows_another_patients_recordings():
    scores = _scores((2, T0 - pd.Timedelta(days=1), 1.0), (2, T0 - pd.Timedelta(days=2), 1.0))
    result = pair_phq9_with_voice(_phq9((1, 1, T0, 5), (2, 2, T0, 7)), scores)
    assert list(result.pairs["patient_id"]) == [2]
    assert list(result.unpaired["patient_id"]) == [1]


def test_it_compares_instants_across_time_zones():
    answered = pd.Timestamp("2025-03-10 23:45", tz="UTC")
    # 00:30 on the 11th in Berlin is 23:30 UTC on the 10th: inside the window, which a
    # comparison of wall-clock times would get wrong.
    berlin = pd.Timestamp("2025-03-11 00:30", tz="Europe/Berlin")
    scores = _scores((1, berlin, 4.0), (1, answered - pd.Timedelta(days=1), 2.0))
    pair = pair_phq9_with_voice(_phq9((1, 1, answered, 5)), scores).pairs.iloc[0]
    assert pair["n_recordings"] == 2
    assert_allclose(pair["voice_score"], 3.0)


def test_it_refuses_naive_timestamps():
    scores = _scores((1, pd.Timestamp("2025-03-19 10:00"), 1.0))
    with pytest.raises(ValidationInputError, match="timezone-aware"):
        pair_phq9_with_voice(_phq9((1, 1, T0, 5)), scores)


def test_it_names_missing_columns():
    with pytest.raises(ValidationInputError, match="voice_score"):
        pair_phq9_with_voice(
            _phq9((1, 1, T0, 5)), _scores((1, T0, 1.0)).drop(columns="voice_score")
        )


def test_it_refuses_impossible_phq9_totals():
    with pytest.raises(ValidationInputError, match="0-27"):
        pair_phq9_with_voice(_phq9((1, 1, T0, 28)), _scores((1, T0, 1.0)))


@pytest.mark.parametrize("flags, expected", [((True, True), True), ((True, False), False)])
def test_it_marks_a_pair_out_of_fold_only_if_every_recording_was(flags, expected):
    scores = _scores(
        *[(1, T0 - pd.Timedelta(days=d + 1), 1.0, 10.0, 0.5, f) for d, f in enumerate(flags)]
    )
    assert pair_phq9_with_voice(_phq9((1, 1, T0, 5)), scores).pairs.iloc[0]["oof"] == expected


def test_it_treats_predictions_without_an_oof_column_as_in_sample():
    scores = _scores((1, T0, 1.0), (1, T0 - pd.Timedelta(days=1), 1.0)).drop(columns="oof")
    assert not pair_phq9_with_voice(_phq9((1, 1, T0, 5)), scores).pairs.iloc[0]["oof"]


def test_it_returns_the_documented_columns_sorted_by_patient_and_time():
    phq9 = _phq9((2, 1, T0, 5), (1, 2, T0 + pd.Timedelta(days=30), 6), (1, 3, T0, 7))
    scores = _scores(
        *[
            (p, t - pd.Timedelta(hours=h), 1.0)
            for p in (1, 2)
            for t in (T0, T0 + pd.Timedelta(days=30))
            for h in (1, 2)
        ]
    )
    pairs = pair_phq9_with_voice(phq9, scores).pairs
    assert tuple(pairs.columns) == PAIR_COLUMNS
    assert list(pairs["phq9_id"]) == [3, 2, 1]
