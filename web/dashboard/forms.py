"""Dashboard forms: triage filter, PHQ-9 entry, alert notes, emotion labels."""

from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.utils import timezone, translation
from django.utils.translation import gettext_noop

from clinic.accounts import staff_language
from clinic.services import Phq9Rejected, phq9_answered_at_check
from web.dashboard.selectors import TRIAGE_FILTERS
from web.locale import supported_language

__all__ = ["StaffPasswordResetForm", "PHQ9_QUESTIONS", "TriageFilterForm", "Phq9Form", "AlertNoteForm"]


class StaffPasswordResetForm(PasswordResetForm):
    """Django's reset form, whose e-mail speaks the recipient's own language (their StaffProfile), not the one of
    whoever asked for it."""

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        language = supported_language(staff_language(context["user"])) or translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


#: The nine PHQ-9 questions ("Over the last 2 weeks, how often have you been bothered by...") as English msgids;
#: the Spanish catalogue holds the published Spanish version (Pfizer PHQ screeners, Spanish for the USA; see
#: docs/translation.md). Item order and scoring are the same in every language.
PHQ9_QUESTIONS = (
    gettext_noop("Little interest or pleasure in doing things"),
    gettext_noop("Feeling down, depressed, or hopeless"),
    gettext_noop("Trouble falling or staying asleep, or sleeping too much"),
    gettext_noop("Feeling tired or having little energy"),
    gettext_noop("Poor appetite or overeating"),
    gettext_noop("Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
    gettext_noop("Trouble concentrating on things, such as reading the newspaper or watching television"),
    gettext_noop("Moving or speaking so slowly that other people could have noticed, or the opposite — being so "
                 "fidgety or restless that you have been moving around a lot more than usual"),
    gettext_noop("Thoughts that you would be better off dead, or of hurting yourself in some way"),
)
FREQUENCY = [(0, "0 Not at all"), (1, "1 Several days"), (2, "2 More than half the days"), (3, "3 Nearly every day")]
DIFFICULTY = [("", "Not answered"), (0, "Not difficult at all"), (1, "Somewhat difficult"), (2, "Very difficult"),
              (3, "Extremely difficult")]


class TriageFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False, label="Show",
        choices=[("all", "All patients"), ("alerts", "With open alerts"), ("overdue", "Overdue recording"),
                 ("problems", "Processing problems")],
    )
    q = forms.CharField(required=False, max_length=64, label="Patient code")

    def cleaned(self) -> tuple[str, str]:
        if not self.is_valid():
            return "all", ""
        show = self.cleaned_data.get("show") or "all"
        return (show if show in TRIAGE_FILTERS else "all"), self.cleaned_data.get("q") or ""


class Phq9Form(forms.Form):
    answered_at = forms.DateTimeField(
        label="Answered at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    difficulty = forms.TypedChoiceField(choices=DIFFICULTY, coerce=int, empty_value=None, required=False,
                                        label="How difficult have these problems made daily life?")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for number, question in enumerate(PHQ9_QUESTIONS, start=1):
            self.fields[f"item{number}"] = forms.TypedChoiceField(
                choices=FREQUENCY, coerce=int, widget=forms.RadioSelect, label=f"{number}. {question}")
        self.fields["difficulty"] = self.fields.pop("difficulty")  # after the nine items
        if not self.is_bound:
            self.initial.setdefault("answered_at", timezone.localtime().strftime("%Y-%m-%dT%H:%M"))

    def clean_answered_at(self):
        value = self.cleaned_data["answered_at"]
        try:
            phq9_answered_at_check(value)
        except Phq9Rejected as exc:
            raise forms.ValidationError(exc.message) from None
        return value

    @property
    def items(self) -> list[int]:
        return [self.cleaned_data[f"item{n}"] for n in range(1, 10)]

    def item_fields(self):
        return [self[f"item{n}"] for n in range(1, 10)]


class AlertNoteForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note",
                           widget=forms.Textarea(attrs={"rows": 2}))


