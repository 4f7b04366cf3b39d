import gc
import os

import pytest

# The browser tests' fixture (`chromium`) and helpers.
pytest_plugins = ["trellis.lib.browser_testing"]


def pytest_configure(config) -> None:
    if not config.pluginmanager.hasplugin("django"):
        return  # pure-module tests run without Django (-p no:django)
    from django.conf import settings

    # Argon2 is deliberately slow; the suite hashes with MD5 (settings.py keeps Argon2, and a
    # test checks it does). Django keeps the hashers it built the first time a password was
    # hashed; if that happened while the apps were loaded, they are built again from this list.
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()

    _static_files_read_once()

    # Tests that write from several threads need a database file: SQLite's in-memory test
    # database cannot take concurrent writers, so they are skipped unless this names a file.
    sqlite_file = os.environ.get("TRELLIS_TEST_SQLITE_FILE")
    database = settings.DATABASES["default"]
    if sqlite_file and database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = sqlite_file


def pytest_collection_finish(session) -> None:
    _keep_out_of_garbage_collection()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, then what building it left behind kept out of the
    garbage collector's way (see below)."""
    _keep_out_of_garbage_collection()
    yield


def _keep_out_of_garbage_collection() -> None:
    """Python's collector walks every object it tracks on each full pass; the suite keeps
    hundreds of thousands alive from start to end (Django, the apps, their modules and the
    test classes), and walking them again and again cost a few milliseconds a test. Once they
    exist they are moved out of its sight (``gc.freeze``); what the tests create is collected
    as before."""
    gc.collect()
    gc.freeze()


def _static_files_read_once() -> None:
    """Django's test client builds the middleware afresh for every test, and WhiteNoise then
    reads every static file the finders know (the admin's and the API documentation's too) and
    works out its headers: some 13 ms of CPU for every test that uses the client. The files
    do not change while the suite runs, so each build after the first takes the table the
    first one made under the same settings. (A server process builds its middleware once, so
    this is the tests' cost only.)"""
    from django.conf import settings
    from whitenoise.middleware import WhiteNoiseMiddleware

    read_from_finders = WhiteNoiseMiddleware.add_files_from_finders
    tables: dict[tuple, dict] = {}

    def add_files_from_finders(self) -> None:
        key = (
            type(self),
            self.static_prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            self.index_file,
            self.add_headers_function,
            repr(getattr(settings, "WHITENOISE_MIMETYPES", None)),
            tuple(settings.INSTALLED_APPS),
            tuple(map(str, settings.STATICFILES_DIRS)),
            tuple(settings.STATICFILES_FINDERS),
        )
        if key not in tables:
            files, self.files = self.files, {}
            try:
                read_from_finders(self)
                tables[key] = self.files
            finally:
                self.files = files
        self.files.update(tables[key])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders


@pytest.fixture(autouse=True)
def _append_only_rows_emptied_after_a_live_server(request):
    """A browser test's database is emptied after it by DELETE on SQLite (PostgreSQL
    truncates, which row triggers do not see). The ledger's, the charges' and the payments'
    tables refuse a DELETE by trigger, so the rows such a test wrote are removed here first —
    the triggers set aside for that one statement and put back at once — and the emptying that
    follows finds nothing to refuse. Set up after the database, so it is undone before it."""
    if "live_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("live_server")
    yield
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE '%no_delete' AND sql LIKE '%RAISE(ABORT%'"
        )
        triggers = cursor.fetchall()
        for name, _table, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            for table in sorted({table for _, table, _ in triggers}, key=_referencing_first):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")  # noqa: S608 — a table named by sqlite_master
        finally:
            for _name, _table, sql in triggers:
                cursor.execute(sql)


def _referencing_first(table: str) -> int:
    """Rows that point at other append-only rows go first (allocations name charges and
    payments)."""
    return 0 if table.endswith("allocation") else 1
