"""The membership migration keeps every existing care-team member (as a clinician)."""

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
