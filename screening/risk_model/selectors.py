"""Reads of the risk model: the active population model."""

from screening.models import RiskModel
from screening.risk_model.model import PRIOR_MODEL
from screening.risk_model.model import RiskModel as ScoringModel

__all__ = ["active_risk_model", "active_risk_model_row"]


def active_risk_model_row() -> tuple[ScoringModel, RiskModel | None]:
    """The fitted population model marked active and its row, else the documented prior and None."""
    row = RiskModel.objects.filter(active=True).first()
    return (ScoringModel.from_dict(row.payload), row) if row else (PRIOR_MODEL, None)


def active_risk_model() -> ScoringModel:
    """The fitted population model marked active, else the documented (uncalibrated) prior."""
    return active_risk_model_row()[0]
