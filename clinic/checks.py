"""Start-up checks of the clinical domain: the audio encryption keys must open the stored audio."""

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
