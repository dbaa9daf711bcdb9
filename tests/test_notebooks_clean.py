"""The notebooks as committed: executed top to bottom from a fresh kernel, no errors, no blocking input().

Re-execute with `python tools/run_notebooks.py` (fresh kernel, outputs and widget state stored) when one fails.
The notebooks folder can be pointed elsewhere with TOYMODEL_NOTEBOOKS_DIR (default: <repo>/notebooks).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import re

import pytest

REPO = Path(__file__).resolve().parent.parent
NB_DIR = Path(os.environ.get("TOYMODEL_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_basic_superposition.ipynb",
    "02_sparse_vs_dense.ipynb",
    "03_feature_importance.ipynb",
    "04_dimensionality_sweep.ipynb",
    "05_phase_diagram.ipynb",  # 05-09: the optional "going further" notebooks
    "06_feature_geometry.ipynb",
    "07_privileged_basis.ipynb",
    "08_correlated_features.ipynb",
    "09_sparse_autoencoders.ipynb",
]
RERUN = "re-execute it with: python tools/run_notebooks.py"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_INPUT_CALL = re.compile(r"(?<![\w.])input\s*\(")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _load(path: Path | None) -> dict:
    if path is None:
        pytest.fail(f"no notebooks found in {NB_DIR} (expected {', '.join(EXPECTED)})")
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]


def _outputs_with_widgets(nb: dict):
    """(where, output) for every stored output: the cells' own and those inside Output widgets' saved state."""
    for i, cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            yield f"cell {i}", out
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model_id, model in state.items():
        for out in model.get("state", {}).get("outputs", []) or []:
            yield f"Output widget {model_id[:8]}", out


def _ids(p: Path | None) -> str:
    return p.name if p is not None else "no-notebooks"


params = pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=_ids)


def test_notebooks_found():
    assert NOTEBOOKS, f"no notebooks found in {NB_DIR}"


def test_expected_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    missing = [n for n in EXPECTED if n not in names]
    assert not missing, f"missing notebooks in {NB_DIR}: {missing}" + ("" if NOTEBOOKS else " (no notebooks found)")


@params
def test_executed_in_order_from_a_fresh_kernel(path):
    nb = _load(path)
    cells = _code_cells(nb)
    assert cells, f"{path.name} has no code cells"
    empty = [i for i, c in cells if not _source(c).strip()]
    assert not empty, f"{path.name}: empty code cells {empty} (they never get an execution count); delete them"
    counts = [c.get("execution_count") for _, c in cells]
    expected = list(range(1, len(cells) + 1))
    assert counts == expected, (
        f"{path.name}: execution counts {counts}, expected {expected} "
        f"(every code cell run once, in order, from a fresh kernel); {RERUN}"
    )


@params
def test_no_error_outputs(path):
    nb = _load(path)
    errors = [
        f"{where}: {out.get('ename')}: {out.get('evalue')}"
        for where, out in _outputs_with_widgets(nb)
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{path.name} stores error outputs: {errors}; {RERUN}"


@params
def test_no_traceback_text_in_outputs(path):
    """A traceback printed as text (stderr, a caught exception, a widget callback that failed)."""
    nb = _load(path)
    found = []
    for where, out in _outputs_with_widgets(nb):
        texts = [_text(out.get("text", ""))]
        texts += [_text(v) for k, v in (out.get("data") or {}).items() if k.startswith("text/")]
        if any("Traceback (most recent call last)" in t for t in texts):
            found.append(where)
    assert not found, f"{path.name}: stored outputs contain a Python traceback: {found}; {RERUN}"


@params
def test_no_input_calls(path):
    """input() blocks headless runs (nbval, CI, tools/run_notebooks.py) forever."""
    nb = _load(path)
    offenders = [i for i, c in _code_cells(nb) if _INPUT_CALL.search(_source(c))]
    assert not offenders, f"{path.name}: cells {offenders} call input(); use a variable the learner edits"


@params
def test_kernelspec_is_python3(path):
    nb = _load(path)
    ks = nb.get("metadata", {}).get("kernelspec", {})
    assert ks.get("name") == "python3", f"{path.name}: kernelspec {ks!r}, expected name 'python3'"
    assert ks.get("language", "python") == "python", f"{path.name}: kernelspec language {ks.get('language')!r}"


@params
def test_widget_views_have_saved_state(path):
    """Every stored widget view points at a model in the saved widget state.

    Otherwise a static render (GitHub, nbviewer, a freshly opened notebook) shows
    "Error displaying widget: model not found" instead of the explorer.
    """
    nb = _load(path)
    views = [
        (f"cell {i}", out["data"][WIDGET_VIEW]["model_id"])
        for i, c in _code_cells(nb)
        for out in c.get("outputs", [])
        if WIDGET_VIEW in (out.get("data") or {})
    ]
    if not views:
        return
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [where for where, model_id in views if model_id not in state]
    assert not missing, f"{path.name}: widget views without saved state in {missing}; {RERUN}"
