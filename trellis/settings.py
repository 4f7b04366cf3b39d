"""Trellis settings: one file, read from the environment.

Every variable is listed with its default and meaning in README.md. A fresh checkout runs with
``DEBUG=true`` and no other configuration (SQLite under ``var/``). With ``DEBUG`` off the server
refuses to start until ``SECRET_KEY`` and ``ALLOWED_HOSTS`` are real.
"""

import importlib.util
import secrets
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from trellis.lib.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRELLIS_VAR_DIR") or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        if not DEBUG and (len(key) < 50 or key.startswith("django-insecure") or len(set(key)) < 5):
            raise ImproperlyConfigured(
                "SECRET_KEY is too weak for production: use at least 50 random characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
            )
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG=false) needs a random key of at least "
            "50 characters; for development set DEBUG=true."
        )
    # Development only: a random key kept beside the SQLite database, never shipped.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and (not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must list the host names Trellis is served under (comma-separated); "
        "'*' is refused in production."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where links in e-mail and text messages point (questionnaire links, alert escalations).
TRELLIS_BASE_URL = env_str("TRELLIS_BASE_URL", "http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if not DEBUG and not TRELLIS_BASE_URL.startswith("https://"):
    raise ImproperlyConfigured(
        "TRELLIS_BASE_URL must be the https:// address patients and staff reach Trellis at; "
        "links in messages are built from it."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "ninja",
    "template_partials",
    "trellis.accounts",
    "trellis.audit",
    "trellis.patients",
    "trellis.safety",
    "trellis.treatments",
    "trellis.billing",
    "trellis.scheduling",
    "trellis.therapy",
    "trellis.aftercare",
    "trellis.groups",
    "trellis.portal",
    "trellis.controlled",
    "trellis.measures",
    "trellis.plans",
    "trellis.messaging",
    "trellis.reports",
    "trellis.desk",
    "trellis.fhir",
    "trellis.demo",
]

# Development tools, never part of a production install: the synthetic network and its
# `manage.py synth` (bench/synthetic/, docs/reports.md). Installed when TRELLIS_DEV_APPS is true,
# which it is by default with DEBUG on (and so in the test suite), and only from a checkout that
# has bench/. With DEBUG off (production) they stay out unless TRELLIS_DEV_APPS=true says so.
DEV_APPS = env_bool("TRELLIS_DEV_APPS", default=DEBUG)
if DEV_APPS and importlib.util.find_spec("bench") is None:
    if env_str("TRELLIS_DEV_APPS"):
        raise ImproperlyConfigured(
            "TRELLIS_DEV_APPS=true needs the bench/ directory of a development checkout."
        )
    DEV_APPS = False
if DEV_APPS:
    INSTALLED_APPS.append("bench.synthetic")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # After a write, this client's reports read the primary for a few seconds.
    "trellis.lib.replica.ReplicaPinMiddleware",
    "trellis.accounts.middleware.StaffMiddleware",
    # The patient portal's own session, under /portal/ only (trellis/portal/session.py).
    "trellis.portal.session.PortalSessionMiddleware",
    # Under DEBUG, someone not signed in sees the product's 404 page, not Django's URL list.
    "trellis.lib.errorpages.ProductNotFoundMiddleware",
    # django-axes wants to be last: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trellis.urls"
WSGI_APPLICATION = "trellis.wsgi.application"

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
                "trellis.accounts.context_processors.staff",
                "trellis.menu.nav",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                "trellis.lib.citation_tags",
            ],
        },
    },
]

# Django's form renderer, its plainest widgets written out directly (lib/form_renderer.py).
FORM_RENDERER = "trellis.lib.form_renderer.FormRenderer"

# --- Databases -----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    SQLITE_PATH = Path(env_str("SQLITE_PATH") or VAR_DIR / "trellis.sqlite3")
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # A multi-user server on one file: readers never block the writer (WAL), a
                # transaction takes the write lock when it begins so it cannot deadlock on
                # upgrade (IMMEDIATE), a busy writer is waited for rather than failed (timeout,
                # seconds), and an acknowledged commit survives power loss (synchronous=FULL).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Each server thread keeps its connection between requests: opening one reads the
            # whole schema (some 500 tables, indexes and triggers), about 6 ms a request.
            "CONN_MAX_AGE": 60,
        }
    }
# A PostgreSQL streaming replica for reports and exports (trellis/lib/replica.py); reads
# elsewhere, and all writes, stay on the primary. In tests the replica mirrors the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL: a PostgreSQL primary.")
    DATABASES["replica"] = {
        **database_from_url(DATABASE_REPLICA_URL),
        "TEST": {"MIRROR": "default"},
    }
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10)
DATABASE_ROUTERS = ["trellis.lib.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, passwords, lockout, MFA -----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env_int("TRELLIS_LOCKOUT_FAILURES", 5, minimum=1, maximum=50)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("TRELLIS_LOCKOUT_MINUTES", 15, minimum=1))
# Lock a username after repeated failures, from any address (and the username at that address).
# Not the address alone: a clinic signs in from one address, so one person's typos would lock
# everyone out, and a colleague's successful sign-in would clear the failures of a username being
# guessed (axes resets every parameter the success matches). A success clears only its username.
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# An address failing for many usernames (one password tried on each) is locked as well, at a
# higher count, and no one's success clears it (trellis/accounts/lockout.py).
AXES_HANDLER = "trellis.accounts.lockout.LockoutHandler"
TRELLIS_LOCKOUT_ADDRESS_FAILURES = env_int(
    "TRELLIS_LOCKOUT_ADDRESS_FAILURES", 4 * AXES_FAILURE_LIMIT, minimum=1
)
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False

# Production requires a second factor for every member of staff: every role sees identifiable
# patient data. The demo (make run) waives it, and every page says so.
TRELLIS_MFA_REQUIRED = env_bool("TRELLIS_MFA_REQUIRED", default=True)
OTP_TOTP_ISSUER = "Trellis"

SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- Transport security (production) -------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRELLIS_BEHIND_PROXY", default=False):
    # Only behind a reverse proxy that sets X-Forwarded-Proto and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_IPWARE_PROXY_COUNT = 1

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Internationalisation and time ---------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # stored in UTC, shown in each clinic's own timezone
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"  # filled by collectstatic in production
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
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

# --- E-mail --------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Trellis <trellis@localhost>")

# SMS: a dotted path to a provider class (trellis.messaging.sms); the default writes each
# message to a file under TRELLIS_SMS_DIR, for the demo and for tests.
TRELLIS_SMS_PROVIDER = env_str("TRELLIS_SMS_PROVIDER", "trellis.messaging.sms.FileProvider")
TRELLIS_SMS_DIR = Path(env_str("TRELLIS_SMS_DIR") or VAR_DIR / "sms")

# --- Logging -------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # WeasyPrint narrates every step of every PDF at INFO; its warnings still show.
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}},
}
