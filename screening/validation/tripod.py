"""TRIPOD+AI (Collins et al., BMJ 2024): which reporting items this report covers, and where.

Items are the checklist's evaluation-relevant ones; an item the report does not cover says so
rather than being left out.
"""

from __future__ import annotations

from typing import Any

from screening.validation.text import Text, gettext_noop

__all__ = ["TRIPOD_AI_ITEMS", "tripod_ai"]

#: (item, what it asks, report section(s) covering it or None, note when not covered)
TRIPOD_AI_ITEMS: tuple[tuple[str, Text, tuple[str, ...] | None, Text | str], ...] = (
    ("5a", gettext_noop("Source of data and study dates"), ("summary", "parameters"), ""),
    ("6a", gettext_noop("Setting and eligibility of participants"), ("summary",),
     gettext_noop("the clinic's enrolled patients with paired PHQ-9 and recordings; eligibility is the clinic's own")),
    ("7", gettext_noop("Data preparation and handling of missing data"), ("summary",),
     gettext_noop("unpaired PHQ-9s are counted with their reason; recordings without a voice score are left out")),
    ("8a", gettext_noop("Outcome and how it was assessed"), ("parameters",), gettext_noop("PHQ-9 total at or above the cut-off")),
    ("9a", gettext_noop("Predictors: the voice deviations from the patient's baseline"), ("summary",), ""),
    ("10", gettext_noop("Sample size"), ("summary",), gettext_noop("no formal sample-size calculation; small sections say insufficient data")),
    ("12b", gettext_noop("Model type, building and internal validation"), ("summary",), ""),
    ("12c", gettext_noop("Model output and thresholds"), ("three_way", "screening_accuracy"), ""),
    ("12e", gettext_noop("Performance measures: discrimination, calibration, clinical utility"),
     ("screening_accuracy", "calibration", "decision_curve", "alerts"),
     gettext_noop("clinical utility as net benefit and, in use, as alert burden per patient-month and PPV of risk alerts")),
    ("12f", gettext_noop("Heterogeneity across clusters (sites)"), ("by_site",), ""),
    ("12g", gettext_noop("Fairness: performance in subgroups"), ("subgroups",),
     gettext_noop("sex, age band, language, and the recording conditions: codec and bit rate, device, recording task")),
    ("20a", gettext_noop("Participant flow and numbers with and without the outcome"), ("summary",), ""),
    ("20b", gettext_noop("Participant characteristics"), None, gettext_noop("the report does not tabulate baseline characteristics")),
    ("23a", gettext_noop("Performance estimates with confidence intervals"), ("screening_accuracy", "calibration",
                                                                "within_person", "between_person"), ""),
    ("23b", gettext_noop("Results in key subgroups"), ("subgroups", "by_site"),
     gettext_noop("each subgroup row gives its n of patients, pairs (and recordings for recording conditions)")),
    ("24", gettext_noop("Model updating"), None, gettext_noop("a new model is activated only if it lowers out-of-fold error")),
    ("27b", gettext_noop("How to use and interpret the output"), ("three_way", "alerts"),
     gettext_noop("the three-way bands, and how often an alert comes and how often the next PHQ-9 confirms it")),
)


def tripod_ai(content: dict[str, Any]) -> dict[str, Any]:
    """Each item with ``covered`` (true only when its sections exist and have data) and where."""
    items = []
    for item, asks, sections, note in TRIPOD_AI_ITEMS:
        present = [s for s in sections or () if s in content]
        with_data = [s for s in present if not isinstance(content[s], dict)
                     or content[s].get("status", "ok") == "ok"]
        covered = bool(sections) and bool(with_data)
        why = note if covered or not sections else gettext_noop("its sections have insufficient data")
        items.append({"item": item, "asks": asks, "covered": covered, "sections": present, "note": why})
    return {"guideline": "TRIPOD+AI (Collins et al., BMJ 2024;385:e078378)", "items": items,
            "n_covered": sum(i["covered"] for i in items), "n_items": len(items)}
