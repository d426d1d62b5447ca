"""The voice embedding's model and vector columns follow its JSON on every write, and cannot disagree with it."""

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from clinic.models import CareTeam, Patient, Recording
from clinic.processing.models import FeatureSet, vector_from_bytes

VECTOR = [float(v) for v in np.random.default_rng(5).normal(size=256)]
EMBEDDING = {"model": "resemblyzer-ge2e", "version": "0.1.4", "dim": 256, "vector": VECTOR, "spread": 0.1,
             "n_windows": 12}


def _recordings(n):
    patient = Patient.objects.create(code="EMB-1", care_team=CareTeam.objects.create(name="Embeddings"),
                                     enrolled_on="2026-10-01")
    return [Recording.objects.create(patient=patient, file=f"e/{k}.wav", sha256=f"{k:064d}", size_bytes=1,
                                     container="wav", recorded_at="2026-11-01T10:00Z") for k in range(n)]


def _columns(fs):
    fs = FeatureSet.objects.get(pk=fs.pk)
    vector = vector_from_bytes(fs.embedding_vector)
    return fs.embedding_model, None if vector is None else vector.tolist()


@pytest.mark.django_db
def test_create_bulk_create_and_update_or_create_store_the_same_numbers_as_the_json():
    one, two, three = _recordings(3)
    created = FeatureSet.objects.create(recording=one, version="4.0.0", features={}, quality={}, embedding=EMBEDDING)
    bulk, = FeatureSet.objects.bulk_create([FeatureSet(recording=two, version="4.0.0", features={}, quality={},
                                                       embedding=EMBEDDING)])
    without = FeatureSet.objects.create(recording=three, version="4.0.0", features={}, quality={})
    assert _columns(created) == _columns(bulk) == ("resemblyzer-ge2e", VECTOR)
    assert _columns(without) == ("", None)

    # The worker re-extracting a recording: update_or_create with new defaults re-derives both columns.
    other = [v * 2 for v in VECTOR]
    FeatureSet.objects.update_or_create(recording=one, version="4.0.0",
                                        defaults={"embedding": {"model": "another-encoder", "vector": other}})
    assert _columns(created) == ("another-encoder", other)
    FeatureSet.objects.update_or_create(recording=one, version="4.0.0", defaults={"embedding": None})
    assert _columns(created) == ("", None)

    # save(update_fields=[...]) naming the embedding writes the derived columns too.
    bulk.embedding = {**EMBEDDING, "vector": other}
    bulk.save(update_fields=["embedding"])
    assert _columns(bulk) == ("resemblyzer-ge2e", other)


@pytest.mark.django_db
def test_a_write_that_skips_the_derivation_is_refused():
    """``QuerySet.update`` and ``bulk_update`` do not derive the columns: a vector without its JSON, or JSON with
    a vector and no vector column, is refused by the database instead of kept."""
    one, = _recordings(1)
    fs = FeatureSet.objects.create(recording=one, version="4.0.0", features={}, quality={}, embedding=EMBEDDING)
    with pytest.raises(IntegrityError), transaction.atomic():
        FeatureSet.objects.filter(pk=fs.pk).update(embedding=None)
    FeatureSet.objects.filter(pk=fs.pk).update(embedding=None, embedding_vector=None, embedding_model="")
    with pytest.raises(IntegrityError), transaction.atomic():
        FeatureSet.objects.filter(pk=fs.pk).update(embedding=EMBEDDING)
    assert _columns(fs) == ("", None)
