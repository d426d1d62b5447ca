"""The Spanish PHQ-9 is the published Spanish (USA) version, word for word (docs/translation.md).

The wording below is the Pfizer PHQ screeners' "Cuestionario sobre la salud del paciente-9" (Spanish for the
USA) as clinics and apps reproduce it; it was compared with several independent public reproductions of that
form (the same stem, items, answers and difficulty question, word for word). A catalogue edit that changes a
word of a validated instrument fails here, so it is made on purpose (for another national version) or not at all.
"""

from __future__ import annotations

from django.utils import translation

from web.dashboard.forms import PHQ9_QUESTIONS
from web.recorder.views import DIFFICULTY_CHOICES, PHQ9_CHOICES

STEM = "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los siguientes problemas?"
ITEMS = [
    "Poco interés o placer en hacer cosas",
    "Se ha sentido decaído(a), deprimido(a) o sin esperanzas",
    "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
    "Se ha sentido cansado(a) o con poca energía",
    "Sin apetito o ha comido en exceso",
    "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con usted mismo(a) o con su "
    "familia",
    "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el periódico o ver la televisión",
    "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo contrario – muy inquieto(a) "
    "o agitado(a) que ha estado moviéndose mucho más de lo normal",
    "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
]
ANSWERS = ["Ningún día", "Varios días", "Más de la mitad de los días", "Casi todos los días"]
DIFFICULTY_STEM = ("Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas para "
                   "hacer su trabajo, encargarse de las tareas del hogar, o llevarse bien con otras personas?")
DIFFICULTY = ["No ha sido difícil", "Un poco difícil", "Muy difícil", "Extremadamente difícil"]


def test_the_spanish_phq9_is_the_published_text_in_the_published_order():
    with translation.override("es"):
        assert [translation.gettext(q) for q in PHQ9_QUESTIONS] == ITEMS
        assert [(score, str(label)) for score, label in PHQ9_CHOICES] == list(enumerate(ANSWERS))
        assert [(score, str(label)) for score, label in DIFFICULTY_CHOICES] == list(enumerate(DIFFICULTY))
        assert translation.gettext(
            "Over the last 2 weeks, how often have you been bothered by any of the following problems?") == STEM
        assert translation.gettext(
            "If you checked off any problems, how difficult have these problems made it for you to do your work, "
            "take care of things at home, or get along with other people?") == DIFFICULTY_STEM
