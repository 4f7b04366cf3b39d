"""The synthetic network is a development tool: production settings leave its app, its table and
``manage.py synth`` out; development (DEBUG on) and TRELLIS_DEV_APPS=true bring them in."""

import pytest

from trellis.lib.tests.test_deploy import PRODUCTION, run_manage

SHOW = "from django.conf import settings; print('bench.synthetic' in settings.INSTALLED_APPS)"


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        (PRODUCTION, "False"),
        ({**PRODUCTION, "TRELLIS_DEV_APPS": "true"}, "True"),
        ({"DEBUG": "true"}, "True"),
        ({"DEBUG": "true", "TRELLIS_DEV_APPS": "false"}, "False"),
    ],
    ids=["production", "production-asked", "development", "development-declined"],
)
def test_the_app_is_installed_only_in_development_or_when_asked(tmp_path, env, installed):
    result = run_manage(tmp_path, "shell", "-v", "0", "-c", SHOW, **env)
    assert result.stdout.strip() == installed, result.stderr


def test_production_has_no_synth_command(tmp_path):
    result = run_manage(tmp_path, "synth", "--clinics", "1", **PRODUCTION)
    assert result.returncode == 1
    assert "Unknown command: 'synth'" in result.stderr
