"""Production settings, checked the way an operator starts Trellis: a fresh process for what
needs one (``check --deploy``, static files and a response, the SQLite connection, a refusal's
exit status); what the settings module itself decides is read by running it in this process
with the same environment, which checks the same thing without starting Python again."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[3]
STRONG_KEY = "k3J9-vQ2x_Lr8pW6tZ0mN4bY7cF1hD5sA9eG2uK8iO3lP6jR0wX4zV7nB1qM5yT8"


def run_manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in FRESH}
    base.update({"TRELLIS_VAR_DIR": str(tmp_path)}, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# What a fresh process would not inherit from the test run's environment.
FRESH = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TRELLIS_MFA_REQUIRED"}


def read_settings(monkeypatch, tmp_path, **env: str) -> dict:
    """The settings module run afresh under ``env`` (as ``run_manage`` would see it), as a dict
    of its names; its refusals raise ImproperlyConfigured here as they would on start-up."""
    for name in FRESH:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRELLIS_VAR_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "trellis" / "settings.py"))


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "trellis.example.org",
    "TRELLIS_BASE_URL": "https://trellis.example.org",
}


# One production process does what an operator's first start does: collect the static files,
# run the deployment checks, then answer a request; each test reads its part of the output.
# Brotli at its default (highest) quality takes most of a minute of CPU over the admin's and
# the API documentation's files; the files, manifest and compressed copies are the same at a
# quicker quality, which is all this start is checked for.
STARTED = """
import brotli
from whitenoise.compress import Compressor
Compressor.compress_brotli = staticmethod(lambda data: brotli.compress(data, quality=5))
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
print("== check")
try:
    call_command("check", deploy=True, fail_level="WARNING")
except Exception as error:
    print("check failed:", error)
print("== response")
r = Client().get("/accounts/login/", secure=True, HTTP_HOST="trellis.example.org")
print(r.status_code)
for h in ("Content-Security-Policy", "X-Frame-Options", "Strict-Transport-Security",
          "X-Content-Type-Options", "Referrer-Policy"):
    print(h + ": " + r.headers.get(h, ""))
"""


@pytest.fixture(scope="module")
def production_start(tmp_path_factory) -> dict[str, str]:
    """The output of STARTED under production settings, by section; collectstatic must pass."""
    result = run_manage(
        tmp_path_factory.mktemp("production"), "shell", "-v", "0", "-c", STARTED, **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    _, check, response = result.stdout.split("== ")
    return {"check": check.removeprefix("check\n"), "response": response.removeprefix("response\n")}


def test_check_deploy_is_clean_under_production_settings(production_start):
    assert "no issues" in production_start["check"], production_start["check"]
    assert "failed" not in production_start["check"]


def test_production_requires_mfa_unless_told_otherwise(monkeypatch, tmp_path):
    assert read_settings(monkeypatch, tmp_path, **PRODUCTION)["TRELLIS_MFA_REQUIRED"] is True
    told = {**PRODUCTION, "TRELLIS_MFA_REQUIRED": "false"}
    assert read_settings(monkeypatch, tmp_path, **told)["TRELLIS_MFA_REQUIRED"] is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "false", "ALLOWED_HOSTS": "trellis.example.org"}, "SECRET_KEY is not set"),
        (
            {"DEBUG": "false", "SECRET_KEY": "django-insecure-short", "ALLOWED_HOSTS": "x.org"},
            "SECRET_KEY is too weak",
        ),
        ({"DEBUG": "false", "SECRET_KEY": STRONG_KEY}, "ALLOWED_HOSTS must list"),
        ({"DEBUG": "false", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "*"}, "'*' is refused"),
        ({"DEBUG": "yes"}, "DEBUG must be true or false"),
        ({**PRODUCTION, "TRELLIS_BASE_URL": ""}, "TRELLIS_BASE_URL must be the https://"),
        ({**PRODUCTION, "DATABASE_URL": "mysql://db/trellis"}, "DATABASE_URL must start with"),
    ],
    ids=[
        "no-secret",
        "weak-secret",
        "no-hosts",
        "wildcard-host",
        "fuzzy-debug",
        "no-base-url",
        "wrong-database",
    ],
)
def test_it_refuses_to_start_with_unsafe_production_settings(monkeypatch, tmp_path, env, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        read_settings(monkeypatch, tmp_path, **env)
    assert message in str(refused.value)


def test_a_refusal_stops_the_process_with_its_reason(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_responses_carry_the_security_headers(production_start):
    out = production_start["response"]
    assert out.startswith("200"), out
    assert "default-src 'self'" in out
    assert "frame-ancestors 'none'" in out
    assert "script-src 'self';" in out or "script-src 'self'\n" in out
    assert "X-Frame-Options: DENY" in out
    assert "Strict-Transport-Security: max-age=31536000; includeSubDomains; preload" in out
    assert "X-Content-Type-Options: nosniff" in out


def test_sqlite_is_set_up_for_a_multi_user_server(tmp_path):
    code = (
        "from django.db import connection; c = connection.cursor(); "
        "print(c.execute('PRAGMA journal_mode').fetchone()[0], "
        "c.execute('PRAGMA synchronous').fetchone()[0], "
        "c.execute('PRAGMA busy_timeout').fetchone()[0], connection.transaction_mode)"
    )
    env = {"DEBUG": "true", "DATABASE_URL": "", "SQLITE_PATH": str(tmp_path / "t.sqlite3")}
    result = run_manage(tmp_path, "shell", "-v", "0", "-c", code, **env)
    # WAL, synchronous=FULL (2), a 20 s busy timeout, IMMEDIATE transactions.
    assert result.stdout.split() == ["wal", "2", "20000", "IMMEDIATE"], result.stderr


def test_the_server_process_keeps_its_start_up_objects_out_of_garbage_collection(tmp_path):
    code = (
        "import gc, trellis.wsgi; "
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 10000, "
        "callable(trellis.wsgi.application))"
    )
    env = {"DEBUG": "true", "DATABASE_URL": "", "SQLITE_PATH": str(tmp_path / "t.sqlite3")}
    result = run_manage(tmp_path, "shell", "-v", "0", "-c", code, **env)
    # Django, the apps and their models frozen; the youngest generation collected less often.
    assert result.stdout.split() == ["10000", "True", "True"], result.stderr
