"""Why a recording or an uploaded file was not used, said in the reader's language.

One sentence per code: a recording's ``status_code`` (:class:`clinic.models.Recording`: the quality gate's, the
audio errors' of :mod:`voice_features`, and processing's own) and an upload's refusal ``error`` code. The stored or
raised English sentence carries the measured values (a level in dB, a length in seconds); a reader whose language
is not English gets the translated sentence of its code instead, without the values.
"""

from django.utils.translation import gettext_lazy

from clinic.languages import active_language

__all__ = ["REASON_TEXTS", "english_reader", "reason_text"]

REASON_TEXTS = {
    # The quality gate.
    "no_speech": gettext_lazy("No speech was detected in the recording."),
    "too_little_speech": gettext_lazy("Too little speech in the recording."),
    "too_quiet": gettext_lazy("The recording is too quiet."),
    "too_noisy": gettext_lazy("The recording is too noisy (signal-to-noise ratio below the minimum)."),
    "clipped": gettext_lazy("The recording is heavily clipped."),
    # The audio errors (voice_features.errors).
    "too_long": gettext_lazy("The recording is longer than the limit."),
    "truncated": gettext_lazy("The file is cut short."), "corrupt": gettext_lazy("The file is damaged."),
    "empty": gettext_lazy("The file is empty."), "not_audio": gettext_lazy("The file is not audio."),
    "unsupported_format": gettext_lazy("The file's format is not supported."),
    "unsupported_rate": gettext_lazy("The file's sample rate is not supported."),
    "no_audio_stream": gettext_lazy("The file holds no audio."),
    "too_many_channels": gettext_lazy("The file has more audio channels than the service accepts."),
    "non_finite": gettext_lazy("The audio contains invalid samples."),
    # Processing.
    "processing_failed": gettext_lazy("Processing failed because of a problem on our side; the recording is kept."),
    "not_finished": gettext_lazy("Processing did not finish after repeated attempts."),
    "retrying": gettext_lazy("An attempt failed because of a problem on our side; it will be tried again."),
}


def english_reader() -> bool:
    """Is the active language English? Then a stored English sentence, with its measured values, is shown as it is."""
    return active_language() == "en"


def reason_text(code: str | None, english: str) -> str:
    """``english`` (the stored or raised sentence, with its values) for an English reader or an unknown code; else
    the code's sentence in the active language."""
    if not code or code not in REASON_TEXTS or english_reader():
        return english
    return str(REASON_TEXTS[code])
