"""Writing the audit log: every staff read or write of patient data."""

from django.http import HttpRequest

from clinic.models import AuditEvent, Patient


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _staff_user(request: HttpRequest):
    """The signed-in clinician, or None for anonymous callers and patient apps (not staff)."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "care_teams"):
        return None
    return user


def audit_record(
    *, request: HttpRequest, action: str, resource: str, patient: Patient | None = None, object_id: object = ""
) -> None:
    """Append one event for a staff user; patients reading their own data are not staff."""
    user = _staff_user(request)
    if user is None:
        return
    AuditEvent.objects.create(
        actor=user,
        action=action,
        resource=resource,
        object_id=str(object_id),
        patient_code=patient.code if patient else "",
        path=request.get_full_path()[:512],
        ip_address=_client_ip(request),
    )


def audit_record_many(*, request: HttpRequest, resource: str, patients: list[Patient]) -> None:
    """One event per patient shown in a list, written in one query."""
    user = _staff_user(request)
    if user is None or not patients:
        return
    path, ip = request.get_full_path()[:512], _client_ip(request)
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=user, action="read", resource=resource, object_id=str(p.pk), patient_code=p.code,
                   path=path, ip_address=ip)
        for p in patients
    )
