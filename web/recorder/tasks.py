"""Today's speaking task for the recorder: the clinic's protocols (clinic.protocols), in turn by day."""

import math

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from clinic.protocols import FREE_SPEECH_PROMPTS, INSTRUCTIONS, Task, passages_for

#: Faster than any fluent reader (about 4-5 syllables/s): a shorter take of a passage stopped early, and its
#: speech rate (computed from the passage's syllable count) would be wrong.
FASTEST_READING_SYL_S = 7.0


def recorder_tasks() -> list[dict]:
    """The tasks in the order the recorder cycles through them (one a day by the phone's calendar).

    ``texts`` are ``{"detail", "text"}``: the passage or prompt key sent with the take as ``task_detail``.
    Passages are shown as written, in the page's language (``clinic.protocols.passages_for``): a read passage's
    speech rate is computed from its known syllable count.
    """
    return [
        {"code": Task.READ_PASSAGE.value, "title": str(_("Read this passage aloud")),
         "instructions": str(_("Read at your usual pace and in your usual voice, as if reading to a friend.")),
         "texts": [{"detail": p.key, "text": p.text, "minS": math.ceil(p.syllables / FASTEST_READING_SYL_S)}
                   for p in passages_for(get_language() or settings.LANGUAGE_CODE)]},
        {"code": Task.FREE_SPEECH.value, "title": str(_("Talk freely for about a minute")),
         "instructions": str(_("There are no right or wrong answers. Speak as you normally would.")),
         "texts": [{"detail": key, "text": str(_(text))} for key, text in FREE_SPEECH_PROMPTS.items()]},
        {"code": Task.SUSTAINED_VOWEL.value, "title": str(_("Hold a steady “aah”")),
         "instructions": str(_(INSTRUCTIONS[Task.SUSTAINED_VOWEL])) + " " + str(_("Keep going for at least 5 "
                                                                                  "seconds.")),
         "texts": []},
    ]


#: Sentences both the on-device check and the server's verdict use.
TOO_QUIET = _("We could hardly hear you. Move somewhere quieter or closer to the phone and speak in your usual "
              "voice, then record again.")
CLIPPED = _("The sound was so loud that it got distorted. Hold the phone a little further away, then record again.")
NOT_PROCESSED = _("The service could not process this recording. Your care team can see it.")


def recorder_reasons() -> dict[str, str]:
    """What the phone says about a take the server could not use, by its ``status_code`` (or the upload
    error's code); ``other`` for any code not listed."""
    again = str(_("The file did not arrive whole. Please record again."))
    return {
        "no_speech": str(_("We could not hear any speech in this recording. Please record again, speaking in "
                           "your usual voice.")),
        "too_little_speech": str(_("There was not enough speech in this recording. Please record again and keep "
                                   "talking a little longer.")),
        "too_quiet": str(TOO_QUIET),
        "too_noisy": str(_("There was too much noise around you. Move somewhere quieter, then record again.")),
        "clipped": str(CLIPPED),
        "too_long": str(_("This recording is longer than the service accepts. Please record a shorter one.")),
        "corrupt": again, "truncated": again, "empty": again, "not_audio": again,
        "processing_failed": str(NOT_PROCESSED), "not_finished": str(NOT_PROCESSED),
        "other": str(_("This recording could not be used. Please record again.")),
    }


def recorder_messages() -> dict:
    """Sentences the page's script shows, translated on the server ({n} and {s} are filled in by the script)."""
    return {
        "queued": str(_("Waiting to send — kept safely on this phone")),
        "sending": str(_("Sending…")),
        "sent": str(_("Sent — being checked")),
        "processed": str(_("Received and processed. Thank you!")),
        "rejected": str(_("Not usable")),
        "offline": str(_("You are offline. Recordings are kept on this phone and sent when you are back online.")),
        "online": str(_("Online.")),
        "tooShort": str(_("The recording is only {n} seconds long. Please record at least {s} seconds.")),
        "stoppedEarly": str(_("This recording is {n} seconds long: it looks like you stopped before the end of the "
                              "passage. Please read the whole passage, from the first word to the last.")),
        "tooQuiet": str(TOO_QUIET),
        "clipped": str(CLIPPED),
        "checkOk": str(_("This recording sounds good. Listen to it if you like, then send it.")),
        "noMicrophone": str(_("The microphone could not be used. Allow this page to use the microphone in "
                              "your browser's settings, then try again.")),
        "noRecorder": str(_("This browser cannot record audio. Please use a recent Chrome, Firefox or Safari.")),
        "insecure": str(_("This page was opened over an unprotected connection (an address starting with "
                          "http://), and browsers only let secure pages use the microphone. Nothing is wrong "
                          "with your phone: ask your care team for a link that starts with https://.")),
        "notLinked": str(_("This phone is not linked to your care team yet. Open the link or scan the QR code "
                           "your care team gave you.")),
        "tokenRevoked": str(_("This phone is no longer linked (the link was withdrawn). Your recordings are kept "
                              "here; ask your care team for a new link.")),
        "failed": str(NOT_PROCESSED),
        # Why a take was not usable, by the server's status_code (docs/api.md), in the patient's words.
        "reasons": recorder_reasons(),
        "phq9Due": str(_("Your care team asks you to answer these questions today.")),
        "phq9NotDue": str(_("Thank you, no questionnaire is due. The next one is due on {s}.")),
        "phq9Sent": str(_("Thank you. Your answers have been sent to your care team.")),
        "phq9Alerted": str(_("Because of your answer to question 9, your care team has been alerted.")),
        "phq9Missing": str(_("Please answer all nine questions (question {n} has no answer yet).")),
        "phq9Offline": str(_("Your answers could not be sent because there is no connection. They are still on "
                             "this page: press Send answers again when you are online. If you need help now, "
                             "call one of the numbers shown.")),
        "phq9Error": str(_("Your answers could not be sent: {s}")),
        "recordedOn": str(_("Recorded {s}")),
    }


def recorder_config() -> dict:
    """Everything the recorder page's script needs, sent as JSON in the page (in the page's language, which the
    script also sends with each take as the language spoken)."""
    return {
        "language": get_language() or settings.LANGUAGE_CODE,
        "languages": [code for code, _name in settings.LANGUAGES],
        "tasks": recorder_tasks(),
        "minDurationS": settings.CADENCE_MIN_DURATION_S,
        "maxDurationS": min(settings.CADENCE_MAX_DURATION_S, 10 * 60),
        "maxBytes": settings.CADENCE_MAX_UPLOAD_BYTES,
        "phq9IntervalDays": settings.CADENCE_PHQ9_SELF_REPORT_DAYS,
        "messages": recorder_messages(),
    }
