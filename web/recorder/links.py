"""The enrolment link a clinician hands to a patient's phone: its URL and a QR code drawn by the server.

The URL is built from ``CADENCE_BASE_URL``, never from the address the clinician's browser used: the
dashboard may be open on ``127.0.0.1`` or an internal name that a phone cannot reach.
"""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _


class LinkUnusable(Exception):
    """CADENCE_BASE_URL names an address a patient's phone cannot open (or record on); the message says why."""


@dataclass(frozen=True)
class EnrolmentBase:
    """Where enrolment links point; ``warning`` is set when the embedded demo makes one anyway."""

    url: str
    warning: str | None

    def link(self, key: str) -> str:
        """The key rides in the fragment: browsers never send it to a server, so it stays out of access logs."""
        return f"{self.url}#{key}"


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def base_url_problem(base_url: str) -> str | None:
    """Why a phone could not use links built on ``base_url``, in words (None when it can)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return _("CADENCE_BASE_URL (%(url)s) is not a web address such as https://cadence.example.org, so no "
                 "link can be made from it.") % {"url": base_url or _("empty")}
    if _loopback(host):
        return _("CADENCE_BASE_URL is %(url)s, an address of this computer only: on a phone it means the phone "
                 "itself, so the link would not open there. Set CADENCE_BASE_URL to the HTTPS address phones "
                 "reach this service at (for example https://cadence.example.org).") % {"url": base_url}
    if parts.scheme != "https":
        return _("CADENCE_BASE_URL is %(url)s, a plain-HTTP address: a phone's browser lets a page use the "
                 "microphone only over HTTPS, so the patient could not record. Serve Cadence over HTTPS and set "
                 "CADENCE_BASE_URL to that address.") % {"url": base_url}
    return None


def enrolment_base() -> EnrolmentBase:
    """Where enrolment links point. Outside the embedded demo (DEBUG) an address a phone cannot use is refused
    with :class:`LinkUnusable` before any link exists; the demo makes the link and carries the warning."""
    base = settings.CADENCE_BASE_URL.rstrip("/")
    problem = base_url_problem(base)
    if problem and not settings.DEBUG:
        raise LinkUnusable(problem)
    return EnrolmentBase(url=f"{base}{reverse('recorder:enrol')}", warning=problem)


def qr_svg(url: str, *, label: str) -> str:
    """An inline SVG QR code (error correction M), labelled for screen readers."""
    svg = segno.make(url, error="m").svg_inline(scale=6, dark="#000", light="#fff", svgclass="qr", lineclass=None)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
