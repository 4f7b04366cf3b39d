"""Loaded by pytest before Django is configured (see ``addopts`` in pyproject.toml).

The suite runs as a development checkout: DEBUG on so that no production secret is needed.
Django's test runner still runs each test with ``settings.DEBUG = False``.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("TRELLIS_MFA_REQUIRED", "true")
