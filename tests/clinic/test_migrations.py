"""Data migrations: the membership migration keeps every existing care-team member (as a clinician); the
embedding columns are filled from the stored JSON."""

from contextlib import contextmanager

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@contextmanager
def _migrating(before, after):
    """The schema at ``before``: yields its apps (to store rows as they were) and ``forward()``, which migrates
    to ``after`` and returns its apps. The schema is left at the latest migrations, as every other test expects."""

    def forward():
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        return executor.loader.project_state(after).apps

    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        yield executor.loader.project_state(before).apps, forward
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_members_become_clinicians():
    with _migrating([("clinic", "0002_recording_task")], [("clinic", "0004_database_cache_table")]) as (old, forward):
        user = old.get_model("auth", "User").objects.create(username="kept")
        team = old.get_model("clinic", "CareTeam").objects.create(name="Old team")
        team.members.add(user)

        memberships = forward().get_model("clinic", "Membership").objects.values_list(
            "care_team__name", "user__username", "role")
        assert list(memberships) == [("Old team", "kept", "clinician")]


@pytest.mark.django_db(transaction=True)
def test_embedding_vectors_are_filled_from_the_stored_json():
    """Feature sets stored before the embedding had columns of its own get its model and vector, the same
    numbers; rows without an embedding keep empty columns."""
    with _migrating([("voice_features", "0002_speaker_check_indexes")],
                    [("voice_features", "0003_embedding_vector")]) as (old, forward):
        team = old.get_model("clinic", "CareTeam").objects.create(name="Before")
        patient = old.get_model("clinic", "Patient").objects.create(code="OLD-1", care_team=team,
                                                                    enrolled_on="2026-01-01")
        vector = [float(v) for v in np.random.default_rng(3).normal(size=256)]
        kinds = {"with": {"model": "resemblyzer-ge2e", "dim": 256, "vector": vector}, "without": None}
        for n, (kind, embedding) in enumerate(kinds.items()):
            recording = old.get_model("clinic", "Recording").objects.create(
                patient=patient, file=f"old/{kind}.wav", sha256=f"{n:064d}", size_bytes=1, recorded_at="2026-01-01T10:00Z")
            old.get_model("voice_features", "FeatureSet").objects.create(
                recording=recording, version="3.0.0", features={}, quality={}, embedding=embedding)

        feature_sets = forward().get_model("voice_features", "FeatureSet").objects
        rows = dict(feature_sets.values_list("recording__file", "embedding_vector"))
        models = dict(feature_sets.values_list("recording__file", "embedding_model"))
        assert models == {"old/with.wav": "resemblyzer-ge2e", "old/without.wav": ""}
        assert rows["old/without.wav"] is None
        assert np.frombuffer(rows["old/with.wav"], dtype="<f8").tolist() == vector
