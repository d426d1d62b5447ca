from django.urls import path

from web.recorder import views

app_name = "recorder"

urlpatterns = [
    path("", views.recorder, name="recorder"),
    path("enrol/", views.enrol, name="enrol"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
