"""Backups that restore: a consistent database dump, the audio store's objects and a manifest.

A backup is a directory::

    manifest.json        written last (a backup without it is incomplete): format, time, row counts of
                         every table, per-object sizes and SHA-256 (stored and decrypted), the ids of the
                         master keys the audio is encrypted under (never the keys), erasure tombstones
    database.pgdump      pg_dump --format=custom, taken in a REPEATABLE READ snapshot (PostgreSQL), or
    database.json        dumpdata of every app (the embedded SQLite default)
    objects/<name>       every stored file the snapshot refers to, byte for byte as stored (still encrypted)
    files/models/...     the model registry (fitted risk model, emotion models) and generated reports

Restoring needs the same ``CADENCE_AUDIO_KEYS`` (at least every key id in the manifest) and the same
``DJANGO_SECRET_KEY`` (erasure tombstones are keyed hashes of patient codes). Erasures made after the
backup are re-applied from the erasure ledger (``CADENCE_ERASURE_LEDGER``, one JSON line per erasure,
kept with the backups), so a restored patient who was erased since does not come back.
"""

import hashlib
import io
import itertools
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from clinic.audit import erased_code_tombstone
from clinic.lifecycle import audio_retention_purge, erasure_ledger_read, patient_erase
from clinic.models import AuditEvent, BulkExport, Patient, Recording
from clinic.storage import CANARY_NAME, MAGIC, DecryptingReader, keyring

__all__ = ["BackupError", "RestoreReport", "backup_create", "restore_run", "erasure_tombstones_read", "MANIFEST"]

logger = logging.getLogger(__name__)
FORMAT = 1
MANIFEST = "manifest.json"
_READ = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in words."""


# ---------------------------------------------------------------- erasure tombstones


def erasure_tombstones_read(paths: Iterable[Path]) -> set[str]:
    """Tombstones from ledger files, from backup directories (their manifests) or folders holding a ledger."""
    found: set[str] = set()
    for path in paths:
        if path.is_file():
            found |= erasure_ledger_read(path)
        elif (path / MANIFEST).is_file():
            found.update(json.loads((path / MANIFEST).read_text()).get("erasures", []))
        elif (path / "erasure-ledger.jsonl").is_file():
            found |= erasure_ledger_read(path / "erasure-ledger.jsonl")
        else:
            raise BackupError(f"{path} is neither an erasure ledger nor a backup directory.")
    return found


# ---------------------------------------------------------------- helpers


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_READ), b""):
            digest.update(block)
    return digest.hexdigest()


def _table_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()
            if model._meta.managed and not model._meta.proxy}


def _referenced_files() -> list[str]:
    names = set(Recording.objects.exclude(file="").values_list("file", flat=True))
    for files in BulkExport.objects.exclude(files={}).values_list("files", flat=True):
        names.update(entry["name"] for entry in files.values() if entry.get("name"))
    return sorted(names)


def _secret_key_check() -> str:
    """A fingerprint of DJANGO_SECRET_KEY (not the key): tombstones only match under the same key."""
    return salted_hmac("cadence.backup.secret-key-check", "tombstones", algorithm="sha256").hexdigest()[:16]


def _key_id_of(header: bytes) -> str | None:
    return header[len(MAGIC):len(MAGIC) + 8].hex() if header.startswith(MAGIC) else None


def _plain_sha256(stored: Path) -> str:
    digest = hashlib.sha256()
    with DecryptingReader(open(stored, "rb")) as plain:
        for block in iter(lambda: plain.read(_READ), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_object(name: str, target: Path) -> dict:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with default_storage.open(name, "rb") as source, open(target, "wb") as out:
        header = source.read(len(MAGIC) + 8)
        for block in itertools.chain([header], iter(lambda: source.read(_READ), b"")):
            digest.update(block)
            out.write(block)
            size += len(block)
    key_id = _key_id_of(header)
    return {"name": name, "bytes": size, "sha256": digest.hexdigest(), "key_id": key_id,
            "plain_sha256": _plain_sha256(target) if key_id else None}


def _copy_tree(source: Path, target: Path) -> list[dict]:
    if not source.is_dir():
        return []
    listed = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / relative)
        listed.append({"path": str(relative), "bytes": path.stat().st_size, "sha256": _sha256_file(path)})
    return listed


def _file_trees() -> dict[str, Path]:
    return {"models": Path(settings.CADENCE_MODEL_REGISTRY_DIR), "reports": Path(settings.CADENCE_REPORTS_DIR)}


def _pg_env() -> dict[str, str]:
    """The connection of Django's database for pg_dump/pg_restore (the password in the environment, not argv)."""
    db = connection.settings_dict
    values = {"PGDATABASE": db["NAME"], "PGUSER": db.get("USER"), "PGHOST": db.get("HOST"),
              "PGPORT": db.get("PORT"), "PGPASSWORD": db.get("PASSWORD")}
    return {**os.environ, **{name: str(value) for name, value in values.items() if value}}


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, env=_pg_env(), capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed; {what} needs the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client).") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{what} failed: {last}")


