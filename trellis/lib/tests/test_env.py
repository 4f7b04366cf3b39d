import pytest
from django.core.exceptions import ImproperlyConfigured

from trellis.lib.env import database_from_url, env_bool, env_int, env_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("off", False),
        ("", None),
        (None, None),
    ],
)
def test_env_bool_reads_only_clear_answers(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("FLAG", raising=False)
    else:
        monkeypatch.setenv("FLAG", raw)
    default = object()
    assert env_bool("FLAG", default) is (default if expected is None else expected)


@pytest.mark.parametrize("raw", ["yes", "no", "2", "enabled"])
def test_env_bool_refuses_anything_else(monkeypatch, raw):
    monkeypatch.setenv("FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)


def test_env_int_checks_bounds(monkeypatch):
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1)
    monkeypatch.setenv("N", "five")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("N", 5)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.org, b.org ,,")
    assert env_list("HOSTS") == ["a.org", "b.org"]


def test_database_url_becomes_a_postgresql_entry():
    entry = database_from_url("postgres://trellis:s%40cret@db.internal:6432/clinic?sslmode=require")
    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["NAME"], entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"]) == (
        "clinic",
        "trellis",
        "s@cret",
        "db.internal",
        "6432",
    )
    assert entry["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db", "must start with postgres://"),
        ("postgres://host/", "must name a database"),
    ],
)
def test_database_url_errors_say_what_is_wrong(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)
