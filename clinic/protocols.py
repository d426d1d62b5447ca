"""Recording protocols: what the patient was asked to do, and the texts they read.

A read passage has a known syllable count, so its speech rate does not depend on the
syllable-nucleus detector; free speech, a sustained vowel and counting each keep a baseline
of their own (voice measures from different tasks are not comparable).
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from voice_features.registry import RECORDING_TASKS

#: The recording tasks as model choices (``Task.READ_PASSAGE`` = "read_passage"), from their one declaration
#: in ``voice_features.registry.RECORDING_TASKS``.
Task = models.TextChoices("Task", [(task.name.upper(), (task.name, task.label)) for task in RECORDING_TASKS])


@dataclass(frozen=True)
class Passage:
    key: str
    title: str
    text: str
    syllables: int  # English: CMU Pronouncing Dictionary; Spanish: counted by hand (tests recount both independently)
    source: str
    language: str = "en"


PASSAGES: dict[str, Passage] = {p.key: p for p in (
    Passage(
        key="north_wind",
        title="The North Wind and the Sun",
        text=("The North Wind and the Sun were disputing which was the stronger, when a traveler came along "
              "wrapped in a warm cloak. They agreed that the one who first succeeded in making the traveler take "
              "his cloak off should be considered stronger than the other. Then the North Wind blew as hard as he "
              "could, but the more he blew the more closely did the traveler fold his cloak around him; and at last "
              "the North Wind gave up the attempt. Then the Sun shined out warmly, and immediately the traveler took "
              "off his cloak. And so the North Wind was obliged to confess that the Sun was the stronger of the two."),
        syllables=144,
        source="Aesop; the English text of the Handbook of the International Phonetic Association (1999). Public domain.",
    ),
    Passage(
        key="rainbow",
        title="The Rainbow Passage (first paragraph)",
        text=("When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. The rainbow "
              "is a division of white light into many beautiful colors. These take the shape of a long round arch, "
              "with its path high above, and its two ends apparently beyond the horizon. There is, according to "
              "legend, a boiling pot of gold at one end. People look, but no one ever finds it. When a man looks for "
              "something beyond his reach, his friends say he is looking for the pot of gold at the end of the "
              "rainbow."),
        syllables=127,
        source="Fairbanks, Voice and Articulation Drillbook (1960). Public domain.",
    ),
    Passage(
        key="viento_norte",
        title="El viento norte y el sol",
        text=("El viento norte y el sol porfiaban sobre cuál de ellos era el más fuerte, cuando acertó a pasar un "
              "viajero envuelto en ancha capa. Convinieron en que quien antes lograra obligar al viajero a quitarse "
              "la capa sería considerado más poderoso. El viento norte sopló con gran furia, pero cuanto más "
              "soplaba, más se arrebujaba en su capa el viajero; por fin el viento norte abandonó la empresa. "
              "Entonces brilló el sol con ardor, e inmediatamente se despojó de su capa el viajero; por lo que el "
              "viento norte hubo de reconocer la superioridad del sol."),
        syllables=183,
        source=("Aesop; the traditional Spanish text (Navarro Tomás, in the IPA's Principles, 1949), as printed in "
                "Martínez-Celdrán, Fernández-Planas & Carrera-Sabaté, 'Castilian Spanish', Journal of the IPA 33(2), "
                "2003, 255-259. Orthographic text only; see docs/translation.md for its licence position."),
        language="es",
    ),
)}

# English msgids, translated where they are shown (web/recorder/tasks.py; locale/*/LC_MESSAGES/django.po).
FREE_SPEECH_PROMPTS: dict[str, str] = {
    "day": gettext_noop("Tell us about your day so far: what you did and how it went."),
    "week_ahead": gettext_noop("What are you looking forward to, or worried about, in the coming week?"),
    "place": gettext_noop("Describe a place you like to be, and what it is like to be there."),
}

INSTRUCTIONS: dict[str, str] = {
    Task.SUSTAINED_VOWEL: gettext_noop("Take a breath and say 'aaah' at a comfortable pitch and loudness for as long "
                                       "as you can."),
    Task.COUNTING: gettext_noop("Count aloud from one to twenty at your usual pace."),
}


def passages_for(language: str) -> list[Passage]:
    """The passages offered in a language (its primary subtag), or the English ones where it has none."""
    primary = language.split("-")[0].lower()
    return [p for p in PASSAGES.values() if p.language == primary] or [
        p for p in PASSAGES.values() if p.language == "en"]


class UnknownTaskDetail(ValueError):
    """The passage or prompt named for a recording is not one the clinic offers."""


def task_detail_check(*, task: str, detail: str) -> str:
    """The validated detail of a task: a passage key for a read passage, a prompt key for free speech."""
    if task == Task.READ_PASSAGE:
        if detail not in PASSAGES:
            raise UnknownTaskDetail(_("A read passage must name one of: %(passages)s.") % {
                "passages": ", ".join(sorted(PASSAGES))})
        return detail
    if task == Task.FREE_SPEECH:
        if detail and detail not in FREE_SPEECH_PROMPTS:
            raise UnknownTaskDetail(_("A free-speech prompt must be one of: %(prompts)s.") % {
                "prompts": ", ".join(sorted(FREE_SPEECH_PROMPTS))})
        return detail
    if detail:
        raise UnknownTaskDetail(_("The task %(task)s takes no passage or prompt.") % {"task": task})
    return ""


def known_syllables(*, task: str, detail: str) -> int | None:
    """The syllable count of what was read, when the patient read a known text."""
    return PASSAGES[detail].syllables if task == Task.READ_PASSAGE and detail in PASSAGES else None
