"""Data migrations: the membership migration keeps every existing care-team member (as a clinician); the
embedding columns are filled from the stored JSON."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_existing_members_become_clinicians():
    before, after = [("clinic", "0002_recording_task")], [("clinic", "0004_database_cache_table")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        user = old.get_model("auth", "User").objects.create(username="kept")
        team = old.get_model("clinic", "CareTeam").objects.create(name="Old team")
        team.members.add(user)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        memberships = new.get_model("clinic", "Membership").objects.values_list(
            "care_team__name", "user__username", "role")
        assert list(memberships) == [("Old team", "kept", "clinician")]
    finally:  # leave the schema as every other test expects it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_embedding_vectors_are_filled_from_the_stored_json():
    """Feature sets stored before the embedding had columns of its own get its model and vector, the same
    numbers; rows without an embedding keep empty columns."""
    import numpy as np

    before, after = [("voice_features", "0002_speaker_check_indexes")], [("voice_features", "0003_embedding_vector")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
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

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        feature_sets = new.get_model("voice_features", "FeatureSet").objects
        rows = dict(feature_sets.values_list("recording__file", "embedding_vector"))
        models = dict(feature_sets.values_list("recording__file", "embedding_model"))
        assert models == {"old/with.wav": "resemblyzer-ge2e", "old/without.wav": ""}
        assert rows["old/without.wav"] is None
        assert np.frombuffer(rows["old/with.wav"], dtype="<f8").tolist() == vector
    finally:  # leave the schema as every other test expects it
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
