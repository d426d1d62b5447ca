from django.urls import path

from web.api import reports as views

urlpatterns = [
    path("patients/<int:patient_id>/timeline/", views.TimelineView.as_view(), name="patient-timeline"),
    path("reports/phq9-validation/", views.ValidationReportView.as_view(), name="phq9-validation-report"),
]
