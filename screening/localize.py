"""Decimal figures inside a sentence in the active language's format ("PSI 0.33" is "PSI 0,33" in Spanish).

Shared by the stored alert messages (:mod:`screening.models`) and the validation report's page
(:mod:`screening.reports.html`); Django only.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.formats import number_format

__all__ = ["localized_value"]

#: A number written with a decimal point ("0.33", "+2.5"), not part of a version or a name ("4.0.0", "v1.2").
_DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")


def localized_value(value):
    """A value's decimal numbers in the active language's format ("PSI 0.33" is "PSI 0,33" in Spanish); counts,
    dates, names and versions as they are."""
    if not isinstance(value, str):
        return value
    return _DECIMAL.sub(lambda m: number_format(Decimal(m.group(0)), decimal_pos=len(m.group(2))), value)
