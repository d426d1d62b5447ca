"""Server-side sparkline geometry (no JavaScript needed for the triage list)."""

from collections.abc import Sequence

from django.utils.formats import get_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from clinic.phq9 import MAX_TOTAL, MINIMAL_IMPORTANT_DIFFERENCE, SCREENING_CUTOFF

__all__ = ["Sparkline", "sparkline"]


#: The y range of a sparkline spans at least this many PHQ-9 points, so a change of one
#: minimal important difference (5 points) fills about half the height and noise stays small.
MIN_SPAN = 2 * MINIMAL_IMPORTANT_DIFFERENCE


def _number(value: float, places: int) -> str:
    """A figure for the reader (the active language's decimal mark), never for SVG geometry."""
    return f"{value:.{places}f}".replace(".", get_format("DECIMAL_SEPARATOR"))


class Sparkline:
    """Polyline points of a PHQ-9 series, scaled to its own range but never less than 10 points."""

    def __init__(self, values: Sequence[float], *, width: float = 96.0, height: float = 28.0, pad: float = 2.0):
        self.values, self.width, self.height, self.pad = list(values), width, height, pad
        self.low, self.high = self._domain()

    def _domain(self) -> tuple[float, float]:
        if not self.values:
            return 0.0, float(MAX_TOTAL)
        low, high = min(self.values), max(self.values)
        grow = max(0.0, MIN_SPAN - (high - low)) / 2
        low, high = low - grow, high + grow
        if low < 0:
            low, high = 0.0, high - low
        if high > MAX_TOTAL:
            low, high = max(0.0, low - (high - MAX_TOTAL)), float(MAX_TOTAL)
        return low, high

    def _y(self, value: float) -> float:
        clipped = min(max(value, self.low), self.high)
        return round(self.pad + (self.height - 2 * self.pad) * (1 - (clipped - self.low) / (self.high - self.low)), 1)

    def _x(self, index: int) -> float:
        if len(self.values) < 2:
            return round(self.width / 2, 1)
        return round(self.pad + (self.width - 2 * self.pad) * index / (len(self.values) - 1), 1)

    @property
    def points(self) -> str:
        """SVG ``points`` attribute, oldest value on the left."""
        return " ".join(f"{self._x(i)},{self._y(v)}" for i, v in enumerate(self.values))

    @property
    def last_point(self) -> tuple[float, float] | None:
        if not self.values:
            return None
        return self._x(len(self.values) - 1), self._y(self.values[-1])

    @property
    def cutoff_y(self) -> float | None:
        """Height of the PHQ-9 >= 10 cut-off line, or None when it is outside the range shown."""
        return self._y(SCREENING_CUTOFF) if self.low <= SCREENING_CUTOFF <= self.high else None

    @property
    def change(self) -> float | None:
        """Last minus first value, PHQ-9 points."""
        return self.values[-1] - self.values[0] if len(self.values) >= 2 else None

    @property
    def description(self) -> str:
        if not self.values:
            return _("No predicted PHQ-9 yet")
        if len(self.values) == 1:
            return _("Predicted PHQ-9 %(value)s (one score)") % {"value": _number(self.values[0], 1)}
        return _("Predicted PHQ-9 from %(first)s to %(last)s over the last %(n)d scores") % {
            "first": _number(self.values[0], 1), "last": _number(self.values[-1], 1), "n": len(self.values)}


def sparkline(values: Sequence[float], **kwargs) -> Sparkline:
    return Sparkline(values, **kwargs)


class TrendLine(Sparkline):
    """A sparkline on a fixed range with an optional threshold line (monitoring figures: PSI, rates, MAE)."""

    def __init__(self, values: Sequence[float], *, low: float, high: float, threshold: float | None = None,
                 label: str = "", **kwargs):
        self.fixed, self.threshold, self.label = (low, max(high, *values, low + 1e-9) if values else high), threshold, label
        super().__init__(values, **kwargs)

    def _domain(self) -> tuple[float, float]:
        return self.fixed

    @property
    def cutoff_y(self) -> float | None:
        return self._y(self.threshold) if self.threshold is not None else None

    @property
    def description(self) -> str:
        if not self.values:
            return _("No %(label)s yet") % {"label": self.label}
        n = len(self.values)
        return ngettext("%(label)s: %(value)s now, %(n)d daily value", "%(label)s: %(value)s now, %(n)d daily values",
                        n) % {"label": self.label, "value": _number(self.values[-1], 2), "n": n}
