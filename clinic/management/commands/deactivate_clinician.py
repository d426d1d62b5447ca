"""python manage.py deactivate_clinician USERNAME — blocks the account; the audit trail stays."""

from django.core.management.base import BaseCommand, CommandError

from clinic.accounts import AccountError, clinician_deactivate


class Command(BaseCommand):
    help = "Block a clinician's account, revoke their API tokens and end their sessions (audit events are kept)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        try:
            user, tokens, sessions = clinician_deactivate(username)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"{user.username!r} deactivated: {tokens} API token(s) revoked, {sessions} session(s) ended. "
            f"Their audit trail is kept; 'add_clinician {user.username} --team ...' reactivates them."))
