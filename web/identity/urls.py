"""Sign-in, second factors and single sign-on: the parts of django-allauth Cadence uses, at Cadence's paths."""

from allauth.account import views as account_views
from allauth.mfa.base import views as mfa_views
from allauth.socialaccount import views as social_views
from django.urls import include, path

from web.identity import views

urlpatterns = [
    path("login/", account_views.login, name="account_login"),
    path("logout/", account_views.logout, name="account_logout"),
    path("account/", views.account_security, name="account_security"),
    path("account/tokens/", views.token_create, name="account_token_create"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="account_token_revoke"),
    path("accounts/inactive/", account_views.account_inactive, name="account_inactive"),
    path("accounts/signup/", account_views.signup, name="account_signup"),
    path("accounts/reauthenticate/", account_views.reauthenticate, name="account_reauthenticate"),
    path("accounts/2fa/", views.account_security, name="mfa_index"),
    path("accounts/2fa/authenticate/", mfa_views.authenticate, name="mfa_authenticate"),
    path("accounts/2fa/reauthenticate/", mfa_views.reauthenticate, name="mfa_reauthenticate"),
    path("accounts/2fa/totp/", include("allauth.mfa.totp.urls")),
    path("accounts/2fa/recovery-codes/", include("allauth.mfa.recovery_codes.urls")),
    path("accounts/2fa/webauthn/", include("allauth.mfa.webauthn.urls")),
    path("accounts/sso/cancelled/", social_views.login_cancelled, name="socialaccount_login_cancelled"),
    path("accounts/sso/error/", social_views.login_error, name="socialaccount_login_error"),
    path("accounts/oidc/", include("web.identity.oidc.urls")),
]
