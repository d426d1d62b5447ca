from django.urls import path

from web.api import lifecycle, views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("patients/", views.PatientListView.as_view(), name="patient-list"),
    path("patients/<int:patient_id>/", views.PatientDetailView.as_view(), name="patient-detail"),
    path("patients/<int:patient_id>/upload-token/", views.UploadTokenView.as_view(), name="patient-upload-token"),
    path("patients/<int:patient_id>/enrolment-link/", views.EnrolmentLinkView.as_view(), name="patient-enrolment-link"),
    path("enrolment-links/redeem/", views.EnrolmentRedeemView.as_view(), name="enrolment-redeem"),
    path("patient/", views.PatientSelfView.as_view(), name="patient-self"),
    path("recordings/", views.RecordingListView.as_view(), name="recording-list"),
    path("recordings/<int:recording_id>/", views.RecordingDetailView.as_view(), name="recording-detail"),
    path("recordings/<int:recording_id>/audio/", views.RecordingAudioView.as_view(), name="recording-audio"),
    path("recordings/<int:recording_id>/emotion-label/", views.EmotionLabelView.as_view(),
         name="recording-emotion-label"),
    path("phq9/", views.Phq9ListView.as_view(), name="phq9-list"),
    path("patients/<int:patient_id>/phq9/export/", views.Phq9ExportView.as_view(), name="phq9-export"),
    path("patients/<int:patient_id>/erase/", lifecycle.PatientEraseView.as_view(), name="patient-erase"),
    path("care-teams/<int:team_id>/exports/", lifecycle.BulkExportCreateView.as_view(), name="bulk-export-create"),
    path("exports/<int:export_id>/", lifecycle.BulkExportDetailView.as_view(), name="bulk-export-detail"),
    path("exports/<int:export_id>/files/<str:filename>", lifecycle.BulkExportFileView.as_view(),
         name="bulk-export-file"),
]
