"""Cadence settings: one module, driven by environment variables.

With no environment set, Cadence runs on an embedded default: SQLite in ``var/``,
a filesystem Celery broker in ``var/broker``, DEBUG on. Production sets at least
``DJANGO_DEBUG=false``, ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``,
``DATABASE_URL`` and ``CELERY_BROKER_URL``.
"""


import ipaddress
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from kombu import Queue

from config.env import ImproperlyConfiguredEnv, env_bool, env_float, env_int, env_list, env_str
from config.identity_settings import identity_settings
from config.outreach_settings import outreach_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CADENCE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "insecure-development-key-only-for-the-embedded-default"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
# Behind the TLS proxy (docker/compose.yaml, HTTPS=1 scripts/run.sh) CADENCE_DOMAIN (and CADENCE_HTTPS_PORT) give the
# allowed host, the CSRF trusted origin and the base URL of links, unless each is set explicitly.
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
    "outreach",
    "web",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "config.middleware.SecurityHeadersMiddleware",
    "config.middleware.ServiceUnavailableMiddleware",
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

# Data lifecycle: raw audio deleted this many days after processing (0 = kept); consent required or not.
CADENCE_AUDIO_RETENTION_DAYS = env_int("CADENCE_AUDIO_RETENTION_DAYS", 0)
CADENCE_REQUIRE_CONSENT = env_bool("CADENCE_REQUIRE_CONSENT", False)
# A new patient's time zone (IANA name) when the enrolment does not give one.
CADENCE_DEFAULT_TIME_ZONE = env_str("CADENCE_DEFAULT_TIME_ZONE", "UTC")
# A new patient's language when none is given (a BCP 47 tag: "es" for a clinic whose patients mostly speak Spanish).
CADENCE_DEFAULT_PATIENT_LANGUAGE = env_str("CADENCE_DEFAULT_PATIENT_LANGUAGE", "en")
# Every erasure appends its tombstone (a keyed hash, never the code) here; restore re-applies later erasures
# from it. Keep it with the backups (docs/operators.md, "Backups").
CADENCE_ERASURE_LEDGER = Path(env_str("CADENCE_ERASURE_LEDGER", str(VAR_DIR / "erasure-ledger.jsonl")))

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:triage"
LOGOUT_REDIRECT_URL = "account_login"
SESSION_COOKIE_AGE = env_int("CADENCE_SESSION_TIMEOUT_S", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # idle timeout, and an absolute limit from sign-in (NIST SP 800-63B AAL2: 12 h)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CADENCE_SESSION_MAX_AGE_S = env_int("CADENCE_SESSION_MAX_AGE_S", 12 * 3600)

# Staff identity (web/identity/, docs/operators.md): django-allauth for the sign-in, its second factors and OpenID
# Connect single sign-on; CADENCE_REQUIRE_MFA, CADENCE_OIDC_* and the rest are read in config/identity_settings.py.
globals().update(identity_settings(debug=DEBUG))  # also the mail (EMAIL_*), reset and lockout settings

# Links and messages that leave the server (enrolment links, e-mails, webhooks) are built from this address
# (behind the TLS proxy: from CADENCE_DOMAIN).
CADENCE_BASE_URL = env_str("CADENCE_BASE_URL", _PUBLIC_ORIGIN or "http://127.0.0.1:8000")
# Behind N reverse proxies that append to X-Forwarded-For, the client is the Nth address from the right.
CADENCE_TRUSTED_PROXY_COUNT = env_int("CADENCE_TRUSTED_PROXY_COUNT", 0)

# The cache holds API throttle counts, so it must be shared by all web processes: Redis when
# CADENCE_CACHE_URL (or a redis:// CELERY_BROKER_URL) is set, else a table in the database.
_BROKER = env_str("CELERY_BROKER_URL", "")
_CACHE_URL = env_str("CADENCE_CACHE_URL", _BROKER if _BROKER.startswith(("redis://", "rediss://")) else "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL,
                "KEY_PREFIX": "cadence", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}
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
# Content-Security-Policy of every response (config/middleware.py): nothing inline, nothing from elsewhere.
# Pages load scripts and styles as static files from this origin only; data for scripts goes in json_script
# blocks or data- attributes. data: images are for the API docs' icons; blob: media for the recorder's preview.
CADENCE_CONTENT_SECURITY_POLICY = env_str(
    "CADENCE_CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

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
# A worker holds a recording it processes under a lease of this many seconds, renewed every third of it; when
# the worker dies, another takes the recording over once the lease lapses (at once on the same host).
CADENCE_LEASE_S = env_int("CADENCE_LEASE_S", 60)
# Every worker queues again, this often and when it starts, recordings whose hand-off to the broker failed or
# whose lease lapsed: no beat needed for either (the beat sweeper above stays as the last resort).
CADENCE_RECOVERY_INTERVAL_S = env_float("CADENCE_RECOVERY_INTERVAL_S", 30.0)

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
    "SERVE_PERMISSIONS": ["web.api.permissions.ApiDocsAccess"],
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "web.api.schema.postprocess"],
}
# /api/schema/ and /api/docs/ are public unless this is true (then a login or a bearer token is needed).
CADENCE_API_DOCS_REQUIRE_AUTH = env_bool("CADENCE_API_DOCS_REQUIRE_AUTH", False)

