"""Vendored files are the published ones: a changed byte fails here, not in a browser test."""

import hashlib

from trellis.lib.browser_testing import AXE

AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"


def test_axe_core_is_the_published_4_14_1():
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256
    assert "axe v4.14.1" in AXE.read_text(encoding="utf-8")[:200]
