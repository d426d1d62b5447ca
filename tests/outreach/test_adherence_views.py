"""Adherence in view: the patient page (schedule form, figures, delivery log), triage's missing-data filter and
order, and the validation page's adherence by site and by week since enrolment."""

from datetime import date, datetime, timedelta

from django.test import Client
from django.utils import timezone


def test_it_edits_the_schedule_and_shows_missing_data_in_triage_and_the_validation_page(cast):
    from outreach.models import ReminderSchedule

    type(cast.patient_a).objects.filter(pk=cast.patient_a.pk).update(enrolled_on=date.today() - timedelta(days=30))
    web = Client()
    web.force_login(cast.alice)
    form = {"active": "on", "weekdays": ["1", "2", "3", "4", "5", "6", "7"], "time_of_day": "09:00",
            "expiry_hours": "6", "email": "", "phone": "0176"}
    page = web.post(f"/patients/{cast.patient_a.pk}/reminders/", form, follow=True).content.decode()
    assert "E.164" in page and not ReminderSchedule.objects.exists()
    form["phone"] = "+4917612345678"
    page = web.post(f"/patients/{cast.patient_a.pk}/reminders/", form, follow=True).content.decode()
    assert "Reminder schedule saved." in page and 'id="adherence"' in page
    schedule = ReminderSchedule.objects.get(patient=cast.patient_a)
    assert schedule.weekdays == [1, 2, 3, 4, 5, 6, 7] and schedule.phone == "+4917612345678"

    # Counted from two weeks ago: every day since is missed (no recording), the last one may still be open.
    ReminderSchedule.objects.filter(pk=schedule.pk).update(starts_on=date.today() - timedelta(days=13))
    from outreach.reminders import adherence_refresh

    adherence_refresh(now=timezone.now())
    schedule.refresh_from_db()
    assert schedule.missed_14d >= 13 and schedule.adherence_14d == 0.0
    triage = web.get("/?show=missing&sort=missing").content.decode()
    assert "N-001" in triage and "missed" in triage
    assert "N-001" not in Client().get("/?show=missing").content.decode()  # login required
    validation = web.get("/reports/validation/").content.decode()
    assert 'id="adherence-by-site"' in validation and "North" in validation and 'id="adherence-by-week"' in validation

    outsider = Client()
    outsider.force_login(cast.charlie)
    assert outsider.post(f"/patients/{cast.patient_a.pk}/reminders/", form).status_code == 404
    assert "N-001" not in outsider.get("/?show=missing").content.decode()


def test_it_counts_adherence_by_week_since_enrolment():
    from zoneinfo import ZoneInfo

    from outreach.models import ReminderSchedule
    from outreach.selectors import adherence_from

    schedule = ReminderSchedule(weekdays=[1, 3, 5], time_of_day=datetime(2000, 1, 1, 9).time(), expiry_hours=12,
                                starts_on=date(2026, 11, 2))
    tz = ZoneInfo("Europe/Berlin")
    recorded = [datetime(2026, 11, 2, 8, tzinfo=tz), datetime(2026, 11, 4, 20, 59, tzinfo=tz),
                datetime(2026, 11, 6, 21, 1, tzinfo=tz)]  # before reminder time; last minute; one minute late
    figures = adherence_from(schedule=schedule, enrolled_on=date(2026, 11, 2), tz=tz, recorded=recorded,
                             now=datetime(2026, 11, 8, 12, tzinfo=tz), days=14)
    assert (figures.expected, figures.received, figures.missed_days) == (3, 2, [date(2026, 11, 6)])