# Celery
_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):  # any process may queue work (a command run before run.sh too)
    _BROKER_DIR.mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"data_folder_in": str(_BROKER_DIR), "data_folder_out": str(_BROKER_DIR), "store_processed": False}
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 3600)}
)
# A web request that hands a recording to a broker that is down gives up within about two seconds (the upload
# is kept and queued again by a worker later) instead of retrying for the client's whole timeout.
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT_S", 2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
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
# Separate queues so a report, a catch-up night or the demo cohort ("bulk") never delays the processing of
# new uploads.
# A worker started without -Q consumes all of them; at scale run dedicated workers per queue
# (README, "Running on PostgreSQL and Redis").
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = [Queue(name) for name in ("extraction", "screening", "reports", "celery", "outreach", "bulk")]
CELERY_TASK_ROUTES = {
    # Alert e-mails and reminders are short and must not wait behind a report: their own queue, which every
    # worker of docker/compose.yaml also consumes.
    "outreach.tasks.*": {"queue": "outreach"},
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
    "outreach-tick": {
        "task": "outreach.tasks.outreach_tick",
        "schedule": _cron("CADENCE_CRON_OUTREACH", "* * * * *"),
        "options": {"expires": 50},
    },
    "outreach-hourly": {
        "task": "outreach.tasks.outreach_hourly",
        "schedule": _cron("CADENCE_CRON_OUTREACH_HOURLY", "7 * * * *"),
        "options": {"expires": 50 * 60},
    },
    "weekly-validation-report": {
        "task": "screening.tasks.weekly_validation_report",
        "schedule": _cron("CADENCE_CRON_VALIDATION_REPORT", "0 4 * * 1"),
        "options": {"expires": 6 * 24 * 3600},
    },
}

# Outreach (docs/notifications.md): alert e-mails, webhooks, escalation, Web Push, reminders (config/outreach_settings.py).
globals().update(outreach_settings())

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

# Operations: /metrics needs the bearer token or a client address in these networks. The address is the one
# the trusted proxies saw (CADENCE_TRUSTED_PROXY_COUNT); behind a proxy the default list is empty (closed),
# since every request would otherwise come from the proxy's own loopback address.
CADENCE_METRICS_TOKEN = env_str("CADENCE_METRICS_TOKEN", "")
CADENCE_METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network(n, strict=False) for n in env_list(
    "CADENCE_METRICS_ALLOWED_NETWORKS", [] if CADENCE_TRUSTED_PROXY_COUNT else ["127.0.0.1/32", "::1/128"])]
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


