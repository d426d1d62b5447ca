"""Sparkline geometry: pure, no database."""

import pytest

from web.dashboard.charts import Sparkline


def _ys(spark: Sparkline) -> list[float]:
    return [float(p.split(",")[1]) for p in spark.points.split()]


def test_it_draws_higher_phq9_higher_on_the_screen():
    ys = _ys(Sparkline([4.0, 8.0, 12.0], height=28, pad=2))
    assert ys[0] > ys[1] > ys[2]


def test_it_spans_at_least_ten_points_so_noise_stays_small():
    spark = Sparkline([12.0, 12.5], height=28, pad=2)
    assert (spark.low, spark.high) == (7.25, 17.25)
    assert abs(_ys(spark)[0] - _ys(spark)[1]) == pytest.approx(24 * 0.5 / 10, abs=0.1)


@pytest.mark.parametrize("values,domain", [([0.0, 1.0], (0.0, 10.0)), ([26.0, 27.0], (17.0, 27.0)),
                                           ([2.0, 25.0], (2.0, 25.0))])
def test_it_keeps_the_range_inside_0_to_27(values, domain):
    spark = Sparkline(values)
    assert (spark.low, spark.high) == domain


def test_it_hides_the_cutoff_line_when_out_of_range():
    assert Sparkline([20.0, 22.0]).cutoff_y is None
    assert Sparkline([8.0, 12.0], height=28, pad=2).cutoff_y == pytest.approx(2 + 24 * 0.5, abs=0.1)


def test_it_describes_the_trend_in_words():
    assert Sparkline([]).description == "No predicted PHQ-9 yet"
    assert Sparkline([7.0, 11.25]).description == "Predicted PHQ-9 from 7.0 to 11.2 over the last 2 scores"
    assert Sparkline([7.0, 11.0]).change == 4.0 and Sparkline([7.0]).change is None
