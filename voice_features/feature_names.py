"""The feature keys of the contract in DESIGN.md, in one place (no heavy imports)."""

__all__ = ["FEATURE_NAMES"]

FEATURE_NAMES: tuple[str, ...] = (
    "duration_s",
    "speech_s",
    "syllable_count",
    "speech_rate_syl_s",
    "articulation_rate_syl_s",
    "speech_rate_cv",
    "pause_count",
    "pause_rate_per_min",
    "pause_mean_s",
    "pause_median_s",
    "pause_ratio",
    "f0_median_hz",
    "f0_median_st",
    "f0_range_st",
    "f0_sd_st",
    "intensity_mean_db",
    "jitter_local",
    "shimmer_local",
    "hnr_db",
    "voiced_fraction",
)
