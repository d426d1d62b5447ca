"""Outreach in the API: a patient's reminder schedule, adherence and delivery log (clinicians); the recorder's
push subscription and "notification opened" reports (the patient's phone; the VAPID key is in the page)."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.audit import audit_record
from outreach import reminders as outreach_reminders
from outreach import selectors as outreach_selectors
from outreach.models import Delivery
from web.api.pagination import ApiCursorPagination
from web.api.params import ListQuery, Query, parse
from web.api.permissions import IsClinician, IsPatient
from web.api.views import paginated, visible_patient


class ReminderScheduleSerializer(serializers.Serializer):
    active = serializers.BooleanField(default=True)
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=7), min_length=1,
                                     max_length=7, help_text="ISO weekdays: 1 = Monday ... 7 = Sunday.")
    time_of_day = serializers.TimeField(help_text="Local time in the patient's time zone, HH:MM.")
    expiry_hours = serializers.IntegerField(min_value=1, max_value=72,
                                            help_text="After reminder time + this, the day's task counts as missed.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.RegexField(r"^\+[1-9][0-9]{6,14}$", required=False, allow_blank=True, default="",
                                   help_text="E.164 mobile number for the SMS gateway webhook.")
    time_zone = serializers.CharField(read_only=True, help_text="The patient's zone (the patient's timezone field)")
    next_reminder_at = serializers.DateTimeField(read_only=True, allow_null=True)


class AdherencePeriodSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    expected = serializers.IntegerField()
    received = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    missed_days = serializers.ListField(child=serializers.DateField())


class AdherenceSerializer(serializers.Serializer):
    last_14_days = AdherencePeriodSerializer()
    last_56_days = AdherencePeriodSerializer()


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "purpose", "channel", "state", "reason", "slot", "attempts", "created_at", "sent_at",
                  "opened_at"]


class PushSubscriptionSerializer(serializers.Serializer):
    # The push service's address, used as given (browsers' push services are https; a test's stand-in may be http).
    endpoint = serializers.RegexField(r"^https?://[!-~]+$", max_length=1000,
                                      error_messages={"invalid": gettext_lazy(
                                          "The endpoint must be a web address (https://...).")})
    keys = serializers.DictField(child=serializers.CharField(max_length=200))

    def validate_keys(self, value: dict) -> dict:
        if not value.get("p256dh") or not value.get("auth"):
            raise ValidationError(_("The subscription's keys need both 'p256dh' and 'auth'."))
        return value


class PushSubscribedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='"subscribed": reminders go to this phone by Web Push.')


class PushEndpointSerializer(serializers.Serializer):
    # Only compared with the stored subscriptions' endpoints: one that matches none turns nothing off.
    endpoint = serializers.CharField(max_length=1000)


def _schedule_out(schedule, patient) -> dict:
    return {"active": schedule.active, "weekdays": schedule.weekdays, "time_of_day": schedule.time_of_day,
            "expiry_hours": schedule.expiry_hours, "email": schedule.email, "phone": schedule.phone,
            "time_zone": outreach_selectors.patient_zone(patient).key, "next_reminder_at": schedule.next_reminder_at}


class ReminderScheduleView(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses=ReminderScheduleSerializer)
    def get(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        schedule = outreach_selectors.reminder_schedule(patient)
        audit_record(request=request, action="read", resource="reminder_schedule", patient=patient,
                     object_id=patient.pk)
        if schedule is None:
            raise NotFound(_("This patient has no reminder schedule yet; PUT one."))
        return Response(ReminderScheduleSerializer(_schedule_out(schedule, patient)).data)

    @extend_schema(request=ReminderScheduleSerializer, responses=ReminderScheduleSerializer)
    def put(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        data = ReminderScheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k not in ("time_zone", "next_reminder_at")}
        try:
            schedule = outreach_reminders.reminder_schedule_set(patient=patient, **fields)
        except outreach_reminders.OutreachError as exc:
            raise ValidationError({"detail": [str(exc)]}) from exc
        outreach_reminders.adherence_refresh(patient_ids=[patient.pk])
        audit_record(request=request, action="update", resource="reminder_schedule", patient=patient,
                     object_id=patient.pk)
        return Response(ReminderScheduleSerializer(_schedule_out(schedule, patient)).data)


class AdherenceView(APIView):
    permission_classes = [IsClinician]

    @extend_schema(responses=AdherenceSerializer)
    def get(self, request, patient_id: int):
        parse(Query, request)
        patient = visible_patient(request, patient_id)
        figures = outreach_selectors.adherence(patient=patient, now=timezone.now())
        audit_record(request=request, action="read", resource="adherence", patient=patient, object_id=patient.pk)
        if figures is None:
            raise NotFound(_("This patient has no reminder schedule, so no recordings are expected."))
        return Response(AdherenceSerializer(figures).data)


class DeliveryListView(APIView):
    permission_classes = [IsClinician]
    pagination_class = ApiCursorPagination
    ordering = ("-created_at", "-pk")

    @extend_schema(parameters=[ListQuery], responses=DeliverySerializer(many=True))
    def get(self, request, patient_id: int):
        parse(ListQuery, request)
        patient = visible_patient(request, patient_id)
        return paginated(self, request, Delivery.objects.filter(patient=patient).select_related("patient"),
                         DeliverySerializer, resource="deliveries")


class PushSubscriptionView(APIView):
    """The recorder sends its subscription on every visit (re-sync); DELETE when the patient turns push off."""

    permission_classes = [IsPatient]

    @extend_schema(request=PushSubscriptionSerializer, responses={201: PushSubscribedSerializer})
    def post(self, request):
        data = PushSubscriptionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keys = data.validated_data["keys"]
        outreach_reminders.push_subscription_sync(
            patient=request.user.patient, endpoint=data.validated_data["endpoint"], p256dh=keys["p256dh"],
            auth=keys["auth"], user_agent=request.headers.get("User-Agent", ""))
        return Response({"status": "subscribed"}, status=status.HTTP_201_CREATED)

    @extend_schema(request=PushEndpointSerializer, responses={204: None})
    def delete(self, request):
        data = PushEndpointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = data.validated_data["endpoint"]
        for sub in outreach_selectors.live_subscriptions(request.user.patient.pk):
            if sub.endpoint == endpoint:
                outreach_reminders.push_subscription_revoke(subscription_id=sub.pk, reason="Turned off on the phone.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryOpenedView(APIView):
    """The service worker reports a tapped notification; the id is the message's unguessable public id."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(request=None, responses={204: None}, auth=[])
    def post(self, request, public_id):
        outreach_reminders.push_opened(public_id=str(public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
