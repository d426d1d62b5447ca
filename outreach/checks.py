"""Deploy checks: alerts must be able to leave the dashboard."""

from django.conf import settings
from django.core import checks

_NOWHERE = ("django.core.mail.backends.console.EmailBackend", "django.core.mail.backends.dummy.EmailBackend",
            "django.core.mail.backends.locmem.EmailBackend", "django.core.mail.backends.filebased.EmailBackend")


def _refused_elsewhere() -> bool:
    """clinic.E003 already refuses console/file mail outside DEBUG unless CADENCE_ALLOW_CONSOLE_EMAIL: one message."""
    from clinic.checks import _LOG_EMAIL_BACKENDS

    return not settings.DEBUG and not settings.CADENCE_ALLOW_CONSOLE_EMAIL and \
        settings.EMAIL_BACKEND in _LOG_EMAIL_BACKENDS


@checks.register(checks.Tags.security, deploy=True)
def alert_channel_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    if settings.EMAIL_BACKEND in _NOWHERE and not _refused_elsewhere():
        return [checks.Warning(
            "Alerts have no channel: e-mail goes to the console, so a self-harm alert waits in the dashboard until "
            "someone signs in.",
            hint="Set EMAIL_HOST (and EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) and CADENCE_ONCALL_EMAIL; "
                 "see docs/notifications.md.", id="outreach.W001")]
    return []
