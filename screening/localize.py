"""Stored English sentences said again in the active language: a template from the catalogue filled with the
sentence's values (:func:`said_again`), decimal figures inside them in the language's format ("PSI 0.33" is
"PSI 0,33" in Spanish, :func:`localized_value`).

Shared by the stored alert messages (:mod:`screening.models`), the validation report's page
(:mod:`screening.reports.html`) and the dashboard's withheld-feature reasons; Django only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext

__all__ = ["localized_value", "said_again"]

#: A number written with a decimal point ("0.33", "+2.5"), not part of a version or a name ("4.0.0", "v1.2").
_DECIMAL = re.compile(r"(?<![\w.])(\d+)\.(\d+)(?![\w.])")


def localized_value(value):
    """A value's decimal numbers in the active language's format ("PSI 0.33" is "PSI 0,33" in Spanish); counts,
    dates, names and versions as they are."""
    if not isinstance(value, str):
        return value
    return _DECIMAL.sub(lambda m: number_format(Decimal(m.group(0)), decimal_pos=len(m.group(2))), value)


def said_again(msgid: str, params: Mapping[str, Any], english: str,
               value: Callable[[Any], Any] = localized_value, *, plural: str | None = None,
               count: int | None = None) -> str:
    """``msgid`` (an English ``%(name)s`` template) from the catalogue, filled with ``params``, each value through
    ``value`` (by default: its decimal figures in the active language's format); ``english``, the sentence as
    stored, where the translation does not fit the values (a dropped or renamed placeholder). With ``plural`` and
    ``count``, ``msgid`` is the singular template and the catalogue picks the language's form for ``count``."""
    template = gettext(msgid) if plural is None or count is None else ngettext(msgid, plural, count)
    try:
        return template % {name: value(item) for name, item in params.items()}
    except (KeyError, TypeError, ValueError):
        return english
