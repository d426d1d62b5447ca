"""The life cycle of patient data: erasure, audio retention and master-key rotation."""

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from clinic.accounts import lead_team_ids
from clinic.audit import audit_tombstone
from clinic.models import BulkExport, CareTeam, Patient, Phq9Response, Recording
from clinic.storage import audio_delete, audio_reencrypt, canary_reencrypt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureResult:
    tombstone: str
    recordings: int
    phq9_responses: int
    files: int
    exports: int


def _leads_team(user, team: CareTeam) -> bool:
    return lead_team_ids(user).filter(care_team_id=team.pk).exists()


def erasure_allowed(user, patient: Patient) -> bool:
    """Operators (staff, superusers) and the leads of the patient's care team."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or user.is_superuser or _leads_team(user, patient.care_team))


def patient_erase(*, patient: Patient, erased_by=None, via: str, ledger: bool = True) -> ErasureResult:
    """Erase everything of a patient (GDPR art. 17); the audit log keeps only a keyed-hash tombstone.

    Rows go in one transaction; files go after the commit (a rolled-back erasure keeps its
    audio). The team's bulk exports held the patient too, so they are deleted with it. The
    tombstone is also appended to the erasure ledger kept with the backups, from which a restore
    re-applies erasures made after its backup (``ledger=False`` when a restore re-applies one).
    """
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        recordings = Recording.objects.filter(patient=patient)
        exports = BulkExport.objects.filter(care_team_id=patient.care_team_id)
        files = [name for name in recordings.values_list("file", flat=True) if name]
        files += [f["name"] for export in exports for f in export.files.values()]
        n_recordings, n_exports = recordings.count(), exports.count()
        n_phq9, _ = Phq9Response.objects.filter(patient=patient).delete()
        recordings.delete()  # features, scores cascade; alerts keep no link
        exports.delete()
        _scrub_admin_log(patient)
        code = patient.code
        patient.delete()  # tokens, baselines, scores, alerts cascade
        tombstone = audit_tombstone(code=code, actor=erased_by, via=via)
        if ledger:
            transaction.on_commit(lambda: erasure_ledger_append(tombstone=tombstone, at=timezone.now()))
        transaction.on_commit(lambda: _delete_files(files))
    return ErasureResult(tombstone, n_recordings, n_phq9, len(files), n_exports)


def erasure_ledger_append(*, tombstone: str, at: datetime) -> None:
    """Append one erasure to the ledger (CADENCE_ERASURE_LEDGER): a keyed hash and a time, never the code."""
    path = Path(settings.CADENCE_ERASURE_LEDGER)
    line = json.dumps({"tombstone": tombstone, "at": at.isoformat()}) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        logger.error("erasure ledger %s not writable (%s): a restore from an older backup would not re-apply this "
                     "erasure; erase the patient again after such a restore", path, exc.strerror)


def erasure_ledger_read(path: Path) -> set[str]:
    """The tombstones in a ledger file (lines that are not ledger entries are skipped)."""
    found = set()
    for raw in path.read_text().splitlines():
        try:
            tombstone = json.loads(raw).get("tombstone", "")
        except (ValueError, AttributeError):
            continue
        if isinstance(tombstone, str) and tombstone.startswith("erased:"):
            found.add(tombstone)
    return found


def _scrub_admin_log(patient: Patient) -> None:
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Patient),
                            object_id=str(patient.pk)).delete()


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            audio_delete(name)
        except OSError:
            logger.exception("erasure: could not delete stored file %s; delete it by hand", name)


def audio_retention_purge(*, now=None, batch: int = 500) -> int:
    """Delete raw audio processed more than CADENCE_AUDIO_RETENTION_DAYS ago; features stay."""
    days = settings.CADENCE_AUDIO_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    expired = Recording.objects.filter(finished_at__lt=cutoff, audio_deleted_at__isnull=True).exclude(file="")
    purged = 0
    while chunk := list(expired.values_list("pk", "file")[:batch]):
        for pk, name in chunk:
            if Recording.objects.filter(pk=pk, file=name).update(file="", audio_deleted_at=timezone.now()):
                _delete_files([name])
                purged += 1
    return purged


def audio_key_rotate() -> dict[str, int]:
    """Re-encrypt every stored file under the first key of CADENCE_AUDIO_KEYS (run after adding a key)."""
    counts = {"recordings": 0, "exports": 0, "already_current": 0}
    for pk, name in Recording.objects.exclude(file="").values_list("pk", "file").iterator():
        new = audio_reencrypt(name)
        if new is None:
            counts["already_current"] += 1
        elif Recording.objects.filter(pk=pk, file=name).update(file=new):
            audio_delete(name)
            counts["recordings"] += 1
        else:  # erased or purged meanwhile
            audio_delete(new)
    for export in BulkExport.objects.exclude(files={}).iterator():
        counts["exports"] += _rotate_export(export)
    canary_reencrypt()
    return counts


def _rotate_export(export: BulkExport) -> int:
    files, old = dict(export.files), []
    for key, entry in files.items():
        new = audio_reencrypt(entry["name"])
        if new:
            old.append(entry["name"])
            files[key] = {**entry, "name": new}
    if old:
        BulkExport.objects.filter(pk=export.pk).update(files=files)
        _delete_files(old)
    return len(old)
