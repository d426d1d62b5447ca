"""python manage.py create_care_team NAME — idempotent: an existing team is left as it is."""

from django.core.management.base import BaseCommand, CommandError

from clinic.accounts import AccountError, care_team_create


class Command(BaseCommand):
    help = "Create a care team (exits 0 and changes nothing when it already exists)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The care team's name, e.g. 'North clinic'.")

    def handle(self, *args, name: str, **options):
        try:
            team, created = care_team_create(name)
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stdout.write(self.style.SUCCESS(f"Care team {team.name!r} created."))
        else:
            self.stdout.write(f"Care team {team.name!r} already exists; nothing changed.")
