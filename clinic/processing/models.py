"""Stored features: one row per recording and feature-set version, so versions coexist."""

import numpy as np
from django.db import models

#: How a voice embedding's vector is stored beside its JSON: little-endian float64, the same numbers.
VECTOR_DTYPE = np.dtype("<f8")


def _embedding_dict(embedding) -> dict:
    """A stored embedding as the worker writes it (``SpeechEmbedding.to_json_dict``): ``{"model", "vector", ...}``."""
    if embedding is None:
        return {}
    if not isinstance(embedding, dict):
        raise TypeError(f"a stored embedding is a dict with 'model' and 'vector', not a {type(embedding).__name__}")
    return embedding


def embedding_model_name(embedding: dict | None) -> str:
    """The encoder that made a stored embedding ("" without one)."""
    return str(_embedding_dict(embedding).get("model") or "")


def embedding_vector_bytes(embedding: dict | None) -> bytes | None:
    """A stored embedding's vector as :data:`VECTOR_DTYPE` bytes (None without one)."""
    vector = _embedding_dict(embedding).get("vector")
    return None if vector is None else np.asarray(vector, dtype=VECTOR_DTYPE).tobytes()


def vector_from_bytes(data: bytes | memoryview | None) -> np.ndarray | None:
    """The vector :func:`embedding_vector_bytes` stored, read without a copy (read-only)."""
    return None if data is None else np.frombuffer(data, dtype=VECTOR_DTYPE)


class _FromEmbedding:
    """A column derived from the row's ``embedding`` JSON whenever the row is written by a save or an insert
    (``save``, also with ``update_fields`` naming the embedding, ``create``, ``update_or_create``,
    ``bulk_create``), so the two cannot disagree. ``bulk_update``
    and ``QuerySet.update`` do not derive: check constraints refuse a vector without the JSON and JSON
    with a vector but no vector column."""

    derive = None

    def pre_save(self, model_instance, add):
        value = type(self).derive(model_instance.embedding)
        setattr(model_instance, self.attname, value)
        return value


class EmbeddingModelField(_FromEmbedding, models.CharField):
    """The embedding's encoder name, so that screening can ask which recordings have one of a given model
    without reading (and decompressing) the JSON."""

    derive = staticmethod(embedding_model_name)


class EmbeddingVectorField(_FromEmbedding, models.BinaryField):
    """The embedding's vector as float64 bytes: a catch-up night reads hundreds of thousands of baseline
    embeddings, and decoding each from a JSON list of 256 numbers was a third of its time."""

    derive = staticmethod(embedding_vector_bytes)


class FeatureSet(models.Model):
    recording = models.ForeignKey("clinic.Recording", on_delete=models.CASCADE, related_name="feature_sets")
    version = models.CharField(max_length=32)
    features = models.JSONField(help_text="Feature name -> value (null where undefined)")
    quality = models.JSONField()
    embedding = models.JSONField(null=True, blank=True)
    # Derived from ``embedding`` on every write (see _FromEmbedding): what the nightly screening reads.
    embedding_model = EmbeddingModelField(max_length=64, blank=True, default="", editable=False)
    embedding_vector = EmbeddingVectorField(null=True, editable=False)
    speaker_similarity = models.FloatField(null=True, blank=True)
    speaker_mismatch = models.BooleanField(null=True, blank=True)
    emotion = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    def save(self, *args, update_fields=None, **kwargs):
        # ``save(update_fields=["embedding"])`` writes only the fields named: the derived columns go with it.
        if update_fields is not None and "embedding" in update_fields:
            update_fields = {*update_fields, "embedding_model", "embedding_vector"}
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def vector(self) -> np.ndarray | None:
        """The embedding's vector, from its float64 column."""
        return vector_from_bytes(self.embedding_vector)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recording", "version"], name="one_feature_set_per_version"),
            # The derived columns follow the JSON: none without an embedding, a vector wherever the JSON has one.
            models.CheckConstraint(condition=models.Q(embedding__isnull=False)
                                   | models.Q(embedding_vector__isnull=True, embedding_model=""),
                                   name="featureset_no_vector_without_embedding"),
            models.CheckConstraint(condition=~models.Q(embedding__has_key="vector")
                                   | models.Q(embedding_vector__isnull=False),
                                   name="featureset_vector_with_embedding"),
        ]
        ordering = ["-computed_at"]
        # The nightly screening asks every night which of a chunk's recordings are flagged as another
        # speaker and which still wait for their speaker check: a few rows each, which without these
        # indexes cost a scan of every feature set (docs/operations.md, "Nightly screening at scale").
        indexes = [
            models.Index(fields=["recording"], condition=models.Q(speaker_mismatch=True),
                         name="featureset_speaker_mismatch"),
            models.Index(fields=["recording"],
                         condition=models.Q(speaker_similarity__isnull=True, embedding_vector__isnull=False),
                         name="featureset_speaker_unchecked"),
        ]
