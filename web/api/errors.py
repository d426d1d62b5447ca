"""Every API error is JSON: {"error": <code>, "detail": <sentence a person can read>}."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.services import UploadRejected


def exception_handler(exc, context):
    if isinstance(exc, UploadRejected):
        return Response({"error": exc.code, "detail": exc.message}, status=exc.http_status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        code = getattr(data["detail"], "code", "error")
        response.data = {"error": str(code), "detail": str(data["detail"])}
    elif response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = {"error": "invalid", "detail": "The request has invalid fields.", "fields": data}
    return response
