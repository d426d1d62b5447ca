from allauth.account import views as account_views
from django.contrib.auth import views as auth_views
from django.urls import path

from web.dashboard import enrol_views, outreach_views, views
from web.dashboard.forms import StaffPasswordResetForm
from web.identity import passwords
from web.identity import views as identity_views

app_name = "dashboard"

urlpatterns = [
    path("login/", account_views.login, name="login"),
    path("logout/", account_views.logout, name="logout"),
    path("account/", identity_views.account_security, name="account"),
    path("password-reset/", passwords.PasswordResetView.as_view(form_class=StaffPasswordResetForm), name="password-reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="dashboard/password_reset_done.html"), name="password-reset-done"),
    path("password/set/<uidb64>/<token>/", passwords.PasswordSetView.as_view(), name="password-set"),
    path("password/set/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="dashboard/password_set_done.html"), name="password-set-done"),
    path("", views.triage, name="triage"),
    path("patients/new/", enrol_views.patient_add, name="patient-add"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/details/", enrol_views.patient_edit, name="patient-edit"),
    path("patients/<int:patient_id>/monitoring/", enrol_views.patient_monitoring, name="patient-monitoring"),
    path("patients/<int:patient_id>/phq9/", views.patient_phq9_create, name="patient-phq9"),
    path("patients/<int:patient_id>/recordings/<int:recording_id>/emotion-label/", views.patient_emotion_label,
         name="patient-emotion-label"),
    path("patients/<int:patient_id>/enrolment-link/", enrol_views.patient_enrolment_link_create,
         name="patient-enrolment-link"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/", outreach_views.alert_detail, name="alert"),
    path("notifications/", outreach_views.my_notifications, name="my-notifications"),
    path("teams/<int:team_id>/notifications/", outreach_views.team_notifications, name="team-notifications"),
    path("patients/<int:patient_id>/reminders/", outreach_views.patient_reminders, name="patient-reminders"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve_view, name="alert-resolve"),
    path("reports/validation/", views.validation_report, name="validation"),
    path("reports/validation/generate/", views.validation_report_generate, name="validation-generate"),
    path("reports/validation/<int:report_id>/page/", views.validation_report_page, name="validation-page"),
    path("processing/", views.processing, name="processing"),
    path("audit/", views.audit_log, name="audit"),
    path("monitoring/", views.monitoring, name="monitoring"),
    path("monitoring/deliveries/<int:delivery_id>/retry/", outreach_views.delivery_retry, name="delivery-retry"),
    path("language/", views.own_language, name="language"),
]
