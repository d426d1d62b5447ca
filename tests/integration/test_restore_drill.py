"""The restore drill: back up, destroy, restore into a new database and a new object store.

Real parts: PostgreSQL (pg_dump/pg_restore), an S3-compatible server (moto, as in test_two_hosts_s3.py).
Every recording must decrypt to the same checksum, every row count must match the manifest, and a
patient erased after the backup must stay erased.
"""

import hashlib
import io
import json
import shutil

import psycopg
import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from clinic.audit import erased_code_tombstone
from clinic.models import AuditEvent, Patient, Recording
from clinic.storage import audio_open, audio_store, new_master_key
from tests.conftest import tone_wav
from tests.dashboard import factories

pytestmark = pytest.mark.integration


def _s3(settings, endpoint: str, bucket: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "test",
        "secret_key": "test", "location": "recordings", "default_acl": None, "file_overwrite": False}}}


def _plain_checksums() -> dict[str, str]:
    sums = {}
    for name in Recording.objects.exclude(file="").values_list("file", flat=True):
        with audio_open(name) as plain:
            sums[name] = hashlib.sha256(plain.read()).hexdigest()
    return sums


def _counts() -> dict[str, int]:
    return {m._meta.label: m._base_manager.count() for m in apps.get_models() if m._meta.managed}


@pytest.fixture
def new_database():
    """An empty database on the same server; Django's connection points at it while the fixture is used."""
    db = dict(connection.settings_dict)
    name = f"{db['NAME']}_restored"
    admin = psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
                            dbname="postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')

    def switch(to: str) -> None:
        connection.close()
        connection.settings_dict["NAME"] = to
        ContentType.objects.clear_cache()

    yield lambda: switch(name)
    switch(db["NAME"])
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_it_restores_every_recording_and_count_and_keeps_later_erasures(cast, postgres, s3_endpoint, settings,
                                                                         tmp_path, new_database):
    _s3(settings, s3_endpoint, "live-recordings")
    backups = tmp_path / "backups"
    settings.CADENCE_ERASURE_LEDGER = backups / "erasure-ledger.jsonl"
    settings.CADENCE_MODEL_REGISTRY_DIR, settings.CADENCE_REPORTS_DIR = tmp_path / "models", tmp_path / "reports"
    (tmp_path / "models" / "risk").mkdir(parents=True)
    (tmp_path / "models" / "risk" / "model.json").write_text('{"fitted": true}')
    for patient, seed in ((cast.patient_a, 1), (cast.patient_b, 2)):
        for k, recording in enumerate(factories.history(patient, n=3, seed=seed).recordings):
            recording.file.name = audio_store(prefix="recordings", chunks=[tone_wav(seconds=1.0, seed=seed * 10 + k)])
            recording.save(update_fields=["file"])
        factories.alert(patient, kind="self_harm", priority=1)
    before_sums, before_counts = _plain_checksums(), _counts()
    erased_files = set(Recording.objects.filter(patient=cast.patient_a).values_list("file", flat=True))

    call_command("backup", to=backups / "nightly", stdout=io.StringIO())
    manifest = json.loads((backups / "nightly" / "manifest.json").read_text())
    assert manifest["counts"] == before_counts
    assert manifest["audio_key_ids"] and settings.CADENCE_AUDIO_KEYS not in (backups / "nightly" / "manifest.json").read_text()
    call_command("erase_patient", cast.patient_a.code, "--yes", stdout=io.StringIO())  # after the backup
    ledger = settings.CADENCE_ERASURE_LEDGER.read_text()
    assert erased_code_tombstone(cast.patient_a.code) in ledger and cast.patient_a.code not in ledger

    # Destroy: the live database and the live bucket are gone.
    call_command("flush", "--noinput")
    for name in [*before_sums, "keys/audio-key-check.bin"]:
        default_storage.delete(name)
    shutil.rmtree(tmp_path / "models")
    new_database()
    _s3(settings, s3_endpoint, "restored-recordings")

    key = settings.CADENCE_AUDIO_KEYS
    settings.CADENCE_AUDIO_KEYS = new_master_key()  # the key custody was not consulted: refused, nothing written
    with pytest.raises(CommandError, match="CADENCE_AUDIO_KEYS does not hold"):
        call_command("restore", "--from", str(backups / "nightly"))
    settings.CADENCE_AUDIO_KEYS = key

    out = io.StringIO()
    call_command("restore", "--from", str(backups / "nightly"), "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["counts"] == before_counts  # every count, before the later erasure is re-applied
    assert {o["name"] for o in manifest["objects"]} >= set(before_sums)
    assert report["objects_verified"] == len(manifest["objects"]) and report["erasures_reapplied"] == 1

    assert list(Patient.objects.values_list("code", flat=True)) == [cast.patient_b.code]
    tombstone = erased_code_tombstone(cast.patient_a.code)
    reapplied = AuditEvent.objects.get(action="erase", patient_code=tombstone)  # the re-application, on the record
    assert reapplied.path.startswith("manage.py restore")
    kept = _plain_checksums()
    assert kept == {name: digest for name, digest in before_sums.items() if name not in erased_files}
    assert not any(default_storage.exists(name) for name in erased_files)
    assert (tmp_path / "models" / "risk" / "model.json").read_text() == '{"fitted": true}'

    with pytest.raises(CommandError, match="not empty"):  # a second restore never overwrites
        call_command("restore", "--from", str(backups / "nightly"))
