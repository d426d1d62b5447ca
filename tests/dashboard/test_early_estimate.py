"""Early estimates: scored from the first valid recording and after a phone change, served and shown as such."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse

from clinic.models import Recording
from screening.models import Alert, RiskScore
from screening.nightly import services
from tests.support.steady_patient import N_WEEKS, T0, steady_patient


def test_recordings_waiting_for_a_baseline_get_an_early_estimate_that_raises_nothing(cast, api):
    patient = steady_patient(cast.patient_a.care_team, "E-PHONE", device_change=True, shift=True)
    services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    scores = list(RiskScore.objects.filter(patient=patient, scope="recording"))
    early = [s for s in scores if s.estimate_type == RiskScore.EstimateType.EARLY]
    personal = [s for s in scores if s.estimate_type == RiskScore.EstimateType.PERSONAL]
    # The five first recordings and the five first on the new phone: early estimates, no personal prediction.
    assert len(early) == 10 and all(s.predicted_phq9 is None for s in early)
    assert {s.deviations["reason"] for s in early} == {"first recordings", "new phone"}
    assert all(s.predicted_phq9 is not None for s in personal) and len(personal) == len(scores) - 10
    for s in early:
        estimate = s.early_estimate
        assert 0 <= estimate["predicted_phq9"] <= 27 and estimate["p_phq9_ge10"] is None  # uncalibrated: no probability
        assert estimate["calibrated"] is False and estimate["reference"]["task"] == s.task
    widest_personal = max(s.predicted_phq9_high - s.predicted_phq9_low for s in personal)
    assert min(s.early_estimate["interval"][1] - s.early_estimate["interval"][0] for s in early) > widest_personal
    # Phone changes raise nothing, and early estimates raise nothing.
    early_recordings = {s.recording_id for s in early}
    assert not Alert.objects.filter(patient=patient, recording_id__in=early_recordings).exists()
    assert not Alert.objects.filter(patient=patient, kind__in=["phq9_rise", "risk_threshold"]).exists()
    # A second run keeps them as they are.
    again = services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    assert (again["new_scores"], again["rescored"]) == (0, 0)

    timeline = api(cast.alice_token).get(f"/api/v1/patients/{patient.pk}/timeline/").json()
    assert len(timeline["early_estimates"]) == 10
    assert {e["estimate_type"] for e in timeline["early_estimates"]} == {"early"}
    assert {s["estimate_type"] for s in timeline["scores"]} == {"personal"}
    assert sum(1 for r in timeline["recordings"] if r["early_estimate"]) == 10


def test_a_new_patient_sees_an_early_estimate_from_the_first_recording(cast):
    patient = steady_patient(cast.patient_a.care_team, "E-NEW", device_change=False, shift=False)
    first = list(Recording.objects.filter(patient=patient).order_by("recorded_at"))
    Recording.objects.filter(pk__in=[r.pk for r in first[2:]]).delete()
    services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(days=7))
    client = Client()
    client.force_login(cast.alice)
    body = client.get(reverse("dashboard:patient", args=[patient.pk])).content.decode()
    assert 'id="early-estimate-notice"' in body and "Early estimate: no personal baseline yet" in body
    assert "early estimate: no personal baseline yet; interval" in body  # the summary's predicted PHQ-9
    assert body.count('<span class="early-estimate">early estimate') == 2
    assert "gives no probability and raises no alert" in body
