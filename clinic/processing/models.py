"""Stored features: one row per recording and feature-set version, so versions coexist."""

from django.db import models


class FeatureSet(models.Model):
    recording = models.ForeignKey("clinic.Recording", on_delete=models.CASCADE, related_name="feature_sets")
    version = models.CharField(max_length=32)
    features = models.JSONField(help_text="Feature name -> value (null where undefined)")
    quality = models.JSONField()
    embedding = models.JSONField(null=True, blank=True)
    speaker_similarity = models.FloatField(null=True, blank=True)
    speaker_mismatch = models.BooleanField(null=True, blank=True)
    emotion = models.JSONField(null=True, blank=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recording", "version"], name="one_feature_set_per_version")]
        ordering = ["-computed_at"]
        # The nightly screening asks every night which of a chunk's recordings are flagged as another
        # speaker and which still wait for their speaker check: a few rows each, which without these
        # indexes cost a scan of every feature set (docs/operations.md, "Nightly screening at scale").
        indexes = [
            models.Index(fields=["recording"], condition=models.Q(speaker_mismatch=True),
                         name="featureset_speaker_mismatch"),
            models.Index(fields=["recording"],
                         condition=models.Q(speaker_similarity__isnull=True, embedding__isnull=False),
                         name="featureset_speaker_unchecked"),
        ]
