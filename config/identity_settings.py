"""Staff identity settings (web/identity/, docs/operators.md), read from the environment like the rest of
``config/settings.py``, which merges them in; kept apart so that each settings module stays readable."""

from datetime import timedelta

from config.env import env_bool, env_int, env_list, env_str


def identity_settings(*, debug: bool) -> dict[str, object]:
    """The sign-in, second-factor, single-sign-on, password-reset mail and lockout settings for a deployment whose DEBUG is ``debug``."""
    DEBUG = debug  # noqa: N806 (the names below are Django settings)
    # Staff identity (web/identity/, docs/operators.md): django-allauth for the sign-in, its second factors (TOTP,
    # WebAuthn security keys and passkeys, recovery codes) and OpenID Connect single sign-on.
    # CADENCE_REQUIRE_MFA: a staff member without a second factor is sent to enrol one and reaches no patient data
    # (dashboard or API) until they have. CADENCE_DEMO_USERNAME (the embedded default's "demo") is exempt.
    CADENCE_REQUIRE_MFA = env_bool("CADENCE_REQUIRE_MFA", not DEBUG)
    CADENCE_DEMO_USERNAME = env_str("CADENCE_DEMO_USERNAME", "demo" if DEBUG else "")
    ACCOUNT_ADAPTER = "web.identity.adapters.AccountAdapter"
    ACCOUNT_FORMS = {"login": "web.identity.forms.LoginForm"}
    ACCOUNT_LOGIN_METHODS = {"username"}
    ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]  # nobody signs up: operators add clinicians (add_clinician)
    ACCOUNT_EMAIL_VERIFICATION = "none"
    ACCOUNT_SESSION_REMEMBER = False  # the session cookie ends with the browser, as before
    ACCOUNT_LOGOUT_ON_GET = False
    ACCOUNT_USER_DISPLAY = "web.identity.adapters.user_display"
    # Failed passwords are counted by django-axes (web/lockout.py); allauth's per-key limit here counts only wrong
    # second-factor codes, per account (a guessed password still meets this limit).
    # allauth's limit on sign-in attempts per address is off: behind a hospital's NAT every clinician has one address.
    ACCOUNT_RATE_LIMITS = {"login_failed": env_str("CADENCE_MFA_CODE_RATE", "10/m/ip,5/5m/key"), "login": None}
    MFA_ADAPTER = "web.identity.adapters.MFAAdapter"
    MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
    MFA_TOTP_ISSUER = env_str("CADENCE_MFA_ISSUER", "Cadence")
    MFA_PASSKEY_LOGIN_ENABLED = False  # a passkey is a second factor here, after the password or single sign-on
    # WebAuthn needs https, except on localhost; the embedded default (DEBUG) may use plain http on another host.
    MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = env_bool("CADENCE_WEBAUTHN_ALLOW_HTTP", DEBUG)
    SOCIALACCOUNT_ADAPTER = "web.identity.adapters.SocialAccountAdapter"
    SOCIALACCOUNT_AUTO_SIGNUP = False
    SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
    SOCIALACCOUNT_STORE_TOKENS = False
    SOCIALACCOUNT_LOGIN_ON_GET = False
    SOCIALACCOUNT_ONLY = False

    # OpenID Connect single sign-on (optional): the provider's issuer URL, this client's id and secret (each also as
    # NAME_FILE). Who may sign in, and into which care team, comes from the groups claim (CADENCE_OIDC_GROUP_TEAMS:
    # "group=Team name[:lead];...") or from an account an operator made beforehand with add_clinician.
    CADENCE_OIDC_ISSUER = env_str("CADENCE_OIDC_ISSUER", "")
    CADENCE_OIDC_CLIENT_ID = env_str("CADENCE_OIDC_CLIENT_ID", "")
    CADENCE_OIDC_CLIENT_SECRET = env_str("CADENCE_OIDC_CLIENT_SECRET", "")
    CADENCE_OIDC_NAME = env_str("CADENCE_OIDC_NAME", "your organisation's account")
    CADENCE_OIDC_SCOPES = env_list("CADENCE_OIDC_SCOPES", ["openid", "profile", "email"])
    CADENCE_OIDC_GROUPS_CLAIM = env_str("CADENCE_OIDC_GROUPS_CLAIM", "groups")
    CADENCE_OIDC_USERNAME_CLAIM = env_str("CADENCE_OIDC_USERNAME_CLAIM", "preferred_username")
    CADENCE_OIDC_GROUP_TEAMS = env_str("CADENCE_OIDC_GROUP_TEAMS", "")
    # amr values (RFC 8176) or acr values that say the provider checked a second factor: Cadence does not ask again.
    CADENCE_OIDC_MFA_AMR = env_list("CADENCE_OIDC_MFA_AMR", ["mfa", "otp", "hwk", "swk", "sc", "fido"])
    CADENCE_OIDC_MFA_ACR = env_list("CADENCE_OIDC_MFA_ACR", [])
    SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "provider_class": "web.identity.oidc.provider.CadenceOIDCProvider",
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [{
                "provider_id": "sso", "name": CADENCE_OIDC_NAME, "client_id": CADENCE_OIDC_CLIENT_ID,
                "secret": CADENCE_OIDC_CLIENT_SECRET,
                "settings": {"server_url": CADENCE_OIDC_ISSUER, "oauth_pkce_enabled": True, "fetch_userinfo": env_bool("CADENCE_OIDC_USERINFO", False),
                             "scope": CADENCE_OIDC_SCOPES},
            }] if CADENCE_OIDC_ISSUER else [],
        }
    }

    # Set-password and password-reset links (one-time; valid 72 h) and the mail that carries them.
    PASSWORD_RESET_TIMEOUT = env_int("CADENCE_PASSWORD_LINK_TTL_S", 72 * 3600)
    EMAIL_HOST = env_str("EMAIL_HOST", "")
    EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                            else "django.core.mail.backends.console.EmailBackend")
    # The console backend writes reset links into the web log: refused outside DEBUG (clinic/checks.py) unless this says
    # the log is private enough (a closed test installation, say).
    CADENCE_ALLOW_CONSOLE_EMAIL = env_bool("CADENCE_ALLOW_CONSOLE_EMAIL", False)
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", EMAIL_PORT == 465)
    EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT_S", 20)
    # Password-reset requests, counted in the shared cache: per client address, and per recipient (beyond it no further
    # mail is sent, and the page does not say so, so that it tells nobody whether an address has an account).
    CADENCE_PASSWORD_RESET_RATE_ADDRESS = env_str("CADENCE_PASSWORD_RESET_RATE_ADDRESS", "10/hour")
    CADENCE_PASSWORD_RESET_RATE_RECIPIENT = env_str("CADENCE_PASSWORD_RESET_RATE_RECIPIENT", "3/hour")
    DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Cadence <cadence@localhost>")

    # Failed logins (dashboard, /admin/, API token endpoint; web/lockout.py): a username from one address is locked
    # for CADENCE_LOGIN_LOCKOUT_MINUTES after CADENCE_LOGIN_FAILURE_LIMIT failures, an address after
    # CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT (any usernames), and a username from all addresses together only after
    # CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT and only when it has no second factor. The attempts live in the database,
    # so every web process sees the same count.
    AXES_FAILURE_LIMIT = env_int("CADENCE_LOGIN_FAILURE_LIMIT", 10)
    CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("CADENCE_LOGIN_ADDRESS_FAILURE_LIMIT", 30)
    CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT = env_int("CADENCE_LOGIN_ACCOUNT_FAILURE_LIMIT", 100)
    AXES_COOLOFF_TIME = timedelta(minutes=env_int("CADENCE_LOGIN_LOCKOUT_MINUTES", 15))
    AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
    AXES_RESET_ON_SUCCESS = True
    AXES_LOCKOUT_CALLABLE = "web.lockout.lockout_response"
    AXES_HANDLER = "web.lockout.LockoutHandler"
    AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are still logged (usernames masked)
    AXES_CLIENT_IP_CALLABLE = "web.lockout.client_ip"
    return {name: value for name, value in locals().items() if name.isupper() and name != "DEBUG"}
