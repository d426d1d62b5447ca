"""Cadence settings: one module, driven by environment variables.

With no environment set, Cadence runs on an embedded default: SQLite in ``var/``,
a filesystem Celery broker in ``var/broker``, DEBUG on. Production sets at least
``DJANGO_DEBUG=false``, ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``,
``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""


import ipaddress
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from kombu import Queue

from config.env import ImproperlyConfiguredEnv, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CADENCE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "insecure-development-key-only-for-the-embedded-default"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
# Behind the TLS proxy (docker/compose.yaml, scripts/run.sh with HTTPS=1) the public address follows from
# CADENCE_DOMAIN (and CADENCE_HTTPS_PORT when it is not 443): the allowed host, the trusted origin for CSRF
# and the base URL of links in e-mails, unless each is set explicitly.
CADENCE_DOMAIN = env_str("CADENCE_DOMAIN", "")
CADENCE_HTTPS_PORT = env_int("CADENCE_HTTPS_PORT", 443)
_PUBLIC_ORIGIN = (f"https://{CADENCE_DOMAIN}" + (f":{CADENCE_HTTPS_PORT}" if CADENCE_HTTPS_PORT != 443 else "")
                  if CADENCE_DOMAIN else "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [CADENCE_DOMAIN] if CADENCE_DOMAIN else
                         ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [_PUBLIC_ORIGIN] if _PUBLIC_ORIGIN else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's security-key list
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "clinic",
    "clinic.processing",
    "screening",
    "web",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "web.locale.LanguageMiddleware",  # after authentication: a clinician's own language; the recorder's patient's
    "django.contrib.messages.middleware.MessageMiddleware",
    "web.identity.middleware.StaffSessionMiddleware",  # 12-h absolute limit; no patient data before a second factor
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the 429 page or JSON
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "web" / "templates"],  # first: Cadence's pages replace django-allauth's
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.dashboard.context.navigation",
                "web.identity.context.identity",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cadence.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes.
    # IMMEDIATE: a writer waits for the lock (up to the timeout) instead of failing at once
    # when the web process and the worker write together.
    DATABASES["default"]["OPTIONS"] = {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20,
                                       "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out accounts and addresses first
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en"
# The interface languages (docs/translation.md): a patient's recorder follows the patient's `language`, then the
# phone's browser; the dashboard and e-mails follow the clinician's own language, then the browser.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "cadence_language"
LANGUAGE_COOKIE_PATH = "/r/"  # the recorder remembers its patient's language; the dashboard never reads it
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
# Recordings are patient data: kept outside any web-served folder (or in a private bucket) and only
# streamed back through authenticated views. CADENCE_STORAGE=s3 puts them in an S3-compatible store
# (AWS, MinIO, ...) so that web and workers on several machines share them.
CADENCE_STORAGE = env_str("CADENCE_STORAGE", "filesystem")
if CADENCE_STORAGE == "s3":
    if not env_str("AWS_STORAGE_BUCKET_NAME"):
        raise ImproperlyConfiguredEnv("CADENCE_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME (and usually AWS_S3_ENDPOINT_URL).")
    _AUDIO_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "access_key": env_str("AWS_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "") or None,
            "location": env_str("AWS_LOCATION", "recordings"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
elif CADENCE_STORAGE == "filesystem":
    _AUDIO_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env_str("CADENCE_PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private")),
                    "file_permissions_mode": 0o600, "directory_permissions_mode": 0o700},
    }
else:
    raise ImproperlyConfiguredEnv(f"CADENCE_STORAGE must be 'filesystem' or 's3', not {CADENCE_STORAGE!r}.")
STORAGES = {
    "default": _AUDIO_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Encryption at rest (clinic/storage.py): base64 master keys, the first encrypts, all decrypt.
# The embedded default (DEBUG, no key set) keeps a generated development key in var/.
CADENCE_AUDIO_KEYS = env_str("CADENCE_AUDIO_KEYS", "")
CADENCE_AUDIO_DEV_KEY_FILE = VAR_DIR / "audio-dev.key" if DEBUG and not CADENCE_AUDIO_KEYS else None

# Data lifecycle: raw audio is deleted this many days after processing (0 = kept); uploads need
# recorded consent where the deployment requires it.
CADENCE_AUDIO_RETENTION_DAYS = env_int("CADENCE_AUDIO_RETENTION_DAYS", 0)
CADENCE_REQUIRE_CONSENT = env_bool("CADENCE_REQUIRE_CONSENT", False)
# Every erasure appends its tombstone (a keyed hash, never the code) here; manage.py restore re-applies the
# erasures made after its backup from it. Keep it with the backups (docs/operators.md, "Backups").
CADENCE_ERASURE_LEDGER = Path(env_str("CADENCE_ERASURE_LEDGER", str(VAR_DIR / "erasure-ledger.jsonl")))

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:triage"
LOGOUT_REDIRECT_URL = "account_login"
SESSION_COOKIE_AGE = env_int("CADENCE_SESSION_TIMEOUT_S", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout ...
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# ... and an absolute limit from sign-in, however active the session (NIST SP 800-63B AAL2: 12 h).
CADENCE_SESSION_MAX_AGE_S = env_int("CADENCE_SESSION_MAX_AGE_S", 12 * 3600)

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
CADENCE_BASE_URL = env_str("CADENCE_BASE_URL", _PUBLIC_ORIGIN or "http://127.0.0.1:8000")
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
# Behind N reverse proxies that append to X-Forwarded-For, the client is the Nth address from the right.
CADENCE_TRUSTED_PROXY_COUNT = env_int("CADENCE_TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "web.lockout.client_ip"

# The cache holds API throttle counts, so it must be shared by all web processes: Redis when
# CADENCE_CACHE_URL (or a redis:// CELERY_BROKER_URL) is set, else a table in the database.
_BROKER = env_str("CELERY_BROKER_URL", "")
_CACHE_URL = env_str("CADENCE_CACHE_URL", _BROKER if _BROKER.startswith(("redis://", "rediss://")) else "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL,
                "KEY_PREFIX": "cadence"}
    if _CACHE_URL.startswith(("redis://", "rediss://", "unix://"))
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cadence_cache"}
}

# Security: strict by default outside DEBUG (manage.py check --deploy is clean).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Clinician API tokens expire; a patient app's upload token lasts until revoked.
CADENCE_CLINICIAN_TOKEN_TTL_S = env_int("CADENCE_CLINICIAN_TOKEN_TTL_S", 12 * 3600)

# Uploads
CADENCE_MAX_UPLOAD_BYTES = env_int("CADENCE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
CADENCE_MIN_DURATION_S = env_float("CADENCE_MIN_DURATION_S", 3.0)
CADENCE_MAX_DURATION_S = env_float("CADENCE_MAX_DURATION_S", 20 * 60.0)
# A recording's recorded_at may lie this far in the future (phone clocks drift); later is refused.
CADENCE_MAX_CLOCK_SKEW_S = env_int("CADENCE_MAX_CLOCK_SKEW_S", 5 * 60)
# API lists: items per page by default and at most (?page_size=).
CADENCE_API_PAGE_SIZE = env_int("CADENCE_API_PAGE_SIZE", 50)
CADENCE_API_MAX_PAGE_SIZE = env_int("CADENCE_API_MAX_PAGE_SIZE", 500)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

# Phone recorder (/r/): one-time enrolment links, PHQ-9 self-report schedule, crisis resources.
CADENCE_ENROLMENT_LINK_TTL_S = env_int("CADENCE_ENROLMENT_LINK_TTL_S", 72 * 3600)
CADENCE_PHQ9_SELF_REPORT_DAYS = env_int("CADENCE_PHQ9_SELF_REPORT_DAYS", 14)  # 0: the recorder never asks
# The crisis text and contacts per deployment and per language. Unset, Cadence's own sentence and the US numbers
# (the 988 Suicide & Crisis Lifeline and 911) are shown, translated; CADENCE_CRISIS_TEXT / CADENCE_CRISIS_CONTACTS
# replace them for every language, CADENCE_CRISIS_TEXT_ES / CADENCE_CRISIS_CONTACTS_ES (any code of LANGUAGES, in
# capitals) for one. Contacts are "Label=number" pairs separated by ";".
def _crisis_contacts(raw: str) -> list[tuple[str, str]]:
    return [tuple(part.strip() for part in entry.rsplit("=", 1)) for entry in raw.split(";") if "=" in entry]


CADENCE_CRISIS_TEXT = env_str("CADENCE_CRISIS_TEXT", "")
CADENCE_CRISIS_CONTACTS = _crisis_contacts(env_str("CADENCE_CRISIS_CONTACTS", ""))
CADENCE_CRISIS_BY_LANGUAGE = {
    code: {"text": env_str(f"CADENCE_CRISIS_TEXT_{code.upper()}", ""),
           "contacts": _crisis_contacts(env_str(f"CADENCE_CRISIS_CONTACTS_{code.upper()}", ""))}
    for code, _name in LANGUAGES
}

# Pipeline
CADENCE_MAX_PROCESSING_ATTEMPTS = env_int("CADENCE_MAX_PROCESSING_ATTEMPTS", 5)
CADENCE_STALE_AFTER_S = env_int("CADENCE_STALE_AFTER_S", 15 * 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "web.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies everywhere (the upload view alone reads multipart), so a body means one thing.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "web.api.schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "web.api.pagination.ApiCursorPagination",
    "EXCEPTION_HANDLER": "web.api.errors.exception_handler",
    # Counted in the shared cache above. "upload" is per patient token.
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("CADENCE_LOGIN_RATE", "20/min"),
        "upload": env_str("CADENCE_UPLOAD_RATE", "60/hour"),
    },
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Cadence API",
    "DESCRIPTION": "Longitudinal depression monitoring from voice.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "LICENSE": {"name": "GPL-3.0-or-later"},
    # Swagger UI served by the app itself: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# Celery
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"data_folder_in": str(_BROKER_DIR), "data_folder_out": str(_BROKER_DIR), "store_processed": False}
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600)}
)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT_S", 10 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT_S", 9 * 60)
CELERY_TIMEZONE = TIME_ZONE
# Separate queues so a report or a catch-up night never delays the processing of new uploads.
# A worker started without -Q consumes all of them; at scale run dedicated workers per queue
# (README, "Running on PostgreSQL and Redis").
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("extraction", "screening", "reports", "celery")]
CELERY_TASK_ROUTES = {
    "screening.tasks.monitor_models": {"queue": "reports"},
    "voice_features.tasks.*": {"queue": "extraction"},
    "*report*": {"queue": "reports"},
    "*export*": {"queue": "reports"},
    "screening.tasks.*": {"queue": "screening"},
}


def _cron(name: str, default: str) -> crontab:
    minute, hour, day_of_month, month, day_of_week = env_str(name, default).split()
    return crontab(minute, hour, day_of_week, day_of_month, month)


CELERY_BEAT_SCHEDULE = {
    "sweep-stale-recordings": {
        "task": "voice_features.tasks.sweep_stale_recordings",
        "schedule": _cron("CADENCE_CRON_SWEEP", "*/5 * * * *"),
        "options": {"expires": 4 * 60},
    },
    "nightly-screening": {
        "task": "screening.tasks.run_screening",
        "schedule": _cron("CADENCE_CRON_SCREENING", "30 2 * * *"),
        "options": {"expires": 23 * 3600},
    },
    "purge-expired-audio": {
        "task": "clinic.tasks.purge_expired_audio",
        "schedule": _cron("CADENCE_CRON_AUDIO_RETENTION", "15 3 * * *"),
        "options": {"expires": 23 * 3600},
    },
    "daily-model-monitoring": {
        "task": "screening.tasks.monitor_models",
        "schedule": _cron("CADENCE_CRON_MONITORING", "15 3 * * *"),
        "options": {"expires": 23 * 3600},
    },
    "weekly-validation-report": {
        "task": "screening.tasks.weekly_validation_report",
        "schedule": _cron("CADENCE_CRON_VALIDATION_REPORT", "0 4 * * 1"),
        "options": {"expires": 6 * 24 * 3600},
    },
}

# Screening
CADENCE_OVERDUE_DAYS = env_int("CADENCE_OVERDUE_DAYS", 7)
# The nightly screening takes active patients this many at a time: each chunk is one task on the screening
# queue (bounded memory, shared by every screening worker; docs/operations.md).
CADENCE_SCREENING_CHUNK_PATIENTS = env_int("CADENCE_SCREENING_CHUNK_PATIENTS", 1000)
CADENCE_RISK_PROBABILITY_THRESHOLD = env_float("CADENCE_RISK_PROBABILITY_THRESHOLD", 0.5)
CADENCE_PAIRING_MIN_RECORDINGS = env_int("CADENCE_PAIRING_MIN_RECORDINGS", 2)
#: Patient-level bootstrap resamples behind the validation report's intervals.
CADENCE_REPORT_BOOTSTRAP = env_int("CADENCE_REPORT_BOOTSTRAP", 2000)
CADENCE_REPORTS_DIR = Path(env_str("CADENCE_REPORTS_DIR", str(VAR_DIR / "reports")))
CADENCE_MODEL_REGISTRY_DIR = Path(env_str("CADENCE_MODEL_REGISTRY_DIR", str(VAR_DIR / "models")))
EMOTION_MODEL_REGISTRY = CADENCE_MODEL_REGISTRY_DIR / "emotion"

# Operations: /metrics needs the bearer token or a client address in these networks.
CADENCE_METRICS_TOKEN = env_str("CADENCE_METRICS_TOKEN", "")
CADENCE_METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(n, strict=False) for n in env_list(
    "CADENCE_METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])]
CADENCE_MONITORING_PSI_THRESHOLD = env_float("CADENCE_MONITORING_PSI_THRESHOLD", 0.25)
CADENCE_MONITORING_REJECTION_THRESHOLD = env_float("CADENCE_MONITORING_REJECTION_THRESHOLD", 0.3)
CADENCE_MONITORING_MAE_THRESHOLD = env_float("CADENCE_MONITORING_MAE_THRESHOLD", 6.0)
CADENCE_MONITORING_EMOTION_RECALL_THRESHOLD = env_float("CADENCE_MONITORING_EMOTION_RECALL_THRESHOLD", 0.3)
CADENCE_MONITORING_WINDOW_DAYS = env_int("CADENCE_MONITORING_WINDOW_DAYS", 7)
CADENCE_MONITORING_REFERENCE_DAYS = env_int("CADENCE_MONITORING_REFERENCE_DAYS", 28)
CADENCE_MONITORING_CALIBRATION_DAYS = env_int("CADENCE_MONITORING_CALIBRATION_DAYS", 90)

# One JSON object per line, with the request (or task) id; no patient data (config/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("CADENCE_LOG_LEVEL", "INFO")},
    # SQL with its parameters (patient codes) never reaches a log, whatever CADENCE_LOG_LEVEL says.
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # workers log through LOGGING above, as JSON


