from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import ops

# The admin signs in through the dashboard's sign-in (second factor, lockout, audit), never with a form of its own.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("healthz", ops.healthz),
    path("readyz", ops.readyz),
    path("metrics", ops.metrics),
    path("admin/", admin.site.urls),
    path("api/v1/", include("web.api.urls")),
    path("api/v1/", include("web.api.report_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("r/", include("web.recorder.urls")),
    path("", include("web.identity.urls")),
    path("", include("web.dashboard.urls")),
]

handler400 = "web.api.errors.bad_request"
handler403 = "web.api.errors.permission_denied"
handler404 = "web.api.errors.not_found"
handler500 = "web.api.errors.server_error"
