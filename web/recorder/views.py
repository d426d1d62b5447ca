"""The patient's recorder: a page shell with no patient data (the phone's token fetches that through the API)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from web.dashboard.forms import PHQ9_QUESTIONS
from web.recorder.tasks import recorder_config

PHQ9_CHOICES = ((0, _("Not at all")), (1, _("Several days")), (2, _("More than half the days")),
                (3, _("Nearly every day")))
DIFFICULTY_CHOICES = ((0, _("Not difficult at all")), (1, _("Somewhat difficult")), (2, _("Very difficult")),
                      (3, _("Extremely difficult")))


def _urls() -> dict[str, str]:
    return {"recordings": reverse("recording-list"), "recording": reverse("recording-detail", args=[0]),
            "phq9": reverse("phq9-list"), "redeem": reverse("enrolment-redeem"), "patient": reverse("patient-self"),
            "recorder": reverse("recorder:recorder"), "serviceWorker": reverse("recorder:service-worker")}


DEFAULT_CRISIS_TEXT = _("If you are thinking about hurting yourself, or you are in danger now, please reach out "
                        "right away: these services answer at any hour.")
DEFAULT_CRISIS_CONTACTS = ((_("988 Suicide & Crisis Lifeline (call or text)"), "988"), (_("Emergency services"), "911"))


def crisis_resources(language: str) -> dict:
    """The crisis text and contacts for a language: the deployment's for that language, else its own for every
    language, else Cadence's (the US numbers, translated)."""
    own = settings.CADENCE_CRISIS_BY_LANGUAGE.get(language, {})
    text = own.get("text") or settings.CADENCE_CRISIS_TEXT or gettext(DEFAULT_CRISIS_TEXT)
    contacts = own.get("contacts") or settings.CADENCE_CRISIS_CONTACTS or [
        (str(label), number) for label, number in DEFAULT_CRISIS_CONTACTS]
    return {"text": text, "contacts": [{"label": label, "number": number} for label, number in contacts]}


@require_GET
def recorder(request: HttpRequest) -> HttpResponse:
    return render(request, "recorder/recorder.html", {
        "config": recorder_config() | {"urls": _urls()}, "crisis": crisis_resources(get_language() or settings.LANGUAGE_CODE),
        "questions": list(enumerate(PHQ9_QUESTIONS, start=1)), "choices": PHQ9_CHOICES,
        "difficulty_choices": DIFFICULTY_CHOICES,
    })


@require_GET
def enrol(request: HttpRequest) -> HttpResponse:
    response = render(request, "recorder/enrol.html", {"urls": _urls()})
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served under /r/ so that its scope covers the recorder; it keeps the page working offline."""
    response = render(request, "recorder/sw.js", content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
