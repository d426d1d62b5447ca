"""The languages Cadence speaks (settings.LANGUAGES), for every layer that picks one: the dashboard and recorder
(web.locale), and messages sent on their own, outside a request (outreach's reminders and alert e-mails)."""

from django.utils import translation


def supported_language(code: str | None) -> str | None:
    """The interface language for a BCP 47 tag (``es-MX`` -> ``es``), or None when Cadence does not speak it."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower().replace("_", "-"))
    except LookupError:
        return None


def active_language() -> str:
    """The active language's primary subtag (``es`` while ``es-mx`` is active; ``en`` outside any)."""
    return (translation.get_language() or "en").split("-")[0]
