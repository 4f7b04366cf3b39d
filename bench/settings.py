"""The benchmark server's settings: Trellis's own, read from the same environment, plus the bare
view that measures the ceiling (bench/urls.py). Only ``make bench`` and its smoke test use it."""

from trellis.settings import *  # noqa: F403 -- the benchmark measures the real settings

ROOT_URLCONF = "bench.urls"
