"""Writing the audit log: every staff read or write of patient data."""

import re
from urllib.parse import quote, quote_plus

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

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


def audit_record_many(*, request: HttpRequest, resource: str, patients: list[Patient], action: str = "read") -> None:
    """One event per patient shown in a list, written in one query."""
    user = _staff_user(request)
    if user is None or not patients:
        return
    path, ip = request.get_full_path()[:512], _client_ip(request)
    AuditEvent.objects.bulk_create(
        AuditEvent(actor=user, action=action, resource=resource, object_id=str(p.pk), patient_code=p.code,
                   path=path, ip_address=ip)
        for p in patients
    )


def audit_identity(*, request: HttpRequest | None, actor, action: str, resource: str, object_id: object = "",
                   path: str = "") -> None:
    """A sign-in, a refused sign-in, a second factor added or reset, a password reset or an API token.

    ``actor`` is the account concerned (None when a refused sign-in names no account), since the request's user is
    not signed in yet when most of these happen. No password, code or token is ever written.
    """
    AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None, action=action, resource=resource,
        object_id=str(object_id)[:64], path=(path or (request.get_full_path() if request else ""))[:512],
        ip_address=_client_ip(request) if request is not None else None,
    )


def erased_code_tombstone(code: str) -> str:
    """A keyed hash of an erased patient's code: the same code always gives the same tombstone, yet
    without the server's SECRET_KEY the code cannot be recovered or confirmed."""
    return "erased:" + salted_hmac("cadence.erasure", code, algorithm="sha256").hexdigest()[:32]


def audit_tombstone(*, code: str, actor, via: str) -> str:
    """Replace an erased patient in the audit log by a tombstone and record the erasure.

    The one sanctioned rewrite of the append-only log: events keep when, who and what, but
    lose the code, the object ids and the paths that named the patient.
    """
    tombstone = erased_code_tombstone(code)
    AuditEvent.objects.filter(patient_code=code).update(patient_code=tombstone, object_id="", path="[erased]")
    spellings = {code, quote(code), quote_plus(code)}  # as typed, and as a URL carries it
    pattern = re.compile("|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True)), re.IGNORECASE)
    for spelling in spellings:
        for pk, path in AuditEvent.objects.filter(path__icontains=spelling).values_list("pk", "path"):
            AuditEvent.objects.filter(pk=pk).update(path=pattern.sub(tombstone, path)[:512])
    AuditEvent.objects.create(actor=actor, action=AuditEvent.Action.ERASE, resource="patient",
                              patient_code=tombstone, path=via[:512])
    return tombstone
