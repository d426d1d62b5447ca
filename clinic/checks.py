"""Start-up checks of the clinical domain: the audio encryption keys must open the stored audio; the default
time zone of new patients must be a real one."""

from django.core import checks

from clinic.storage import AudioKeyError, audio_keys_verify


@checks.register(checks.Tags.security)
def audio_keys_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    try:
        audio_keys_verify()
    except AudioKeyError as exc:
        return [checks.Error(str(exc), hint="See docs/data_lifecycle.md, 'Encryption at rest'.", id="clinic.E001")]
    except OSError as exc:
        return [checks.Error(f"The private storage cannot be read or written ({exc.__class__.__name__}).",
                             hint="Check CADENCE_PRIVATE_MEDIA_ROOT or the storage backend.", id="clinic.E002")]
    return []


@checks.register()
def patient_defaults_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A new patient's default time zone and language are what a patient's own must be."""
    from django.conf import settings

    from clinic.services import BCP47_PATTERN, time_zone_problem

    errors = []
    problem = time_zone_problem(settings.CADENCE_DEFAULT_TIME_ZONE)
    if problem:
        errors.append(checks.Error(f"CADENCE_DEFAULT_TIME_ZONE={settings.CADENCE_DEFAULT_TIME_ZONE!r}: {problem}",
                                   id="clinic.E006"))
    if not BCP47_PATTERN.fullmatch(settings.CADENCE_DEFAULT_PATIENT_LANGUAGE):
        errors.append(checks.Error(
            f"CADENCE_DEFAULT_PATIENT_LANGUAGE={settings.CADENCE_DEFAULT_PATIENT_LANGUAGE!r}: not a language tag "
            "such as en, es or de-AT.", id="clinic.E007"))
    return errors


_LOG_EMAIL_BACKENDS = ("django.core.mail.backends.console.EmailBackend",
                       "django.core.mail.backends.filebased.EmailBackend")


@checks.register(checks.Tags.security)
def email_backend_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """Outside DEBUG, mail that carries password links must not be written to a log or a file."""
    from django.conf import settings

    if settings.DEBUG or settings.CADENCE_ALLOW_CONSOLE_EMAIL or settings.EMAIL_BACKEND not in _LOG_EMAIL_BACKENDS:
        return []
    return [checks.Error(
        "E-mail would be written to the log (EMAIL_BACKEND is the console or file backend with DEBUG off): "
        "password-reset and set-password links would be readable by anyone who reads the log.",
        hint="Set EMAIL_HOST (and EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) to send mail by SMTP, or, only where the "
             "log is as private as the mail, CADENCE_ALLOW_CONSOLE_EMAIL=true. See docs/operators.md.",
        id="clinic.E003")]


@checks.register(checks.Tags.security)
def staff_identity_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A demo account without a second factor has no place in production; single sign-on needs its client."""
    from django.conf import settings

    messages = []
    if not settings.DEBUG and settings.CADENCE_DEMO_USERNAME:
        messages.append(checks.Warning(
            f"CADENCE_DEMO_USERNAME={settings.CADENCE_DEMO_USERNAME!r}: that account signs in without a second "
            f"factor although DEBUG is off.", hint="Leave CADENCE_DEMO_USERNAME empty in production.",
            id="clinic.W004"))
    if settings.CADENCE_OIDC_ISSUER and not (settings.CADENCE_OIDC_CLIENT_ID and settings.CADENCE_OIDC_CLIENT_SECRET):
        messages.append(checks.Error(
            "CADENCE_OIDC_ISSUER is set but CADENCE_OIDC_CLIENT_ID or CADENCE_OIDC_CLIENT_SECRET is not.",
            hint="Set both (the secret also as CADENCE_OIDC_CLIENT_SECRET_FILE), or unset the issuer. "
                 "See docs/operators.md, 'Single sign-on'.", id="clinic.E005"))
    return messages


def startup_checks_raise() -> None:
    """Run at web-server start-up (config/wsgi.py): a refused configuration stops the server."""
    from django.core.exceptions import ImproperlyConfigured

    errors = [m for m in email_backend_check(None) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured(f"{errors[0].msg} {errors[0].hint}")
