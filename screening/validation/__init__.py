"""PHQ-9 validation report: does the voice score track PHQ-9 on a clinic's own patients?

Pure pandas/numpy/statsmodels code, no Django: :mod:`.pairing` pairs each PHQ-9 with the
voice scores of the 14 days before it, :mod:`.stats` computes the repeated-measures-aware
statistics, :mod:`.accuracy` and :mod:`.subgroups` the rest, :mod:`.report` assembles them and
renders JSON and CSV; the HTML page is a Django template (:mod:`screening.reports.html`).
"""

from screening.validation.pairing import PairingResult, ValidationInputError, pair_phq9_with_voice
from screening.validation.report import ValidationReport, build_report, render_csv, render_json

__all__ = [
    "PairingResult",
    "ValidationInputError",
    "ValidationReport",
    "build_report",
    "pair_phq9_with_voice",
    "render_csv",
    "render_json",
]
