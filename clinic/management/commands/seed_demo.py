"""Seed the demo cohort through the real upload service and pipeline (idempotent)."""

from datetime import timedelta

import numpy as np
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from clinic import demo
from clinic.models import CareTeam, Patient
from clinic.services import patient_create, phq9_record, recording_ingest

DEMO_USER, DEMO_PASSWORD = "demo", "demo-password-2026"


class Command(BaseCommand):
    help = "Create the demo clinician, a dozen patients with recordings and PHQ-9s (skips what exists)."

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, default=12)
        parser.add_argument("--weeks", type=int, default=10)
        parser.add_argument("--per-week", type=int, default=3)

    def handle(self, *args, patients: int, weeks: int, per_week: int, **options):
        team, user = self._team_and_user()
        now = timezone.now()
        created = 0
        for n, plan in enumerate(demo.demo_patients(patients)):
            if Patient.objects.filter(code=plan.code).exists():
                continue
            self._seed_patient(team, plan, weeks=weeks, per_week=per_week, now=now, seed=100 + n)
            created += 1
            self.stdout.write(f"  {plan.code}: {plan.voice}, PHQ-9 {plan.phq9_start:.0f} "
                              f"{'+' if plan.phq9_slope_per_week >= 0 else ''}{plan.phq9_slope_per_week}/week")
        self.stdout.write(self.style.SUCCESS(
            f"Demo cohort ready ({created} new patients; recordings are processed by the worker). "
            f"Log in as {DEMO_USER} / {DEMO_PASSWORD}."))

    def _team_and_user(self) -> tuple[CareTeam, User]:
        team, _ = CareTeam.objects.get_or_create(name="Demo clinic")
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            user = User.objects.create_user(DEMO_USER, password=DEMO_PASSWORD, is_staff=True, is_superuser=True,
                                            first_name="Demo", last_name="Clinician")
        team.members.add(user)
        return team, user

    def _seed_patient(self, team, plan, *, weeks, per_week, now, seed):
        rng = np.random.default_rng(seed)
        with transaction.atomic():
            patient, _ = patient_create(care_team=team, code=plan.code, sex=plan.sex, birth_year=plan.birth_year,
                                        enrolled_on=(now - timedelta(weeks=weeks)).date())
        start = now - timedelta(weeks=weeks)
        for k, at in enumerate(demo.recording_times(weeks=weeks, per_week=per_week, now=now, rng=rng)):
            week = (at - start).days / 7
            level = demo.phq9_level(plan, week) + rng.normal(0, 1.0)
            audio = demo.speak(plan, phq9=max(level, 0), seed=seed * 1000 + k)
            recording_ingest(patient=patient, upload=SimpleUploadedFile(f"{plan.code}-{k}.wav", audio), recorded_at=at,
                             bulk=True)
        for week in range(1, weeks + 1, 2):
            total = int(round(demo.phq9_level(plan, week) + rng.normal(0, 1.0)))
            total = int(np.clip(total, 0, 27))
            item9 = 1 if (plan.code == "DEMO-010" and week >= weeks - 1) else 0
            phq9_record(patient=patient, items=demo.phq9_items(total, rng=rng, item9=item9),
                        answered_at=start + timedelta(weeks=week, hours=10), difficulty=min(3, total // 7))
