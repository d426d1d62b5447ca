"""Security headers on every URL pattern: CSP, Permissions-Policy, and no-store on anything with patient data.

The walk takes every pattern Django resolves (the admin's included), fills its parameters with the cast's
rows, and asks as an anonymous caller, a clinician's session, an administrator's session and a patient's
token, so that each view answers with the data it would really show.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from clinic.models import Recording

pytestmark = pytest.mark.slow  # scheduled first (tests/conftest.py)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Responses that carry no patient data and set their own caching on purpose.
OWN_CACHING = {  # no patient data in either; revalidated, so updates reach phones
    "/r/sw.js": "no-cache",  # the recorder's service worker
    "/r/manifest.webmanifest": "no-cache",  # the web app manifest (Add to Home Screen)
}


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + _route(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _route(pattern) -> str:
    text = str(pattern)
    if hasattr(pattern, "regex") and text.startswith("^"):  # a regex pattern (the admin's app index)
        text = re.sub(r"\(\?P<app_label>[^)]*\)", "clinic", text).lstrip("^").rstrip("$").replace("\\Z", "")
    return text


def _fill(route: str, ids: dict) -> str:
    def value(match):
        kind, name = match.group(1) or "str", match.group(2)
        return str(ids.get(name, ids["default"] if kind in ("int", "path") else "x"))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


@pytest.fixture
def ids(cast):
    from django.contrib.auth.models import User

    from clinic.storage import audio_store
    from screening.models import Alert
    from tests.conftest import tone_wav

    stored = audio_store(prefix="recordings", chunks=[tone_wav(seconds=3)])
    recording = Recording.objects.create(patient=cast.patient_a, file=stored, sha256="2" * 64,
                                         size_bytes=10, container="wav", recorded_at=timezone.now(), status="done")
    alert = Alert.objects.create(patient=cast.patient_a, kind="phq9_rise", priority=2, episode_key="k", message="m")
    User.objects.create_superuser("root", password="root-password-1")
    return {"patient_id": cast.patient_a.pk, "recording_id": recording.pk, "alert_id": alert.pk,
            "team_id": cast.north.pk, "object_id": cast.patient_a.pk, "default": cast.patient_a.pk,
            "model_name": "patient", "app_label": "clinic"}


def _callers(cast):
    anonymous, clinician, admin = Client(), Client(), Client()
    clinician.force_login(cast.alice)
    from django.contrib.auth.models import User

    admin.force_login(User.objects.get(username="root"))
    return {"anonymous": anonymous, "clinician": clinician, "admin": admin,
            "patient": Client(HTTP_AUTHORIZATION=f"Bearer {cast.key_a}"),
            "clinician token": Client(HTTP_AUTHORIZATION=f"Bearer {cast.alice_token}")}


#: What the CSP would block in a page: inline script (not a json_script data block), style elements and
#: attributes, event-handler attributes, javascript: URLs.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style\b|\sstyle=\"|"
                    r"\son[a-z]+=\"|javascript:", re.IGNORECASE)


def test_it_sends_the_security_headers_on_every_url(cast, ids, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    urls = sorted({_fill(route, ids) for route in _routes(get_resolver().url_patterns)})
    assert len(urls) > 60  # the dashboard, the API, the recorder and the admin's pages
    problems, answered = [], 0
    # A bearer token reaches only the API; the administrator's session adds only the admin's pages.
    reaches = {"patient": ("/api/",), "clinician token": ("/api/",), "admin": ("/admin/",)}
    for who, client in _callers(cast).items():
        for url in urls:
            if who in reaches and not url.startswith(reaches[who]):
                continue
            response = client.get(url)
            answered += 1
            if response.status_code >= 500:
                problems.append(f"{who} {url}: {response.status_code}")
            if response.get("Content-Type", "").startswith("text/html"):
                problems += [f"{who} {url}: inline {m.group(0)}" for m in INLINE.finditer(response.content.decode())]
            cache = response.get("Cache-Control", "")
            if url in OWN_CACHING:
                if cache != OWN_CACHING[url]:
                    problems.append(f"{who} {url}: Cache-Control {cache!r}")
            elif "no-store" not in cache:
                problems.append(f"{who} {url} ({response.status_code}): Cache-Control {cache!r}")
            if response.get("Content-Security-Policy") != CSP:
                problems.append(f"{who} {url}: CSP {response.get('Content-Security-Policy')!r}")
            microphone = "microphone=(self)" if url.startswith("/r/") else "microphone=()"
            if microphone not in response.get("Permissions-Policy", ""):
                problems.append(f"{who} {url}: Permissions-Policy {response.get('Permissions-Policy')!r}")
    assert answered > 150
    assert problems == [], "\n".join(problems[:40])
