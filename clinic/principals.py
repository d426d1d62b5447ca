"""Who is asking: a patient app reaches only its own patient (staff are Django users)."""

from dataclasses import dataclass

from clinic.models import Patient


@dataclass(frozen=True)
class PatientPrincipal:
    """The authenticated identity of a patient app: it reaches only this patient."""

    patient: Patient
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> str:
        return f"patient:{self.patient.pk}"
