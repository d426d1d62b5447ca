"""Every API error is JSON: {"error": <code>, "detail": <sentence a person can read>}.

DRF's exceptions go through :func:`exception_handler`; what never reaches a DRF view
(an id that is not a number, an unknown path, a crash) goes through Django's error
handlers, which answer the same JSON for paths under ``/api/`` (see ``config/urls.py``).
"""

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.services import InputRejected


def exception_handler(exc, context):
    if isinstance(exc, InputRejected):
        return Response({"error": exc.code, "detail": exc.message}, status=exc.http_status)
    if isinstance(exc, ParseError):  # never the parser's own words (library text)
        exc = ParseError(_("The request body could not be read: check that it is well-formed and matches its "
                           "Content-Type."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        code = getattr(data["detail"], "code", "error")
        response.data = {"error": str(code), "detail": str(data["detail"])}
    elif response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = {"error": "invalid", "detail": _first_problem(data), "fields": data}
    return response


def _first_problem(data) -> str:
    """A sentence naming the first invalid field, e.g. "patient: A valid integer is required."."""
    if isinstance(data, dict) and data:
        name, problems = next(iter(data.items()))
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, str):
            return first if name == "non_field_errors" else _("%(field)s: %(problem)s") % {"field": name,
                                                                                          "problem": first}
    return _("The request has invalid fields.")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(code: str, detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status_code)


def not_found(request: HttpRequest, exception=None):
    if _is_api(request):
        return _json("not_found", _("Nothing is at this address, or you may not see it."), 404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception=None):
    if _is_api(request):
        return _json("bad_request", _("The request could not be understood."), 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception=None):
    if _is_api(request):
        return _json("permission_denied", _("You may not do this."), 403)
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest):
    if _is_api(request):
        return _json("server_error", _("Something went wrong on our side; it has been logged."), 500)
    return defaults.server_error(request)
