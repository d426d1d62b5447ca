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
def default_time_zone_check(app_configs, **kwargs) -> list[checks.CheckMessage]:
    from django.conf import settings

    from clinic.services import time_zone_problem

    problem = time_zone_problem(settings.CADENCE_DEFAULT_TIME_ZONE)
    if problem:
        return [checks.Error(f"CADENCE_DEFAULT_TIME_ZONE={settings.CADENCE_DEFAULT_TIME_ZONE!r}: {problem}",
                             id="clinic.E003")]
    return []
