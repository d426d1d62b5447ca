"""python manage.py rotate_audio_key — re-encrypt stored audio and exports under the current master key."""

from django.core.management.base import BaseCommand

from clinic.lifecycle import audio_key_rotate
from clinic.storage import keyring


class Command(BaseCommand):
    help = ("Re-encrypt every stored recording and bulk export under the first key of CADENCE_AUDIO_KEYS. "
            "Rotate by putting a new key first (keep the old one after it), run this, then drop the old key.")

    def handle(self, *args, **options) -> None:
        keys = keyring()
        counts = audio_key_rotate()
        self.stdout.write(
            f"Current key {keys[0][0].hex()}: re-encrypted {counts['recordings']} recordings and "
            f"{counts['exports']} export files; {counts['already_current']} recordings were already current. "
            + ("The other keys can now be removed from CADENCE_AUDIO_KEYS." if len(keys) > 1 else ""))
