"""Reads of the risk model: the active population model, and the active early reference (population norms and
the early model for estimates before a personal baseline)."""

from screening.models import EarlyReference, RiskModel
from screening.risk_model.early import EARLY_PRIOR_MODEL, LITERATURE_NORMS_MODEL, PopulationNorms
from screening.risk_model.model import PRIOR_MODEL
from screening.risk_model.model import RiskModel as ScoringModel

__all__ = ["active_risk_model", "active_risk_model_row", "early_reference"]


def active_risk_model_row() -> tuple[ScoringModel, RiskModel | None]:
    """The fitted population model marked active and its row, else the documented prior and None."""
    row = RiskModel.objects.filter(active=True).first()
    return (ScoringModel.from_dict(row.payload), row) if row else (PRIOR_MODEL, None)


def active_risk_model() -> ScoringModel:
    """The fitted population model marked active, else the documented (uncalibrated) prior."""
    return active_risk_model_row()[0]


def early_reference() -> tuple[PopulationNorms, ScoringModel]:
    """The active early reference (``manage.py fit_early_model``): the clinic's norms and early model; else the
    literature norms and the uncalibrated early prior."""
    row = EarlyReference.objects.filter(active=True).first()
    if row is None:
        return LITERATURE_NORMS_MODEL, EARLY_PRIOR_MODEL
    model = row.payload.get("model")
    return (PopulationNorms.from_dict(row.payload["norms"]),
            EARLY_PRIOR_MODEL if model is None else ScoringModel.from_dict(model))
