"""The voice embedding's model and vector in columns of their own, beside the JSON (same numbers).

The nightly screening reads the vectors of hundreds of thousands of baseline recordings on a
catch-up night; decoding each from a JSON list of 256 numbers (and decompressing the JSON) was a
third of that night's time. Existing rows are filled here, in batches; the fill reads every
embedding once (133 s for 500,000 feature sets on a 2-core machine).
"""

import numpy as np
from django.db import migrations, models

import clinic.processing.models

BATCH = 2000


def _fill(apps, schema_editor):
    feature_sets = apps.get_model("voice_features", "FeatureSet")
    table = schema_editor.quote_name(feature_sets._meta.db_table)
    last = 0
    while True:
        rows = list(feature_sets.objects.using(schema_editor.connection.alias)
                    .filter(pk__gt=last, embedding__isnull=False).order_by("pk").values_list("pk", "embedding")[:BATCH])
        if not rows:
            return
        last = rows[-1][0]
        updates = []
        for pk, embedding in rows:
            vector = embedding.get("vector") if isinstance(embedding, dict) else None
            updates.append((str((embedding or {}).get("model") or "") if isinstance(embedding, dict) else "",
                            None if vector is None else np.asarray(vector, dtype="<f8").tobytes(), pk))
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET embedding_model = %s, embedding_vector = %s WHERE id = %s", updates)


class Migration(migrations.Migration):

    dependencies = [
        ("voice_features", "0002_speaker_check_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="featureset",
            name="embedding_model",
            field=clinic.processing.models.EmbeddingModelField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="featureset",
            name="embedding_vector",
            field=clinic.processing.models.EmbeddingVectorField(editable=False, null=True),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop, elidable=True),
        migrations.RemoveIndex(
            model_name="featureset",
            name="featureset_speaker_unchecked",
        ),
        migrations.AddIndex(
            model_name="featureset",
            index=models.Index(condition=models.Q(("embedding_vector__isnull", False), ("speaker_similarity__isnull", True)),
                               fields=["recording"], name="featureset_speaker_unchecked"),
        ),
        migrations.AddConstraint(
            model_name="featureset",
            constraint=models.CheckConstraint(
                condition=models.Q(("embedding__isnull", False),
                                   models.Q(("embedding_model", ""), ("embedding_vector__isnull", True)), _connector="OR"),
                name="featureset_no_vector_without_embedding"),
        ),
        migrations.AddConstraint(
            model_name="featureset",
            constraint=models.CheckConstraint(
                condition=models.Q(models.Q(("embedding__has_key", "vector"), _negated=True),
                                   ("embedding_vector__isnull", False), _connector="OR"),
                name="featureset_vector_with_embedding"),
        ),
    ]
