import os

# The browser tests' fixture (`chromium`) and helpers.
pytest_plugins = ["trellis.lib.browser_testing"]


def pytest_configure(config) -> None:
    if not config.pluginmanager.hasplugin("django"):
        return  # pure-module tests run without Django (-p no:django)
    from django.conf import settings

    # Argon2 is deliberately slow; the suite hashes with MD5 (settings.py keeps Argon2, and a
    # test checks it does).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    # Tests that write from several threads need a database file: SQLite's in-memory test
    # database cannot take concurrent writers, so they are skipped unless this names a file.
    sqlite_file = os.environ.get("TRELLIS_TEST_SQLITE_FILE")
    database = settings.DATABASES["default"]
    if sqlite_file and database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = sqlite_file
