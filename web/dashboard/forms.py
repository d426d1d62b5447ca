"""Dashboard forms: triage filter, patient enrolment and details, PHQ-9 entry, alert notes, emotion labels."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from clinic.accounts import staff_language
from clinic.models import PATIENT_CODE_PATTERN, CareTeam, Patient
from clinic.services import BCP47_PATTERN, Phq9Rejected, phq9_answered_at_check, time_zone_problem
from web.dashboard.selectors import TRIAGE_FILTERS, TRIAGE_SORTS
from web.locale import supported_language

__all__ = ["StaffPasswordResetForm", "PHQ9_QUESTIONS", "SEX_LABELS", "TriageFilterForm", "PatientDetailsForm", "PatientAddForm",
           "Phq9Form", "AlertNoteForm", "ReminderScheduleForm", "TeamChannelForm", "TIME_ZONES"]

#: Patient.Sex (stored in English) as the reader's language names it.
SEX_LABELS = {Patient.Sex.FEMALE: _("Female"), Patient.Sex.MALE: _("Male"), Patient.Sex.OTHER: _("Other"),
              Patient.Sex.UNKNOWN: _("Unknown")}

#: IANA names offered as the time-zone field's suggestions (any valid name is accepted).
TIME_ZONES = sorted(name for name in available_timezones() if "/" in name and not name.startswith(("Etc/", "SystemV/")))


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
#: The answers (score, then the same words as the patient's questionnaire: web/recorder/views.py, whose Spanish is
#: the published version) and the difficulty question's answers.
FREQUENCY = [(score, format_lazy("{} {}", score, text)) for score, text in (
    (0, _("Not at all")), (1, _("Several days")), (2, _("More than half the days")), (3, _("Nearly every day")))]
DIFFICULTY = [("", _("Not answered")), (0, _("Not difficult at all")), (1, _("Somewhat difficult")),
              (2, _("Very difficult")), (3, _("Extremely difficult"))]


class TriageFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False, label=_("Show"),
        choices=[("all", _("All patients")), ("alerts", _("With open alerts")), ("overdue", _("Overdue recording")),
                 ("problems", _("Processing problems")),
                 ("missing", _("Missing data (missed recordings, 2 weeks)"))],
    )
    q = forms.CharField(required=False, max_length=64, label=_("Patient code"))
    sort = forms.ChoiceField(required=False, label=_("Order"), choices=[
        ("priority", _("Most urgent first")), ("missing", _("Most missed recordings first"))])

    def cleaned(self) -> tuple[str, str]:
        if not self.is_valid():
            return "all", ""
        show = self.cleaned_data.get("show") or "all"
        return (show if show in TRIAGE_FILTERS else "all"), self.cleaned_data.get("q") or ""

    def sort_order(self) -> str:
        sort = (self.cleaned_data.get("sort") if self.is_valid() else "") or "priority"
        return sort if sort in TRIAGE_SORTS else "priority"


class PatientDetailsForm(forms.Form):
    """What a clinician records about a patient and may change later (the API's and the admin's fields)."""

    sex = forms.ChoiceField(label=_("Sex"), choices=[(value, SEX_LABELS.get(value, label))
                                                     for value, label in Patient.Sex.choices],
                            initial=Patient.Sex.UNKNOWN)
    birth_year = forms.IntegerField(label=_("Birth year"), required=False, min_value=1900, max_value=2100,
                                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    language = forms.CharField(label=_("Language"), max_length=16, initial="en",
                               help_text=_("The language the patient speaks in recordings: a tag such as en, es or "
                                           "de-AT."))
    timezone = forms.CharField(label=_("Time zone"), max_length=64,
                               help_text=_("Where the patient lives, e.g. Europe/Madrid: the patient's days and "
                                           "reminders follow it."),
                               widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}))
    consent_version = forms.CharField(label=_("Consent form version"), max_length=32, required=False)
    consent_date = forms.DateField(label=_("Consent given on"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, patient: Patient | None = None, **kwargs) -> None:
        if patient is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(patient, name) for name in
                                 ("sex", "birth_year", "language", "timezone", "consent_version")}
            if patient.consent_given_at:
                zone = ZoneInfo(patient.timezone) if not time_zone_problem(patient.timezone) else UTC
                kwargs["initial"]["consent_date"] = patient.consent_given_at.astimezone(zone).date()
        super().__init__(*args, **kwargs)
        self.fields["timezone"].initial = settings.CADENCE_DEFAULT_TIME_ZONE
        self.fields["language"].initial = settings.CADENCE_DEFAULT_PATIENT_LANGUAGE

    def clean_language(self) -> str:
        value = self.cleaned_data["language"].strip()
        if not BCP47_PATTERN.fullmatch(value):
            raise forms.ValidationError(_("A language tag such as en, es or de-AT."))
        return value

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        problem = time_zone_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_consent_date(self):
        value = self.cleaned_data.get("consent_date")
        if value and value > timezone.localdate() + timedelta(days=1):
            raise forms.ValidationError(_("Consent cannot be given in the future."))
        return value

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("consent_version")) != bool(data.get("consent_date")):
            self.add_error("consent_date" if data.get("consent_version") else "consent_version",
                           _("Record consent with both the form's version and the date it was given."))
        return data

    def patient_fields(self) -> dict:
        """The cleaned form as the service's keyword arguments (consent on its date, noon in the patient's zone)."""
        data = self.cleaned_data
        given = data.get("consent_date")
        return {
            "sex": data["sex"], "birth_year": data.get("birth_year"), "language": data["language"],
            "timezone": data["timezone"], "consent_version": data.get("consent_version") or "",
            "consent_given_at": datetime.combine(given, time(12), tzinfo=ZoneInfo(data["timezone"])) if given else None,
        }


class PatientAddForm(PatientDetailsForm):
    """Enrolment: the pseudonymous code, and the care team where the clinician is in several."""

    code = forms.RegexField(label=_("Patient code"), max_length=64, regex=PATIENT_CODE_PATTERN,
                            help_text=_("A pseudonym of letters, digits, '-' and '_': never the patient's name."),
                            error_messages={"invalid": _("A patient code may contain only letters, digits, '-' "
                                                         "and '_'.")})
    care_team = forms.ModelChoiceField(label=_("Care team"), queryset=CareTeam.objects.none(), required=False,
                                       empty_label=None)
    field_order = ["code", "care_team"]

    def __init__(self, *args, teams, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.teams = list(teams)
        if len(self.teams) > 1:
            self.fields["care_team"].queryset = CareTeam.objects.filter(pk__in=[t.pk for t in self.teams])
            self.fields["care_team"].required = True
        else:
            del self.fields["care_team"]
        self.order_fields(self.field_order)

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if Patient.objects.filter(code=code).exists():
            raise forms.ValidationError(_("A patient with this code is already enrolled; choose another code."))
        return code

    def chosen_team(self) -> CareTeam | None:
        return self.cleaned_data.get("care_team") or (self.teams[0] if len(self.teams) == 1 else None)


class Phq9Form(forms.Form):
    answered_at = forms.DateTimeField(
        label=_("Answered at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    difficulty = forms.TypedChoiceField(choices=DIFFICULTY, coerce=int, empty_value=None, required=False,
                                        label=_("How difficult have these problems made daily life?"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for number, question in enumerate(PHQ9_QUESTIONS, start=1):
            self.fields[f"item{number}"] = forms.TypedChoiceField(
                choices=FREQUENCY, coerce=int, widget=forms.RadioSelect,
                label=format_lazy("{}. {}", number, _(question)))
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
    note = forms.CharField(required=False, max_length=2000, label=_("Note"),
                           widget=forms.Textarea(attrs={"rows": 2}))


WEEKDAYS = [("1", _("Monday")), ("2", _("Tuesday")), ("3", _("Wednesday")), ("4", _("Thursday")), ("5", _("Friday")),
            ("6", _("Saturday")), ("7", _("Sunday"))]


def _zone_name(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise forms.ValidationError(_("“%(zone)s” is not a time zone name such as Europe/Berlin or America/New_York."),
                                    params={"zone": value}) from None
    return value


class ReminderScheduleForm(forms.Form):
    """When the patient is reminded to record, in the patient's own time zone."""

    active = forms.BooleanField(required=False, label=_("Send reminders"))
    weekdays = forms.MultipleChoiceField(choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple, label=_("Days"),
                                         error_messages={"required": _("Choose at least one day.")})
    time_of_day = forms.TimeField(label=_("Time of day (patient's time)"),
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    expiry_hours = forms.IntegerField(min_value=1, max_value=72, label=_("Counts as missed after (hours)"))
    email = forms.EmailField(required=False, label=_("E-mail for reminders (when the phone has no push)"))
    phone = forms.RegexField(regex=r"^\+[1-9][0-9]{6,14}$", required=False, label=_("Mobile for SMS (E.164, +...)"),
                             error_messages={"invalid": _("Write the mobile number as +country code and number, "
                                                          "digits only (E.164).")})

    def clean_weekdays(self) -> list[int]:
        return [int(d) for d in self.cleaned_data["weekdays"]]


class TeamChannelForm(forms.Form):
    """How a care team is reached outside the dashboard (leads and administrators)."""

    webhook_url = forms.URLField(required=False, label=_("Webhook URL (paging or chat tool)"), assume_scheme="https")
    rotate_secret = forms.BooleanField(required=False, label=_("Make a new signing secret"))
    quiet_start = forms.TimeField(required=False, label=_("Quiet hours from"),
                                  widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    quiet_end = forms.TimeField(required=False, label=_("until"),
                                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    time_zone = forms.CharField(max_length=64, initial="UTC", label=_("Time zone of the quiet hours"))

    def clean_time_zone(self) -> str:
        return _zone_name(self.cleaned_data["time_zone"].strip())

    def clean(self):
        data = super().clean()
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            raise forms.ValidationError(_("Give both ends of the quiet hours, or neither."))
        return data
