"""The Binder environment (binder/) must match what the course is tested with (requirements.txt, pyproject.toml).

repo2docker ignores the repo root's config files once binder/ exists, so binder/ carries its own copy of
the pins; these tests keep the two copies from drifting apart.
"""

from __future__ import annotations

import os
from pathlib import Path
import re
import stat
import tomllib

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOT_REQS = REPO / "requirements.txt"
BINDER = REPO / "binder"
BINDER_REQS = BINDER / "requirements.txt"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)\s*(?:;.*)?$")


def _normalize(name: str) -> str:
    """PEP 503 name normalisation: Foo_Bar, foo.bar and foo-bar are the same project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirements(path: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """Return ({normalized name: pinned version}, option lines, lines that are neither a pin nor an option)."""
    pins: dict[str, str] = {}
    options: list[str] = []
    other: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        m = _PIN.match(line)
        if m is None:
            other.append(line)
            continue
        name = _normalize(m.group(1))
        assert name not in pins, f"{path.name}: {name} is pinned twice"
        pins[name] = m.group(2)
    return pins, options, other


def _public(version: str) -> str:
    """Drop a local version label: 2.13.0+cpu -> 2.13.0."""
    return version.split("+", 1)[0]


def test_parser_sees_pins():
    """Guard against a parser that silently finds nothing (every comparison below would then pass)."""
    root, _, _ = parse_requirements(ROOT_REQS)
    binder, _, _ = parse_requirements(BINDER_REQS)
    for name in ("torch", "numpy", "matplotlib", "ipywidgets"):
        assert name in root, f"requirements.txt does not pin {name}"
        assert name in binder, f"binder/requirements.txt does not pin {name}"


def test_root_requirements_are_exact_pins():
    pins, options, other = parse_requirements(ROOT_REQS)
    assert not other, f"requirements.txt: every requirement must be an exact `name==version` pin, got {other}"
    editable = [o for o in options if o.startswith(("-e", "--editable"))]
    assert not editable, "requirements.txt must not install the package itself (`pip install --no-deps -e .` does)"
    assert "+" not in pins["torch"], "requirements.txt pins torch without a local label (binder adds +cpu)"


def test_binder_pins_agree_with_requirements():
    root, _, _ = parse_requirements(ROOT_REQS)
    binder, _, other = parse_requirements(BINDER_REQS)
    assert not other, f"binder/requirements.txt: every requirement must be an exact pin, got {other}"
    disagree = {
        name: (root[name], binder[name])
        for name in sorted(root.keys() & binder.keys())
        if _public(root[name]) != _public(binder[name])
    }
    assert not disagree, (
        "binder/requirements.txt and requirements.txt pin different versions "
        "(name: (requirements.txt, binder/requirements.txt)): " + repr(disagree)
    )
    extra = sorted(binder.keys() - root.keys())
    assert not extra, f"binder/requirements.txt pins packages that requirements.txt does not: {extra}"


def test_binder_torch_is_cpu_only():
    lines = [ln.strip() for ln in BINDER_REQS.read_text().splitlines() if ln.strip()]
    assert lines[0] == "--extra-index-url https://download.pytorch.org/whl/cpu", (
        "binder/requirements.txt must start with the PyTorch CPU wheel index"
    )
    binder, _, _ = parse_requirements(BINDER_REQS)
    assert binder["torch"].endswith("+cpu"), f"binder pins torch=={binder['torch']}: needs the +cpu build"


def _python_floor() -> tuple[int, int]:
    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    m = re.search(r">=\s*(\d+)\.(\d+)", spec)
    assert m, f"pyproject.toml requires-python has no >= floor: {spec!r}"
    return int(m.group(1)), int(m.group(2))


def test_runtime_python_matches_requires_python_floor():
    text = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert m, f"binder/runtime.txt must read python-X.Y, got {text!r}"
    runtime = (int(m.group(1)), int(m.group(2)))
    assert runtime == _python_floor(), (
        f"binder/runtime.txt says Python {runtime}, pyproject.toml requires-python floor is {_python_floor()}"
    )


def _is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR) and os.access(path, os.X_OK)


def test_postbuild():
    post = BINDER / "postBuild"
    assert post.is_file(), "binder/postBuild is missing"
    assert _is_executable(post), "binder/postBuild must be executable (chmod +x), else repo2docker cannot run it"
    lines = [ln.strip() for ln in post.read_text().splitlines()]
    assert lines[0].startswith("#!") and "bash" in lines[0], "binder/postBuild needs a #!/bin/bash shebang"
    assert "set -e" in lines, "binder/postBuild needs `set -e`: otherwise a failing step does not stop the build"
    assert any(re.fullmatch(r"pip install (--no-deps -e|-e --no-deps) \.", ln) for ln in lines), (
        "binder/postBuild must install the package: pip install --no-deps -e ."
    )


def test_start_script_if_present():
    start = BINDER / "start"
    if not start.exists():
        pytest.skip("no binder/start")
    assert _is_executable(start), "binder/start must be executable"
    body = [ln.strip() for ln in start.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert body and body[-1] == 'exec "$@"', 'binder/start must end with exec "$@" (else Jupyter never starts)'


def test_binder_has_no_files_that_override_requirements():
    """A Dockerfile makes repo2docker ignore everything else; environment.yml makes it ignore runtime.txt."""
    for name in ("Dockerfile", "environment.yml", "Pipfile"):
        assert not (BINDER / name).exists(), f"binder/{name} would override binder/requirements.txt"
    assert not (REPO / ".binder").exists(), "having both binder/ and .binder/ is an error for repo2docker"
