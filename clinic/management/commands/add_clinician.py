"""python manage.py add_clinician USERNAME --team NAME [--email E] [--lead] [--language es] [--password-stdin]"""

import sys

from django.core.management.base import BaseCommand, CommandError

from clinic.accounts import AccountError, clinician_add, second_factors, set_password_link


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=io.StringIO("...")) in tests
    help = (
        "Create a clinician (or update one) and put them in a care team as clinician or lead. With "
        "--password-stdin the password is read from standard input and checked by the password validators; "
        "without it a one-time set-password link (valid 72 h) is printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--team", required=True, help="An existing care team (see create_care_team).")
        parser.add_argument("--email", default="", help="Where password-reset mail goes.")
        parser.add_argument("--lead", action="store_true", help="Team lead: also reviews the team's audit trail.")
        parser.add_argument("--language", default=None,
                            help="Their dashboard and e-mail language (en, es); unset keeps it, '' follows the browser.")
        parser.add_argument("--password-stdin", action="store_true",
                            help="Read the password from standard input (first line).")

    def handle(self, *args, username: str, team: str, email: str, lead: bool, password_stdin: bool,
               language: str | None = None, **options):
        password = None
        if password_stdin:
            password = self.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin was given but standard input held no password.")
        try:
            result = clinician_add(username=username, team_name=team, email=email, lead=lead, password=password,
                                   language=language)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        user, membership = result.user, result.membership
        verb = "created" if result.created else ("reactivated" if result.reactivated else "updated")
        self.stdout.write(self.style.SUCCESS(
            f"Clinician {user.username!r} {verb}: {membership.get_role_display().lower()} in "
            f"{membership.care_team.name!r}."))
        factors = second_factors(user)
        self.stdout.write(f"Second factor: {', '.join(factors)}." if factors else
                          "Second factor: none yet; they are asked to set one up (authenticator app or security key) "
                          "at their first sign-in.")
        if password is None and not user.has_usable_password():
            self.stdout.write(f"Send them this one-time link to choose a password (valid 72 h):\n"
                              f"{set_password_link(user)}")
        elif password is None:
            self.stdout.write("They keep their current password (forgotten passwords: /password-reset/).")

    def execute(self, *args, **options):
        self.stdin = options.pop("stdin", sys.stdin)
        return super().execute(*args, **options)
