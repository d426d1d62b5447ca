"""Sentences of the validation report that remember the English template they were filled from.

The report's ``content`` holds English sentences and labels (its JSON, the API and the English page show them as
they are). Each is a :class:`Text`: a ``str`` (so ``json.dumps``, comparisons and every English output are
unchanged) that also carries ``msgid``, the whole-sentence English template with named placeholders, and
``params``, the values it was filled with, already formatted. The HTML page (:mod:`screening.reports.html`) says
the sentence again in the reader's language: the template from the catalogue filled with the same values, their
decimal figures in that language's format.

:func:`gettext_noop` makes one; a sentence that counts something (“1 patient”, “3 patients”) is made by
:func:`ngettext` from its singular and plural templates, and remembers both and the count. Their names are what
``makemessages`` looks for, so a template must be a plain string literal (no f-string), and written with the real
characters (≥, –, −, —), not ``\\u`` escapes, which xgettext does not decode. A template with placeholders writes
a literal percent sign as ``%%``.

Plain Python (no Django).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIST_SEPARATOR", "Text", "gettext_noop", "ngettext", "patient_count"]

#: How a list value of ``params`` is joined, in every language.
LIST_SEPARATOR = "; "


class Text(str):
    """An English sentence (the ``str`` itself) with the template (``msgid``) and values (``params``) behind it.

    A value in ``params`` is a formatted string, a :class:`Text` (said again in the reader's language too), or a
    list of those (an enumeration, joined by :data:`LIST_SEPARATOR`). A counting sentence also has ``plural``, its
    plural template (``msgid`` is then the singular one), and ``count``, the number that chose between them.
    """

    msgid: str
    params: dict[str, Any]
    plural: str | None
    count: int | None

    def __new__(cls, value: str, msgid: str | None = None, params: dict[str, Any] | None = None,
                plural: str | None = None, count: int | None = None) -> Text:
        text = super().__new__(cls, value)
        text.msgid = str(value) if msgid is None else msgid
        text.params = dict(params or {})
        text.plural, text.count = plural, count
        return text

    def __reduce__(self):
        return Text, (str(self), self.msgid, self.params, self.plural, self.count)


def _formatted(params: dict[str, Any]) -> dict[str, Any]:
    return {name: [item if isinstance(item, str) else str(item) for item in value]
            if isinstance(value, list | tuple) else value if isinstance(value, str) else str(value)
            for name, value in params.items()}


def _filled(template: str, values: dict[str, Any]) -> str:
    english = {name: LIST_SEPARATOR.join(value) if isinstance(value, list) else value for name, value in values.items()}
    return template % english if values else template


def gettext_noop(msgid: str, **params: Any) -> Text:
    """``msgid`` filled with ``params`` (``msgid % params``; without params ``msgid`` as it is), remembering both.

    Marks ``msgid`` for the translation catalogues (``makemessages`` extracts the first argument of this name).
    """
    values = _formatted(params)
    return Text(_filled(msgid, values), msgid, values)


def ngettext(singular: str, plural: str, count: int, **params: Any) -> Text:
    """``singular`` when ``count`` is 1, else ``plural``, filled with ``params``; remembers both templates and the
    count, so another language picks its own plural form (Spanish: the same rule; others have more forms).

    Marks both templates for the catalogues (``makemessages`` extracts arguments 1 and 2 of this name).
    """
    values = _formatted(params)
    return Text(_filled(singular if count == 1 else plural, values), singular, values, plural, int(count))


def patient_count(n: int) -> Text:
    """"1 patient", "3 patients": a count of patients to put in a sentence that counts something else too."""
    return ngettext("%(n)s patient", "%(n)s patients", n, n=n)
