"""python manage.py erase_patient CODE --yes — erase a patient and everything recorded about them."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from clinic.lifecycle import patient_erase
from clinic.models import Patient


class Command(BaseCommand):
    help = ("Erase a patient (GDPR art. 17): audio, features, embeddings, scores, baselines, alerts, PHQ-9 answers, "
            "tokens and the care team's bulk exports; the audit log keeps a keyed-hash tombstone. Cannot be undone.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="The patient's pseudonymous code")
        parser.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone")

    def handle(self, *args, code: str, yes: bool, **options) -> None:
        patient = Patient.objects.filter(code=code).first()
        if patient is None:
            raise CommandError(f"No patient has the code {code!r} (already erased, or a typing error).")
        if not yes:
            raise CommandError("Erasure cannot be undone; repeat the command with --yes to confirm.")
        result = patient_erase(patient=patient, via=f"manage.py erase_patient (server user {getpass.getuser()})")
        self.stdout.write(
            f"Erased: {result.recordings} recordings ({result.files} files incl. exports), {result.phq9_responses} "
            f"PHQ-9 responses, {result.exports} bulk exports of the team. Audit tombstone: {result.tombstone}")
