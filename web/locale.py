"""Which language a page speaks: the patient's on the recorder, the clinician's own on the dashboard.

- The recorder (``/r/``): ``?lang=`` when the page's script asks for its patient's language (it reads it with the
  phone's token from ``GET /api/v1/patient/``), remembered in a cookie limited to ``/r/``; then the phone's
  browser (``Accept-Language``).
- Anywhere else: a signed-in clinician's own language (``StaffProfile.language``, kept in the session from login
  on, and updated there when they change it on the dashboard), then the browser.
- The API answers in the language the caller asks for (``Accept-Language``; the recorder sends its page's).

Only the languages of ``settings.LANGUAGES`` are ever activated; anything else falls back to the default.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

from clinic.accounts import staff_language

RECORDER_PREFIX = "/r/"
SESSION_KEY = "cadence_own_language"


def supported_language(code: str | None) -> str | None:
    """The interface language for a BCP 47 tag (``es-MX`` -> ``es``), or None when Cadence does not speak it."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code.strip().lower().replace("_", "-"))
    except LookupError:
        return None


def remember_own_language(sender, request: HttpRequest, user, **kwargs) -> None:
    """At login, the clinician's own language goes into their session (no query per page)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = staff_language(user)


def _own_language(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        return session[SESSION_KEY]
    return staff_language(user)  # a session from before this setting existed


class LanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        remember = None
        if request.path.startswith(RECORDER_PREFIX):
            remember = supported_language(request.GET.get("lang"))
            language = (remember or supported_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
                        or translation.get_language_from_request(request))
        else:
            language = supported_language(_own_language(request)) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        if remember:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, remember, max_age=365 * 86400,
                                path=settings.LANGUAGE_COOKIE_PATH, secure=settings.LANGUAGE_COOKIE_SECURE,
                                httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
