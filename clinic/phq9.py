"""PHQ-9 scoring: the one place that turns answers into a total and a severity band."""

from collections.abc import Sequence

__all__ = [
    "ITEM_COUNT",
    "MAX_TOTAL",
    "SCREENING_CUTOFF",
    "MINIMAL_IMPORTANT_DIFFERENCE",
    "WINDOW_DAYS",
    "SEVERITY_BANDS",
    "phq9_total",
    "severity_band",
    "is_safety_signal",
]

ITEM_COUNT = 9
MAX_TOTAL = 27
SCREENING_CUTOFF = 10
MINIMAL_IMPORTANT_DIFFERENCE = 5
#: The PHQ-9 asks about the last two weeks: the one window that pairs a PHQ-9 with the voice recorded in the
#: days before it (fitting, the patient's level, validation, monitoring).
WINDOW_DAYS = 14
LOINC_PANEL = "44249-1"
LOINC_TOTAL = "44261-6"

# (lowest total, band) in ascending order; Kroenke, Spitzer & Williams 2001.
SEVERITY_BANDS: tuple[tuple[int, str], ...] = (
    (0, "minimal"),
    (5, "mild"),
    (10, "moderate"),
    (15, "moderately severe"),
    (20, "severe"),
)


def phq9_total(items: Sequence[int]) -> int:
    """Sum of the nine item scores (each 0-3), 0-27."""
    if len(items) != ITEM_COUNT:
        raise ValueError(f"PHQ-9 has {ITEM_COUNT} items, got {len(items)}")
    for number, score in enumerate(items, start=1):
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 3:
            raise ValueError(f"item {number} must be an integer from 0 to 3, got {score!r}")
    return sum(items)


def severity_band(total: int) -> str:
    """Severity band of a PHQ-9 total: minimal, mild, moderate, moderately severe, severe."""
    if not 0 <= total <= MAX_TOTAL:
        raise ValueError(f"PHQ-9 total must be 0-{MAX_TOTAL}, got {total}")
    band = SEVERITY_BANDS[0][1]
    for lowest, name in SEVERITY_BANDS:
        if total >= lowest:
            band = name
    return band


def is_safety_signal(item9: int) -> bool:
    """Any answer above 0 on item 9 (thoughts of self-harm) needs the care team."""
    return item9 > 0