# ---------------------------------------------------------------- backup


def _dump_database(to: Path) -> tuple[dict, dict[str, int], list[str], list[str]]:
    """Dump, and read counts, file names and tombstones in the same snapshot."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
            dump = to / "database.pgdump"
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={dump}"], "pg_dump")
        else:
            dump = to / "database.json"
            with open(dump, "w") as out:
                call_command("dumpdata", "--natural-foreign", "--natural-primary", "--exclude=contenttypes",
                             "--exclude=auth.permission", stdout=out)
        counts, names = _table_counts(), _referenced_files()
        tombstones = sorted(set(AuditEvent.objects.filter(action=AuditEvent.Action.ERASE)
                                .values_list("patient_code", flat=True)))
    database = {"vendor": connection.vendor, "file": dump.name, "bytes": dump.stat().st_size,
                "sha256": _sha256_file(dump)}
    return database, counts, names, tombstones


def backup_create(*, to: Path) -> dict:
    """Write a complete backup into ``to`` (new or empty); returns the manifest."""
    if to.exists() and any(to.iterdir()):
        raise BackupError(f"{to} is not empty; back up into a new directory (for example one named by the date).")
    to.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring()  # fail before dumping anything if the keys are missing
    database, counts, names, tombstones = _dump_database(to)
    objects, missing = [], []
    for name in [*names, CANARY_NAME]:
        if not default_storage.exists(name):
            if name != CANARY_NAME:  # deleted after the snapshot (an erasure or retention), or lost before it
                missing.append(name)
            continue
        objects.append(_copy_object(name, to / "objects" / name))
    manifest = {
        "format": FORMAT, "created_at": timezone.now().isoformat(), "database": database, "counts": counts,
        "objects": objects, "missing_objects": missing,
        "audio_key_ids": sorted({o["key_id"] for o in objects if o["key_id"]}),
        "secret_key_check": _secret_key_check(), "erasures": tombstones,
        "files": {tree: _copy_tree(path, to / "files" / tree) for tree, path in _file_trees().items()},
    }
    temporary = to / (MANIFEST + ".part")
    temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    temporary.chmod(0o600)
    temporary.rename(to / MANIFEST)
    return manifest


# ---------------------------------------------------------------- restore


@dataclass
class RestoreReport:
    counts: dict[str, int]
    objects_verified: int
    recordings_decrypted: int
    missing_objects: list[str]
    erasures_reapplied: int
    audio_purged: int
    files_restored: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def _manifest(source: Path) -> dict:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} holds no {MANIFEST}: it is not a complete Cadence backup.")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source} is a backup of format {manifest.get('format')!r}; this Cadence reads format "
                          f"{FORMAT}.")
    return manifest


def _check_backup(source: Path, manifest: dict) -> None:
    database = manifest["database"]
    if _sha256_file(source / database["file"]) != database["sha256"]:
        raise BackupError(f"{database['file']} does not match its checksum in the manifest: the backup is damaged.")
    for entry in manifest["objects"]:
        stored = source / "objects" / entry["name"]
        if not stored.is_file() or _sha256_file(stored) != entry["sha256"]:
            raise BackupError(f"objects/{entry['name']} is missing or does not match its checksum: the backup is "
                              "damaged.")


def _check_keys(manifest: dict) -> None:
    have = {key_id.hex() for key_id, _ in keyring()}
    lacking = sorted(set(manifest["audio_key_ids"]) - have)
    if lacking:
        raise BackupError(f"The backed-up audio is encrypted under master key id(s) {', '.join(lacking)}, which "
                          "CADENCE_AUDIO_KEYS does not hold. Put the keys from your key custody into "
                          "CADENCE_AUDIO_KEYS (the ids are shown by manage.py backup) and run restore again.")
    if manifest["secret_key_check"] != _secret_key_check():
        raise BackupError("DJANGO_SECRET_KEY is not the one the backup was made under: erasure tombstones would not "
                          "match. Set the original DJANGO_SECRET_KEY and run restore again.")


def _store_names(prefix: str = "") -> Iterator[str]:
    directories, files = default_storage.listdir(prefix)
    for name in files:
        yield f"{prefix}{name}"
    for directory in directories:
        yield from _store_names(f"{prefix}{directory}/")


def _check_empty_target(manifest: dict) -> None:
    if connection.vendor != manifest["database"]["vendor"]:
        raise BackupError(f"The backup holds a {manifest['database']['vendor']} database; the target is "
                          f"{connection.vendor}.")
    tables = connection.introspection.table_names()
    if connection.vendor == "postgresql" and tables:
        raise BackupError(f"The target database {connection.settings_dict['NAME']} is not empty ({len(tables)} "
                          "tables); restore into a new, empty database.")
    if connection.vendor != "postgresql" and "clinic_patient" in tables and Patient.objects.exists():
        raise BackupError("The target database already holds patients; restore into a new, empty database.")
    try:
        stored = [name for name in _store_names() if name != CANARY_NAME]
    except FileNotFoundError:
        stored = []
    if stored:
        raise BackupError(f"The target audio store is not empty ({len(stored)} objects); restore into a new, empty "
                          "store.")


def _load_database(source: Path, manifest: dict) -> None:
    dump = source / manifest["database"]["file"]
    if manifest["database"]["vendor"] == "postgresql":
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={connection.settings_dict['NAME']}", str(dump)], "pg_restore")
    else:
        call_command("migrate", "--noinput", verbosity=0)
        call_command("loaddata", str(dump), verbosity=0)
    connection.close()  # the next query sees the restored schema


def _put_objects(source: Path, manifest: dict) -> None:
    if default_storage.exists(CANARY_NAME):
        default_storage.delete(CANARY_NAME)  # a server started on the empty stack wrote its own
    for entry in manifest["objects"]:
        with open(source / "objects" / entry["name"], "rb") as handle:
            saved = default_storage.save(entry["name"], File(handle, name=entry["name"]))
        if saved != entry["name"]:
            raise BackupError(f"The store saved {entry['name']} as {saved}; restore into an empty store.")


def _verify_objects(manifest: dict) -> int:
    for entry in manifest["objects"]:
        with default_storage.open(entry["name"], "rb") as stored:
            data = stored.read()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise BackupError(f"{entry['name']} changed on its way into the store.")
        if entry["key_id"]:
            with DecryptingReader(io.BytesIO(data)) as plain:
                if hashlib.sha256(plain.read()).hexdigest() != entry["plain_sha256"]:
                    raise BackupError(f"{entry['name']} does not decrypt to the content that was backed up.")
    return len(manifest["objects"])


def _reapply_erasures(tombstones: set[str]) -> int:
    reapplied = 0
    for patient in Patient.objects.all().iterator():
        if erased_code_tombstone(patient.code) in tombstones:
            patient_erase(patient=patient, via="manage.py restore: erasure made after the backup, re-applied",
                          ledger=False)
            reapplied += 1
    return reapplied


def _restore_trees(source: Path, manifest: dict) -> dict[str, int]:
    restored = {}
    for tree, path in _file_trees().items():
        entries = manifest["files"].get(tree, [])
        for entry in entries:
            target = path / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / "files" / tree / entry["path"], target)
        restored[tree] = len(entries)
    return restored


def restore_run(*, source: Path, erasure_sources: Iterable[Path] = ()) -> RestoreReport:
    """Restore a backup into an empty database and store, verify it, then re-apply later erasures."""
    manifest = _manifest(source)
    _check_keys(manifest)
    _check_backup(source, manifest)
    ledger = Path(settings.CADENCE_ERASURE_LEDGER)
    tombstones = erasure_tombstones_read([*erasure_sources, *([ledger] if ledger.is_file() else [])])
    _check_empty_target(manifest)
    _load_database(source, manifest)
    counts = _table_counts()
    differing = {label: (n, counts.get(label)) for label, n in manifest["counts"].items() if counts.get(label) != n}
    if differing:
        raise BackupError(f"Row counts differ from the manifest after loading: {differing}")
    _put_objects(source, manifest)
    verified = _verify_objects(manifest)
    decrypted = Recording.objects.exclude(file="").exclude(file__in=manifest["missing_objects"]).count()
    if manifest["missing_objects"]:  # deleted after the snapshot was taken, as the live system did
        Recording.objects.filter(file__in=manifest["missing_objects"]).update(file="", audio_deleted_at=timezone.now())
    reapplied = _reapply_erasures(tombstones - set(manifest["erasures"]))
    return RestoreReport(counts=counts, objects_verified=verified, recordings_decrypted=decrypted,
                         missing_objects=manifest["missing_objects"], erasures_reapplied=reapplied,
                         audio_purged=audio_retention_purge(), files_restored=_restore_trees(source, manifest))

