from django.db import migrations, models


def pending_scores(apps, schema_editor):
    """Existing scores without a prediction were waiting for their baseline: ``pending``, not ``personal``."""
    RiskScore = apps.get_model("screening", "RiskScore")
    RiskScore.objects.filter(scope="recording", predicted_phq9__isnull=True).update(estimate_type="pending")


class Migration(migrations.Migration):

    dependencies = [
        ("screening", "0006_baseline_and_score_task"),
    ]

    operations = [
        migrations.AddField(
            model_name="riskscore",
            name="early_estimate",
            field=models.JSONField(blank=True, help_text="Early estimate against population norms while the baseline is pending (docs/screening.md)", null=True),
        ),
        migrations.AddField(
            model_name="riskscore",
            name="estimate_type",
            field=models.CharField(choices=[("personal", "Personal score (change from the patient's own baseline)"), ("early", "Early estimate: no personal baseline yet"), ("pending", "Baseline pending, no estimate")], default="personal", help_text="What the score rests on: the patient's own baseline, or (no baseline yet) an early estimate", max_length=10),
        ),
        migrations.RunPython(pending_scores, migrations.RunPython.noop),
    ]
