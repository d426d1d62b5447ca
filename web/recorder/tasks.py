"""Today's speaking task: a read passage, a free-speech prompt or a sustained vowel, in turn by day."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

#: The standard phonetic passage (Aesop), read aloud in many speech studies.
NORTH_WIND = _(
    "The North Wind and the Sun were disputing which was the stronger, when a traveler came along wrapped in a "
    "warm cloak. They agreed that the one who first succeeded in making the traveler take his cloak off should "
    "be considered stronger than the other. Then the North Wind blew as hard as he could, but the more he blew "
    "the more closely did the traveler fold his cloak around him; and at last the North Wind gave up the "
    "attempt. Then the Sun shone out warmly, and immediately the traveler took off his cloak. And so the North "
    "Wind was obliged to confess that the Sun was the stronger of the two."
)

FREE_SPEECH_PROMPTS = (
    _("Tell us about what you did yesterday, from the morning to the evening."),
    _("Describe a place you like to be, and what it looks and sounds like."),
    _("Talk about a meal you enjoyed recently: what it was, and who you shared it with."),
    _("Tell us about your plans for the coming week."),
)


def recorder_tasks() -> list[dict]:
    """The tasks in the order the recorder cycles through them (one per day, by the phone's calendar)."""
    return [
        {"code": "read_passage", "title": str(_("Read this passage aloud")),
         "instructions": str(_("Read at your usual pace and in your usual voice, as if reading to a friend.")),
         "texts": [str(NORTH_WIND)], "target_s": 30},
        {"code": "free_speech", "title": str(_("Talk freely for about a minute")),
         "instructions": str(_("There are no right or wrong answers. Speak as you normally would.")),
         "texts": [str(prompt) for prompt in FREE_SPEECH_PROMPTS], "target_s": 60},
        {"code": "sustained_vowel", "title": str(_("Hold a steady “aah”")),
         "instructions": str(_("Take a comfortable breath, then say “aah” at a steady, comfortable pitch and "
                               "loudness for as long as you can (at least 5 seconds). Repeat it twice.")),
         "texts": [], "target_s": 15},
    ]


def recorder_messages() -> dict[str, str]:
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
        "tooQuiet": str(_("We could hardly hear you. Move somewhere quieter or closer to the phone and speak "
                          "in your usual voice, then record again.")),
        "clipped": str(_("The sound was so loud that it got distorted. Hold the phone a little further away, "
                         "then record again.")),
        "checkOk": str(_("This recording sounds good. Listen to it if you like, then send it.")),
        "noMicrophone": str(_("The microphone could not be used. Allow this page to use the microphone in "
                              "your browser's settings, then try again.")),
        "noRecorder": str(_("This browser cannot record audio. Please use a recent Chrome, Firefox or Safari.")),
        "notLinked": str(_("This phone is not linked to your care team yet. Open the link or scan the QR code "
                           "your care team gave you.")),
        "tokenRevoked": str(_("This phone is no longer linked (the link was withdrawn). Your recordings are kept "
                              "here; ask your care team for a new link.")),
        "failed": str(_("The service could not process this recording. Your care team can see it.")),
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
    """Everything the recorder page's script needs, sent as JSON in the page."""
    return {
        "tasks": recorder_tasks(),
        "minDurationS": settings.CADENCE_MIN_DURATION_S,
        "maxDurationS": min(settings.CADENCE_MAX_DURATION_S, 10 * 60),
        "maxBytes": settings.CADENCE_MAX_UPLOAD_BYTES,
        "phq9IntervalDays": settings.CADENCE_PHQ9_SELF_REPORT_DAYS,
        "messages": recorder_messages(),
    }
