"""python manage.py reset_mfa USERNAME --yes — a lost phone or security key."""

from django.core.management.base import BaseCommand, CommandError

from clinic.accounts import AccountError, second_factor_reset
from clinic.models import AuditEvent


class Command(BaseCommand):
    help = ("Remove a clinician's second factors and recovery codes (a lost phone or key), revoke their API tokens "
            "and end their sessions; they set up a new second factor at their next sign-in. Written to the audit log.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--yes", action="store_true", help="Confirm: without it nothing is changed.")

    def handle(self, *args, username: str, yes: bool, **options):
        if not yes:
            raise CommandError(f"This removes every second factor of {username!r} and signs them out everywhere; "
                               f"run again with --yes to do it.")
        try:
            user, removed, tokens, sessions = second_factor_reset(username)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        AuditEvent.objects.create(actor=None, action=AuditEvent.Action.DELETE, resource="second_factor",
                                  object_id=str(user.pk), path=f"manage.py reset_mfa {user.username}"[:512])
        self.stdout.write(self.style.SUCCESS(
            f"{user.username!r}: {removed} second factor(s) and recovery-code set(s) removed, {tokens} API token(s) "
            f"revoked, {sessions} session(s) ended. They set up a new second factor at their next sign-in."))
