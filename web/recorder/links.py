"""The enrolment link a clinician hands to a patient's phone: its URL and a QR code drawn by the server."""

import segno
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import escape


def enrolment_url(request: HttpRequest, key: str) -> str:
    """The key rides in the fragment: browsers never send it to a server, so it stays out of access logs."""
    return f"{request.build_absolute_uri(reverse('recorder:enrol'))}#{key}"


def qr_svg(url: str, *, label: str) -> str:
    """An inline SVG QR code (error correction M), labelled for screen readers."""
    svg = segno.make(url, error="m").svg_inline(scale=6, dark="#000", light="#fff", svgclass="qr", lineclass=None)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
