"""Sentences of the validation report that remember the English template they were filled from.

The report's ``content`` holds English sentences and labels (its JSON, the API and the English page show them as
they are). Each is a :class:`Text`: a ``str`` (so ``json.dumps``, comparisons and every English output are
unchanged) that also carries ``msgid``, the whole-sentence English template with named placeholders, and
``params``, the values it was filled with, already formatted. The HTML page (:mod:`screening.reports.html`) says
the sentence again in the reader's language: the template from the catalogue filled with the same values, their
decimal figures in that language's format.

:func:`gettext_noop` makes one; its name is what ``makemessages`` looks for, so the template must be a plain string
literal (no f-string), and written with the real characters (≥, –, −, —), not ``\\u`` escapes, which xgettext does
not decode. A template with placeholders writes a literal percent sign as ``%%``.

Plain Python (no Django).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LIST_SEPARATOR", "Text", "gettext_noop"]

#: How a list value of ``params`` is joined, in every language.
LIST_SEPARATOR = "; "


class Text(str):
    """An English sentence (the ``str`` itself) with the template (``msgid``) and values (``params``) behind it.

    A value in ``params`` is a formatted string, a :class:`Text` (said again in the reader's language too), or a
    list of those (an enumeration, joined by :data:`LIST_SEPARATOR`).
    """

    msgid: str
    params: dict[str, Any]

    def __new__(cls, value: str, msgid: str | None = None, params: dict[str, Any] | None = None) -> Text:
        text = super().__new__(cls, value)
        text.msgid = str(value) if msgid is None else msgid
        text.params = dict(params or {})
        return text

    def __reduce__(self):
        return Text, (str(self), self.msgid, self.params)


def gettext_noop(msgid: str, **params: Any) -> Text:
    """``msgid`` filled with ``params`` (``msgid % params``; without params ``msgid`` as it is), remembering both.

    Marks ``msgid`` for the translation catalogues (``makemessages`` extracts the first argument of this name).
    """
    values = {name: [item if isinstance(item, str) else str(item) for item in value]
              if isinstance(value, list | tuple) else value if isinstance(value, str) else str(value)
              for name, value in params.items()}
    english = {name: LIST_SEPARATOR.join(value) if isinstance(value, list) else value for name, value in values.items()}
    return Text(msgid % english if values else msgid, msgid, values)
