"""The synthetic network is a development tool: production settings leave its app, its table and
``manage.py synth`` out; development (DEBUG on) and TRELLIS_DEV_APPS=true bring them in.

The settings are read by running the settings module under each environment in this process
(``read_settings``), as a fresh ``manage.py`` would; the commands are found the way
``manage.py`` finds them, in each installed app's ``management/commands``."""

import importlib
from pathlib import Path

import pytest
from django.core import management
from django.core.management import find_commands

from trellis.lib.tests.test_deploy import PRODUCTION, read_settings


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        (PRODUCTION, False),
        ({**PRODUCTION, "TRELLIS_DEV_APPS": "true"}, True),
        ({"DEBUG": "true"}, True),
        ({"DEBUG": "true", "TRELLIS_DEV_APPS": "false"}, False),
    ],
    ids=["production", "production-asked", "development", "development-declined"],
)
def test_the_app_is_installed_only_in_development_or_when_asked(
    monkeypatch, tmp_path, env, installed
):
    apps = read_settings(monkeypatch, tmp_path, **env)["INSTALLED_APPS"]
    assert ("bench.synthetic" in apps) is installed


def commands_of(apps: list[str]) -> set[str]:
    """The management commands ``manage.py`` offers with ``apps`` installed (Django's own
    and each app's ``management/commands``)."""
    found = set(find_commands(str(Path(management.__file__).parent)))
    for app in apps:
        module = importlib.import_module(app)
        found |= set(find_commands(str(Path(module.__file__).parent / "management")))
    return found


def test_production_has_no_synth_command(monkeypatch, tmp_path):
    production = read_settings(monkeypatch, tmp_path, **PRODUCTION)["INSTALLED_APPS"]
    development = read_settings(monkeypatch, tmp_path, DEBUG="true")["INSTALLED_APPS"]
    assert "synth" not in commands_of(production)
    assert "synth" in commands_of(development)
    assert "load_demo" in commands_of(production)  # the lookup does see the product's commands
