"""The apps depend one way (DESIGN.md §2): lib ← accounts ← audit ← patients ← clinical apps.

Every module under trellis/ is parsed (never imported) and each ``import trellis.<app>`` it
makes is collected, those inside functions as well as those at the top. An app may import an
app on a lower layer; among the clinical apps, only the directions in ``CLINICAL`` are allowed,
and that table itself has no cycle. A lower app that must set off something higher does it
through a signal or a small registry it owns (``audit.naming``, ``messaging.jobs``,
``treatments.hooks``, ``safety.sources``).

Test modules (any ``tests`` folder, and the test-only ``trellis/testing`` package) are left
out: a test exercises apps together (a measures test needs a course to exist) and nothing in
the product imports it. ``trellis/testing.py`` is not a test module and is held to lib's
rule. The project's own modules (``trellis/urls.py``, ``api.py``, ``views.py``, ``settings.py``,
``menu.py``) assemble every app and may import any of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]  # trellis/

# The layers below the clinical apps, lowest first.
LOWER = ["lib", "accounts", "audit", "patients"]

# Each clinical app and the clinical apps it may import. Everything on a lower layer is
# allowed to every clinical app.
CLINICAL: dict[str, set[str]] = {
    "messaging": set(),  # infrastructure: the outbox knows no clinical app
    "safety": {"messaging"},
    "treatments": {"safety"},
    # Billing reads which stock a session's dose was drawn from (a drug line's NDC).
    "billing": {"treatments", "safety", "messaging", "measures", "controlled"},
    "controlled": {"treatments", "safety", "messaging"},
    "scheduling": {"treatments", "safety", "messaging"},
    "measures": {"treatments", "safety", "messaging"},
    "reports": {"measures", "treatments", "safety", "messaging"},
    "plans": {"measures", "treatments", "scheduling", "safety", "messaging"},
    "therapy": {"treatments", "scheduling", "safety", "messaging", "billing"},
    "aftercare": {"measures", "treatments", "safety", "messaging", "scheduling"},
    "groups": {"treatments", "scheduling", "therapy", "billing", "safety", "messaging"},
    # FHIR R4 reads what the clinical apps store; nothing below it imports it.
    "fhir": {"measures", "treatments", "safety", "billing", "scheduling", "plans", "messaging"},
    "portal": {
        "measures",
        "scheduling",
        "safety",
        "messaging",
        "aftercare",
        "treatments",
        "therapy",
        "groups",
    },
    "desk": {
        "measures",
        "treatments",
        "scheduling",
        "controlled",
        "safety",
        "messaging",
        "reports",
        "billing",
        "therapy",
        "aftercare",
        "groups",
        "plans",
        "portal",
    },
    "demo": {
        "measures",
        "treatments",
        "scheduling",
        "controlled",
        "safety",
        "messaging",
        "reports",
        "billing",
        "desk",
        "therapy",
        "aftercare",
        "groups",
        "plans",
        "portal",
    },
}

# The project package's own modules, which put the apps together.
PROJECT = {"urls", "api", "views", "settings", "wsgi", "testing", "menu"}

# Imports that break the rule and are being mended, one entry per (importer, imported). Empty:
# add nothing here; give the lower app a signal or a small registry instead.
KNOWN: set[tuple[str, str]] = set()


def layer(app: str) -> int:
    return LOWER.index(app) if app in LOWER else len(LOWER)


def allowed(src: str, dst: str) -> bool:
    if src in PROJECT or src == dst:
        return True
    if layer(dst) < layer(src):
        return True
    return src in CLINICAL and dst in CLINICAL[src]


def is_test_module(path: Path) -> bool:
    rel = path.relative_to(ROOT)
    return "tests" in rel.parts or rel.parts[0].removesuffix(".py") == "testing"


def cross_app_imports() -> dict[tuple[str, str], list[str]]:
    """(importing app, imported app) → where, for every module of the product under trellis/."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if is_test_module(path):
            continue
        rel = path.relative_to(ROOT)
        src = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
                if node.module == "trellis":
                    names = [f"trellis.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] != "trellis" or len(parts) < 2 or parts[1] == src:
                    continue
                found.setdefault((src, parts[1]), []).append(f"trellis/{rel}:{node.lineno}")
    return found


def test_every_app_has_a_place():
    apps = {p.name for p in ROOT.iterdir() if (p / "apps.py").exists() or p.name == "lib"}
    placed = set(LOWER) | set(CLINICAL)
    assert apps <= placed, f"give {sorted(apps - placed)} a layer in test_layers.py"


def test_clinical_directions_have_no_cycle():
    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in CLINICAL.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    circular = [app for app in CLINICAL if reaches(app, app, set())]
    assert not circular, f"the allowed directions run in a circle through {circular}"


def test_apps_import_only_downwards():
    found = cross_app_imports()
    wrong = {pair: where for pair, where in found.items() if not allowed(*pair)}
    new = {pair: where for pair, where in wrong.items() if pair not in KNOWN}
    assert not new, "imports against the layers (DESIGN.md §2):\n" + "\n".join(
        f"  {src} → {dst}: {', '.join(where)}" for (src, dst), where in sorted(new.items())
    )
    mended = KNOWN - set(wrong)
    assert not mended, f"no longer imported, remove from KNOWN: {sorted(mended)}"


def test_no_two_apps_import_each_other():
    found = cross_app_imports()
    pairs = {
        tuple(sorted(pair))
        for pair in found
        if pair[0] not in PROJECT and pair[1] not in PROJECT and pair[::-1] in found
    }
    pairs -= {tuple(sorted(pair)) for pair in KNOWN if pair[::-1] in found}
    assert not pairs, f"apps that import each other: {sorted(pairs)}"


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("accounts", "lib", True),
        ("lib", "accounts", False),
        ("audit", "accounts", True),
        ("accounts", "audit", False),
        ("patients", "audit", True),
        ("audit", "patients", False),
        ("measures", "patients", True),
        ("patients", "measures", False),
        ("measures", "safety", True),
        ("safety", "measures", False),
        ("treatments", "safety", True),
        ("safety", "treatments", False),
        ("measures", "treatments", True),
        ("treatments", "measures", False),
        ("measures", "messaging", True),
        ("messaging", "measures", False),
        ("scheduling", "treatments", True),
        ("treatments", "scheduling", False),
        ("measures", "scheduling", False),
        ("urls", "demo", True),
    ],
)
def test_the_rule(src, dst, expected):
    assert allowed(src, dst) is expected
