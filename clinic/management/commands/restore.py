"""python manage.py restore --from DIR — restore a backup into an empty database and audio store."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, restore_run
from clinic.storage import AudioKeyError


class Command(BaseCommand):
    help = ("Restore a backup made by manage.py backup into an empty database and an empty audio store, check every "
            "row count and every file's checksum (decrypting each recording), then re-apply the erasures made after "
            "the backup from the erasure ledger (CADENCE_ERASURE_LEDGER and any --erasures-from) and the retention "
            "rule. Needs the backup's audio master keys in CADENCE_AUDIO_KEYS and its DJANGO_SECRET_KEY.")
    # The start-up key check reads the key-check file of the (empty) target store; restore checks the keys
    # against the backup's manifest instead and replaces that file with the backed-up one.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="source", required=True, type=Path, help="The backup directory")
        parser.add_argument("--erasures-from", action="append", type=Path, default=[], metavar="PATH",
                            help="Another erasure ledger, or a newer backup directory, whose erasures are re-applied "
                                 "too (repeatable)")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON")

    def handle(self, *args, source: Path, erasures_from: list[Path], **options) -> None:
        try:
            report = restore_run(source=source, erasure_sources=erasures_from)
        except (BackupError, AudioKeyError) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"Cannot read the backup in {source}: {exc.strerror}.") from None
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), sort_keys=True))
            return
        counts = report.counts
        self.stdout.write(
            f"Restored from {source}: {counts.get('clinic.Patient', 0)} patients and {counts.get('clinic.Recording', 0)} "
            f"recordings as backed up; every row count matches the manifest. {report.objects_verified} stored files verified "
            f"({report.recordings_decrypted} recordings decrypted to their backed-up checksum). "
            f"Erasures re-applied: {report.erasures_reapplied}; audio removed by retention: {report.audio_purged}.")

