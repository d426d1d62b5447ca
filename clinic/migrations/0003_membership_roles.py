"""Care-team membership gets a role (clinician or lead); existing members become clinicians."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_members(apps, schema_editor):
    CareTeam = apps.get_model("clinic", "CareTeam")
    Membership = apps.get_model("clinic", "Membership")
    old = CareTeam.members.through.objects.values_list("careteam_id", "user_id")
    Membership.objects.bulk_create(
        [Membership(care_team_id=team_id, user_id=user_id, role="clinician") for team_id, user_id in old],
        ignore_conflicts=True,
    )


def copy_back(apps, schema_editor):
    CareTeam = apps.get_model("clinic", "CareTeam")
    Membership = apps.get_model("clinic", "Membership")
    through = CareTeam.members.through
    through.objects.bulk_create(
        [through(careteam_id=m.care_team_id, user_id=m.user_id) for m in Membership.objects.all()],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0002_recording_task"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("role", models.CharField(choices=[("clinician", "Clinician"), ("lead", "Lead")], default="clinician",
                                          max_length=10)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("care_team", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                related_name="memberships", to="clinic.careteam")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="memberships",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["care_team__name", "user__username"],
                "constraints": [models.UniqueConstraint(fields=("care_team", "user"), name="one_membership_per_team")],
            },
        ),
        migrations.RunPython(copy_members, copy_back),
        migrations.RemoveField(model_name="careteam", name="members"),
        migrations.AddField(
            model_name="careteam",
            name="members",
            field=models.ManyToManyField(blank=True, related_name="care_teams", through="clinic.Membership",
                                         to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(choices=[("read", "Read"), ("create", "Create"), ("update", "Update"),
                                            ("export", "Export"), ("delete", "Delete")], max_length=10),
        ),
        migrations.AlterField(
            model_name="patient",
            name="code",
            field=models.CharField(
                help_text="Pseudonymous code (letters, digits, '-', '_'); no names.", max_length=64, unique=True,
                validators=[django.core.validators.RegexValidator(
                    "^[A-Za-z0-9_-]+$", "A patient code may contain only letters, digits, '-' and '_'.",
                    code="invalid_code")],
            ),
        ),
    ]
