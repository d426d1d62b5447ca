"""Patient page: a new phone is shown in the recordings table, and the plots keep the free-speech baseline."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse

from screening.models import BaselineSnapshot
from screening.nightly import services
from tests.support.steady_patient import N_WEEKS, T0, steady_patient


def test_the_patient_page_shows_a_new_phone_and_its_pending_baseline(cast):
    patient = steady_patient(cast.patient_a.care_team, "N-PHONE", device_change=True, shift=True)
    services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    client = Client()
    client.force_login(cast.alice)
    body = client.get(reverse("dashboard:patient", args=[patient.pk])).content.decode()
    assert 'id="new-phone-notice"' in body and "(iPhone 13)" in body and "The new baseline is complete (5 recordings" in body
    assert body.count('<span class="flag new-phone">new phone</span>') == 1
    assert body.count("baseline pending (new phone)") == 5
    assert body.count("baseline pending (first recordings)") == 5


def test_the_plots_keep_the_free_speech_baseline_when_another_task_was_built_later(cast):
    from web.dashboard.views import _plot_data

    patient = steady_patient(cast.patient_a.care_team, "N-TASKS", device_change=False, shift=False)
    services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    free = BaselineSnapshot.objects.filter(patient=patient).order_by("built_at").last()
    BaselineSnapshot.objects.create(patient=patient, built_at=free.built_at + timedelta(days=1), task="counting",
                                    payload={**free.payload, "features": {"speech_rate_syl_s": {
                                        "median": 99.0, "scale": 1.0, "n": 5}}}, n_recordings=5)
    from screening.selectors import patient_timeline

    band = _plot_data(patient_timeline(patient=patient))["features"]["speech_rate_syl_s"]["baseline"]
    assert band["median"] == free.payload["features"]["speech_rate_syl_s"]["median"] != 99.0


def test_a_new_phone_re_enrols_the_speaker_check_instead_of_flagging_the_patient(cast):
    import numpy as np

    from clinic.processing.models import FeatureSet
    from voice_features.speaker import SPEAKER_MISMATCH_THRESHOLD, enrolment_centroid, speaker_similarity

    # The new phone's channel moves the same voice to similarity 0.78 (below the 0.87 threshold) ...
    patient = steady_patient(cast.patient_a.care_team, "N-CHANNEL", device_change=True, shift=False,
                             channel_similarity=0.78)
    sets = list(FeatureSet.objects.filter(recording__patient=patient).order_by("recording__recorded_at"))
    before = [fs for fs in sets if fs.recording.device_model == "Galaxy A52"]
    after = [fs for fs in sets if fs.recording.device_model == "iPhone 13"]
    # ... and someone else speaks the last recording on the new phone.
    stranger = after[-1]
    stranger.embedding = {**stranger.embedding, "vector": [-v for v in stranger.embedding["vector"]]}
    stranger.save(update_fields=["embedding"])
    services.patients_screen(patient_ids=[patient.pk], now=T0 + timedelta(weeks=N_WEEKS))
    flagged = set(FeatureSet.objects.filter(recording__patient=patient, speaker_mismatch=True)
                  .values_list("pk", flat=True))
    assert flagged == {stranger.pk}
    similarity = dict(FeatureSet.objects.filter(recording__patient=patient).values_list("pk", "speaker_similarity"))
    assert min(similarity[fs.pk] for fs in after[:-1]) > SPEAKER_MISMATCH_THRESHOLD  # against the new enrolment
    # what the first phone's enrolment alone would have said: every new-phone recording another speaker
    first = enrolment_centroid([np.asarray(fs.embedding["vector"]) for fs in before[:3]])
    assert max(speaker_similarity(np.asarray(fs.embedding["vector"]), first) for fs in after) < SPEAKER_MISMATCH_THRESHOLD


def test_the_patient_page_says_why_features_of_a_recording_are_left_out(cast):
    from clinic.processing.models import FeatureSet

    patient = steady_patient(cast.patient_a.care_team, "N-WITHHELD", device_change=False, shift=False)
    fs = FeatureSet.objects.filter(recording__patient=patient).order_by("-recording__recorded_at").first()
    reason = "AMR-NB 12.2 kbit/s moved jitter by up to 8.6 % in our codec measurements."
    fs.quality = {**fs.quality, "withheld_features": {"jitter_local": reason, "shimmer_local": reason}}
    fs.save(update_fields=["quality"])
    client = Client()
    client.force_login(cast.alice)
    body = client.get(reverse("dashboard:patient", args=[patient.pk])).content.decode()
    assert body.count('<details class="withheld">') == 1
    assert f"<strong>Jitter, Shimmer</strong>: {reason}" in body
