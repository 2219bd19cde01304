"""Settings for the test suite: the real settings, with test-only secrets filled in."""

import os
import uuid

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# A fixed, test-only Fernet key; production keys come from the environment.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "dGVzdC1vbmx5LWtleS0xMjM0NTY3ODkwMTIzNDU2Nzg=")

from config.settings import *  # noqa: E402,F403

# Hashing passwords at full strength makes every login in the suite cost ~0.3 s.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests render pages without `collectstatic`: plain storage, static files found in place.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# SQLite test databases live in a file (not in memory), so that the end-to-end tests' worker
# and web-server processes can open the same database as the test.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-broadcast.sqlite3")}  # noqa: F405

# Throttles: rates no test reaches by accident (the suite logs in and sends often); the
# throttle tests set their own with the `settings` fixture. Each test process counts under its
# own cache prefix (xdist workers share one Redis database and the same user ids), which
# tests/conftest.py empties before every test.
THROTTLE_TOKEN = THROTTLE_LOGIN = THROTTLE_SENDS = "100000/minute"
CACHES = {
    "default": {
        **CACHES["default"],  # noqa: F405
        "KEY_PREFIX": f"test-{os.getpid()}-{uuid.uuid4().hex[:8]}",
    }
}
