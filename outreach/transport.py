"""The wire: e-mail over SMTP, signed webhooks, Web Push (RFC 8030, payload encrypted per RFC 8291 by pywebpush).

Each sender raises :class:`DeliveryError` with a sentence a person can read (never the library's text), or
:class:`SubscriptionGone` when the push service says the subscription no longer exists (404/410).
"""

import base64
import hashlib
import hmac
import json
import smtplib
import socket
import time
from functools import lru_cache

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.mail import EmailMessage
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

__all__ = ["DeliveryError", "SubscriptionGone", "email_send", "push_send", "signature_header", "vapid_public_key",
           "webhook_send"]


class DeliveryError(Exception):
    """A message could not be delivered this time; the text says why in words."""


class SubscriptionGone(DeliveryError):
    """The push service no longer knows this subscription (HTTP 404 or 410)."""


def _smtp_reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "The mail server refused the recipient's address."
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "The mail server refused Cadence's login (EMAIL_HOST_USER / EMAIL_HOST_PASSWORD)."
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "The mail server did not answer in time."
    if isinstance(exc, ConnectionRefusedError):
        return "The mail server refused the connection (is EMAIL_HOST/EMAIL_PORT right and the server up?)."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The mail server answered with error {exc.smtp_code}."
    if isinstance(exc, (socket.gaierror,)):
        return "The mail server's name could not be resolved."
    return f"The mail server could not be reached or took no message ({type(exc).__name__})."


def email_send(*, to: str, subject: str, body: str) -> None:
    message = EmailMessage(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(_smtp_reason(exc)) from exc


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the receiver recomputes it and checks the time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_send(*, url: str, secret: str, payload: dict, delivery_id: str) -> None:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "Cadence-webhook/1",
               "X-Cadence-Delivery": delivery_id}
    if secret:
        headers["X-Cadence-Signature"] = signature_header(secret=secret, body=body, timestamp=int(time.time()))
    try:
        response = requests.post(url, data=body, headers=headers, timeout=settings.CADENCE_WEBHOOK_TIMEOUT_S,
                                 allow_redirects=False)
    except requests.Timeout as exc:
        raise DeliveryError("The webhook did not answer in time.") from exc
    except requests.RequestException as exc:
        raise DeliveryError("The webhook could not be reached (connection refused or name not resolved).") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"The webhook answered HTTP {response.status_code}.")


@lru_cache(maxsize=4)
def _vapid(private_key: str) -> Vapid02:
    text = private_key.strip()
    if text.startswith("-----BEGIN"):
        return Vapid02.from_pem(text.encode())
    return Vapid02.from_string(text)


def vapid_public_key() -> str:
    """The application server key the browser subscribes with (base64url, uncompressed P-256 point); "" if unset."""
    if not settings.CADENCE_VAPID_PRIVATE_KEY:
        return ""
    raw = _vapid(settings.CADENCE_VAPID_PRIVATE_KEY).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def push_send(*, endpoint: str, p256dh: str, auth: str, payload: dict, ttl_s: int) -> None:
    if not settings.CADENCE_VAPID_PRIVATE_KEY:
        raise DeliveryError("Web Push is not configured (CADENCE_VAPID_PRIVATE_KEY is empty).")
    try:
        webpush({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=json.dumps(payload, separators=(",", ":")),
                vapid_private_key=_vapid(settings.CADENCE_VAPID_PRIVATE_KEY),
                vapid_claims={"sub": settings.CADENCE_VAPID_SUBJECT}, ttl=ttl_s,
                timeout=settings.CADENCE_WEBHOOK_TIMEOUT_S)
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            raise SubscriptionGone(f"The push service says the subscription is gone (HTTP {status}).") from exc
        if status is not None:
            raise DeliveryError(f"The push service answered HTTP {status}.") from exc
        raise DeliveryError("The push service could not be reached.") from exc
    except requests.RequestException as exc:
        raise DeliveryError("The push service could not be reached.") from exc
    except (ValueError, TypeError) as exc:
        raise DeliveryError("The push subscription's keys are not valid.") from exc
