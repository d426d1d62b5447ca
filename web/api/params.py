"""Query parameters are validated like bodies: a bad value is a 400 in the API's error format."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

#: Largest id PostgreSQL's integer columns hold; bigger ids cannot exist.
MAX_ID = 2**31 - 1


class Query(serializers.Serializer):
    """Base of every query serializer: unknown parameters are refused, not ignored."""

    #: Parameters handled outside the serializer (the paginator's cursor, DRF's ?format=).
    passthrough: tuple[str, ...] = ("format",)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields) - set(self.passthrough))
        if unknown:
            raise ValidationError({name: [_("Unknown query parameter.")] for name in unknown})
        for name, value in data.items():
            if "\x00" in str(value):
                raise ValidationError({name: [_("The value contains a NUL character.")]})
            if str(value).strip() == "":
                raise ValidationError({name: [_("The value is empty: give one or leave the parameter out.")]})
        return super().to_internal_value(data)


class ListQuery(Query):
    passthrough = ("format", "cursor")
    page_size = serializers.IntegerField(required=False, min_value=1,
                                         max_value=settings.CADENCE_API_MAX_PAGE_SIZE)


class PatientFilterQuery(ListQuery):
    patient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                       help_text="Only this patient's items (404 if you may not see the patient).")


def _include_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=["embedding"], required=False,
                                   help_text="embedding: add the 256-number speaker embedding to each feature set.")


class RecordingListQuery(PatientFilterQuery):
    include = _include_field()


class RecordingDetailQuery(Query):
    include = _include_field()


class Phq9PostQuery(Query):
    patient = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                       help_text="Clinicians: the patient answered for.")


class ExportQuery(Query):
    as_ = serializers.ChoiceField(choices=["fhir", "csv"], required=False, default="fhir",
                                  help_text="Export format.")

    def get_fields(self):
        fields = super().get_fields()
        fields["as"] = fields.pop("as_")
        return fields


def parse(serializer_class: type[Query], request) -> dict:
    """The validated query parameters of ``request`` (a 400 ValidationError otherwise)."""
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data
