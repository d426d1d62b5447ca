"""The cache table used for shared API throttle counts when no Redis cache is configured.

``createcachetable`` does nothing for a Redis cache and skips a table that exists, so this is
safe to run on every deployment; it is a migration so that ``migrate`` is the only setup step.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_membership_roles")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
