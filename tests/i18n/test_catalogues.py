"""The translation catalogues: complete, compiled, and every placeholder kept (docs/translation.md).

A translation that drops or renames a placeholder (``%(name)s``, ``%s``, ``{n}``) shows the patient a raw
brace or raises at run time; msgfmt only checks the entries xgettext flagged, so this checks every entry.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
CATALOGUES = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]|\{(\w*)\}")


def parse_po(text: str) -> list[dict]:
    """Entries of a .po file: ``msgctxt`` (or None), ``msgid``, ``msgid_plural`` and ``msgstr`` (a list: one per
    plural form)."""
    entries = []
    for block in re.split(r"\n\s*\n", text):
        if re.search(r"^#~", block, flags=re.M):
            continue
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            head = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
            if head:
                key = head.group(1)
                fields[key] = ast.literal_eval(head.group(2))
            elif line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
        if fields.get("msgid"):
            strings = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            entries.append({"msgctxt": fields.get("msgctxt"), "msgid": fields["msgid"],
                            "msgid_plural": fields.get("msgid_plural"),
                            "msgstr": strings, "fuzzy": "#, fuzzy" in block or ", fuzzy" in block})
    return entries


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0) for m in PLACEHOLDER.finditer(text))


def placeholder_problems(entries: list[dict]) -> list[str]:
    """Every translation whose placeholders differ from its msgid's. Plurals: the first form (the singular) may
    have the singular's placeholders or the plural's, every other form the plural's."""
    problems = []
    for entry in entries:
        plural = placeholders(entry["msgid_plural"] or entry["msgid"])
        for form, translated in enumerate(entry["msgstr"]):
            allowed = [placeholders(entry["msgid"]), plural] if form == 0 else [plural]
            if translated and placeholders(translated) not in allowed:
                problems.append(f"{entry['msgid'][:60]!r} [{form}]: {placeholders(translated)} not in {allowed}")
    return problems


def test_there_is_a_spanish_catalogue():
    assert LOCALE / "es" / "LC_MESSAGES" / "django.po" in CATALOGUES


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_translation_keeps_its_placeholders(po):
    assert placeholder_problems(parse_po(po.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_every_string_is_translated_and_none_is_fuzzy(po):
    entries = parse_po(po.read_text(encoding="utf-8"))
    assert len(entries) > 100
    assert [e["msgid"] for e in entries if e["fuzzy"] or not all(e["msgstr"])] == []


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(LOCALE)))
def test_the_shipped_mo_holds_what_the_po_says(po):
    """compilemessages was run after the last change to the .po (the .mo is what Django reads)."""
    with open(po.with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(po.read_text(encoding="utf-8")):
        if entry["msgctxt"] is not None:  # a word with two meanings ("same" speaker, "none" of the keys)
            assert compiled.pgettext(entry["msgctxt"], entry["msgid"]) == entry["msgstr"][0], entry["msgid"]
        elif entry["msgid_plural"]:
            assert compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr"][0]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


@pytest.mark.parametrize("msgid, msgstr", [
    ("Recorded {s}", "Grabada el {fecha}"),                                  # renamed
    ("The recording is only {n} seconds long.", "La grabación es corta."),   # dropped
    ('account "%(username)s".', 'cuenta "%(usuario)s".'),                     # renamed
    ("%(n)s rejected", "rechazadas"),                                         # dropped
])
def test_the_check_catches_a_dropped_or_renamed_placeholder(msgid, msgstr):
    po = f"msgid {_quote(msgid)}\nmsgstr {_quote(msgstr)}\n"
    assert len(placeholder_problems(parse_po(po))) == 1


def test_the_check_catches_a_plural_form_that_drops_the_count():
    po = ('msgid "%(days)s day ago"\nmsgid_plural "%(days)s days ago"\n'
          'msgstr[0] "hace %(days)s día"\nmsgstr[1] "hace días"\n')
    assert len(placeholder_problems(parse_po(po))) == 1


def test_the_check_accepts_placeholders_moved_within_the_sentence():
    po = f"msgid {_quote('%(days)s day ago')}\nmsgstr {_quote('hace %(days)s día')}\n"
    assert placeholder_problems(parse_po(po)) == []


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
