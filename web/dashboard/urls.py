from django.contrib.auth import views as auth_views
from django.urls import path

from web.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="dashboard/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.triage, name="triage"),
    path("patients/<int:patient_id>/", views.patient_detail, name="patient"),
    path("patients/<int:patient_id>/phq9/", views.patient_phq9_create, name="patient-phq9"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve/", views.alert_resolve_view, name="alert-resolve"),
    path("reports/validation/", views.validation_report, name="validation"),
    path("reports/validation/generate/", views.validation_report_generate, name="validation-generate"),
    path("processing/", views.processing, name="processing"),
    path("audit/", views.audit_log, name="audit"),
]
