"""python manage.py backup --to DIR — a consistent database dump, the stored audio and a manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.backup import BackupError, backup_create
from clinic.storage import AudioKeyError


class Command(BaseCommand):
    help = ("Back up the database (pg_dump in one snapshot on PostgreSQL), every stored file it refers to (as stored: "
            "still encrypted), the model registry and reports, with a manifest of row counts, checksums and the ids of "
            "the audio master keys (never the keys). Restore with manage.py restore --from DIR.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--to", required=True, type=Path, help="A new or empty directory for this backup")

    def handle(self, *args, to: Path, **options) -> None:
        try:
            manifest = backup_create(to=to)
        except (BackupError, AudioKeyError) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"Cannot write the backup into {to}: {exc.strerror}.") from None
        counts = manifest["counts"]
        stored = sum(entry["bytes"] for entry in manifest["objects"])
        self.stdout.write(
            f"Backup written to {to}: {counts.get('clinic.Patient', 0)} patients, {counts.get('clinic.Recording', 0)} "
            f"recordings, {len(manifest['objects'])} stored files ({stored / 1e6:.1f} MB), database "
            f"{manifest['database']['bytes'] / 1e6:.1f} MB. Audio master key ids needed to restore: "
            f"{', '.join(manifest['audio_key_ids']) or 'none'}.")
        if manifest["missing_objects"]:
            self.stdout.write(f"{len(manifest['missing_objects'])} files named by the database were not in the store "
                              "(deleted by an erasure or retention while the backup ran); see missing_objects in "
                              "the manifest.")
