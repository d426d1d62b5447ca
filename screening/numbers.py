"""The one NaN <-> JSON null conversion of screening (stored payloads, reports, metrics)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["none_if_nan", "nan_if_none", "json_ready"]


def none_if_nan(value: float | None) -> float | None:
    """A finite number as float; NaN, infinity and None as None (JSON null)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def nan_if_none(value: float | None) -> float:
    """The inverse of :func:`none_if_nan` for reading a payload back."""
    return math.nan if value is None else float(value)


def json_ready(value: Any) -> Any:
    """Recursively turn NumPy/pandas scalars into Python and non-finite floats into None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return none_if_nan(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
