"""The benchmark server's settings: Trellis's own, read from the same environment, plus the bare
view that measures the ceiling (bench/urls.py) and the synthetic network's app, which the
benchmark fills its database with (DEBUG is off here, so trellis/settings.py leaves it out).
Only ``make bench`` and its smoke test use it."""

from trellis.settings import *  # noqa: F403 -- the benchmark measures the real settings
from trellis.settings import INSTALLED_APPS

ROOT_URLCONF = "bench.urls"
if "bench.synthetic" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.synthetic"]
