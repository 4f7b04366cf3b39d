"""Production installs requirements.lock: the product's dependencies only, every one pinned and
hashed. Development and CI install requirements-dev.lock: the same pins plus the dev tools."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^ \\;]+)")


def _normal(name: str) -> str:
    """A package name as the index compares it (PEP 503): ``fhir.resources`` is
    ``fhir-resources``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _normal(re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0])


def _pins(lock: str) -> dict[str, str]:
    """{package: version} of a lock file, checking that each pin carries its hashes."""
    text = (ROOT / lock).read_text()
    pins = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2]):
        match = PIN.match(block)
        assert match, f"{lock}: not a pin: {block[:60]!r}"
        assert "--hash=sha256:" in block, f"{lock}: {match[1]} has no hash"
        pins[_normal(match[1])] = match[2]
    return pins


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PRODUCT = {_name(r) for r in PROJECT["dependencies"]}
DEV = {_name(r) for r in PROJECT["optional-dependencies"]["dev"]}


def test_the_production_lock_has_the_product_and_no_dev_tool():
    pins = _pins("requirements.lock")
    assert set(pins) >= PRODUCT, PRODUCT - set(pins)
    assert not DEV & set(pins), DEV & set(pins)
    # nor what only the dev tools pull in
    assert not {"playwright", "greenlet", "hypothesis", "pluggy", "iniconfig"} & set(pins)


def test_the_dev_lock_is_the_production_lock_plus_the_dev_tools():
    product, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert set(dev) >= (PRODUCT | DEV), (PRODUCT | DEV) - set(dev)
    assert {name: dev.get(name) for name in product} == product  # same versions
