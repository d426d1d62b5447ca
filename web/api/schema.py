"""OpenAPI description: the bearer-token scheme, and every error status each operation can answer."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from clinic.services import BCP47_PATTERN


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "web.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A clinician token from /api/v1/auth/token/ or a patient's upload token.",
        }


#: Error statuses every operation may answer, with why.
COMMON_ERRORS = {
    "400": "Invalid input: a query parameter or field (see `fields`).",
    "401": "Not authenticated, or the token is invalid, revoked or expired.",
    "403": "Authenticated, but this kind of caller may not do this.",
    "404": "Nothing there, or not yours to see (the same answer for both).",
    "503": "A dependency (database, cache, broker, storage) is briefly down; retry after the Retry-After seconds.",
}
#: Error statuses of requests with a body.
BODY_ERRORS = {"415": "The body's media type is not one this operation reads."}
#: Extra error statuses of particular operations, by operationId.
OPERATION_ERRORS = {
    "v1_recordings_create": {
        "413": "The upload is larger than the size limit.",
        "415": "Not audio, or a codec or sample rate that cannot be analysed.",
        "409": "recorded_at conflicts with the server's clock (in the future) or with the patient's enrolment "
               "(before it), or the Idempotency-Key was already used for a different file.",
        "422": "Too short or too long, or too many channels.",
        "429": "Too many uploads; retry after the Retry-After seconds.",
    },
    "v1_patients_create": {"409": "A patient with this code is already enrolled (codes are unique)."},
    "v1_phq9_create": {"409": "answered_at is in the future by the server's clock."},
    "v1_recordings_emotion_label_update": {
        "409": "No speech-emotion model is active: there are no classes to label with.",
    },
    "v1_auth_token_create": {"429": "Too many attempts; retry after the Retry-After seconds."},
    "v1_enrolment_links_redeem_create": {
        "410": "The link was already used, has expired, or the patient's monitoring has ended.",
        "429": "Too many attempts; retry after the Retry-After seconds.",
    },
}


class ApiAutoSchema(AutoSchema):
    """Declares the JSON error body for every status an operation may answer besides its success."""

    def _get_response_bodies(self, direction="response"):
        from web.api.serializers import ErrorSerializer

        responses = super()._get_response_bodies(direction)
        errors = dict(COMMON_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors |= BODY_ERRORS
        errors |= OPERATION_ERRORS.get(self.get_operation_id(), {})
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, media_types=["application/json"],
                                                       direction=direction)
                responses[code] = response | {"description": description}
        return responses


def upload_task_combinations(result, generator, request, public):
    """Postprocessing hook: the upload form says which ``task_detail`` goes with which ``task`` (a passage for
    read_passage, nothing or a prompt for free_speech, nothing otherwise), so a form the schema calls valid is
    one the server accepts."""
    from clinic.protocols import FREE_SPEECH_PROMPTS, PASSAGES, Task

    form = result.get("components", {}).get("schemas", {}).get("RecordingUploadRequest")
    if not form:
        return result
    passages, prompts = sorted(PASSAGES), sorted(FREE_SPEECH_PROMPTS)
    form["properties"]["task_detail"] |= {"enum": ["", *passages, *prompts]}
    others = [t for t in Task.values if t not in (Task.READ_PASSAGE, Task.FREE_SPEECH)]
    form["anyOf"] = [
        {"properties": {"task": {"enum": [Task.READ_PASSAGE]}, "task_detail": {"enum": passages}},
         "required": ["task", "task_detail"]},
        {"properties": {"task": {"enum": [Task.FREE_SPEECH]}, "task_detail": {"enum": ["", *prompts]}}},
        {"properties": {"task": {"enum": others}, "task_detail": {"enum": [""]}}, "required": ["task"]},
    ]
    return result


def patient_form_rules(result, generator, request, public):
    """Postprocessing hook: a patient's ``timezone`` is an IANA name, ``language`` a language tag, and consent is recorded with both its form
    version and date or with neither, so the schema refuses what the server would."""
    from zoneinfo import available_timezones

    schemas = result.get("components", {}).get("schemas", {})
    for name in ("PatientRequest", "PatchedPatientRequest"):
        form = schemas.get(name)
        if not form:
            continue
        form["properties"]["timezone"] |= {"enum": sorted(available_timezones())}
        if "language" in form["properties"]:  # checked by PatientSerializer.validate_language
            form["properties"]["language"] |= {"pattern": f"^{BCP47_PATTERN.pattern}$"}
        if name == "PatientRequest":
            form["anyOf"] = [
                {"properties": {"consent_version": {"maxLength": 0}, "consent_given_at": {"enum": [None]}}},
                {"required": ["consent_version", "consent_given_at"],
                 "properties": {"consent_version": {"minLength": 1}, "consent_given_at": {"type": "string"}}},
            ]
    return result


def push_subscription_rules(result, generator, request, public):
    """A Web Push subscription as PushSubscription.toJSON() gives it: the endpoint URL and both keys."""
    form = result.get("components", {}).get("schemas", {}).get("PushSubscriptionRequest")
    if form:
        form["properties"]["endpoint"] = {"type": "string", "pattern": r"^https?://[!-~]+$", "maxLength": 1000}
        key = {"type": "string", "minLength": 1, "maxLength": 200}
        form["properties"]["keys"] = {"type": "object", "properties": {"p256dh": key, "auth": key},
                                      "required": ["p256dh", "auth"], "additionalProperties": False}
    return delete_bodies(result, generator, request, public)


def delete_bodies(result, generator, request, public):
    """drf-spectacular drops the body of a DELETE; the push-subscription DELETE needs one (which endpoint to turn
    off), so the schema says so and a client that sends none is told why (400), as the server does."""
    operation = result.get("paths", {}).get("/api/v1/push/subscription/", {}).get("delete")
    if operation is not None:
        body = {"type": "object", "properties": {"endpoint": {"type": "string", "minLength": 1, "maxLength": 1000}},
                "required": ["endpoint"]}
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return result


#: DRF's CharField refuses the NUL character in every string it reads (body fields and query parameters alike).
NO_NUL_PATTERN = r"^[^\u0000]*$"


def no_null_characters(result, generator, request, public):
    """Postprocessing hook: every free-text string the API reads refuses NUL (as DRF does), and the schema says
    so, so that a client's validator refuses what the server would."""
    def mark(schema: dict) -> None:
        if schema.get("type") == "string" and not ({"pattern", "enum", "format"} & schema.keys()):
            schema["pattern"] = NO_NUL_PATTERN

    for name, form in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            for prop in form.get("properties", {}).values():
                mark(prop)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "query":
                    mark(parameter.get("schema", {}))
    return result


def postprocess(result, generator, request, public):
    """Cadence's postprocessing hooks (settings.SPECTACULAR_SETTINGS), in order."""
    for hook in (upload_task_combinations, patient_form_rules, push_subscription_rules, no_null_characters):
        result = hook(result, generator, request, public)
    return result
