from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def healthz(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", include("web.api.urls")),
    path("api/v1/", include("web.api.report_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("r/", include("web.recorder.urls")),
    path("", include("web.dashboard.urls")),
]

handler400 = "web.api.errors.bad_request"
handler403 = "web.api.errors.permission_denied"
handler404 = "web.api.errors.not_found"
handler500 = "web.api.errors.server_error"
