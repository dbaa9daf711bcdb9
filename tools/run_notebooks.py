#!/usr/bin/env python
"""Execute notebooks from a fresh kernel and store their outputs (and widget state) in place.

    python tools/run_notebooks.py                       # every notebooks/*.ipynb
    python tools/run_notebooks.py notebooks/01_basic_superposition.ipynb --timing-table

Each notebook runs top to bottom in a new kernel of THIS interpreter (not whatever `python3` kernelspec
is installed), with the notebook's folder as working directory, a per-cell timeout, widget state saved
to the notebook metadata (so explorers render in static viewers), and no execution timestamps. Runs are
deterministic: PYTHONHASHSEED=0, IPython history in memory, widget model ids renumbered from the
notebook's name (instead of random uuids), so re-running an unchanged notebook on the same machine
rewrites the same bytes. OMP_NUM_THREADS and the rest of the environment are passed through unchanged.

A notebook whose execution fails is left untouched on disk; the script carries on with the others and
exits with status 1. For each notebook it prints the wall time and the kernel's peak RSS (VmHWM of the
kernel process, read from /proc before the kernel is shut down; Linux only, "n/a" elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from pathlib import Path
import re
import sys
import time

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
import nbformat

REPO = Path(__file__).resolve().parent.parent
NB_DIR = REPO / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class CurrentEnvKernelSpecManager(KernelSpecManager):
    """Every kernel name resolves to an ipykernel of the interpreter running this script."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (ipykernel)",
            language="python",
        )


def _vm_hwm_mb(pid: int | None) -> float | None:
    """Peak resident set size of a process in MB (VmHWM from /proc/<pid>/status), None if unavailable."""
    if pid is None:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None


def _renumber_widget_ids(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Replace the random widget model ids (uuid4 hex) by ids derived from the notebook name and order."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    ids = set(state)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view and "model_id" in view:
                ids.add(view["model_id"])
    if not ids:
        return nb
    # An order that does not depend on the random ids themselves: depth-first from the widget views in
    # cell order, following IPY_MODEL_<id> references (state keys sorted); then models nothing displays,
    # sorted by their content with every id blanked out.
    id_pattern = re.compile("|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)))
    ordered: list[str] = []

    def visit(model_id: str) -> None:
        if model_id in ordered:
            return
        ordered.append(model_id)
        body = json.dumps(state.get(model_id, {}).get("state", {}), sort_keys=True)
        for ref in re.findall(r"IPY_MODEL_(\w+)", body):
            if ref in ids:
                visit(ref)

    for cell in nb.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view and "model_id" in view:
                visit(view["model_id"])
    # Models nothing displays (e.g. the jslinks between sliders and stacks) often differ only in the models
    # they point to: name those by their place in the order so far, so that ties do not fall to the random ids.
    # A model not yet numbered is named by its own content, recursively (a cycle is cut with "~").
    def content_key(model_id: str, seen: frozenset[str] = frozenset()) -> str:
        body = json.dumps(state.get(model_id), sort_keys=True)

        def name(m: re.Match) -> str:
            ref = m.group(0)
            if ref in ordered:
                return f"#{ordered.index(ref)}"
            return "~" if ref in seen or ref == model_id else "{" + content_key(ref, seen | {model_id}) + "}"
        return id_pattern.sub(name, body)

    rest = [i for i in ids if i not in ordered]
    referenced = {ref for i in rest for ref in re.findall(r"IPY_MODEL_(\w+)", json.dumps(state.get(i, {})))}
    roots = [i for i in rest if i not in referenced]  # numbered first; what they point to follows depth-first
    for group in (roots, rest):
        for model_id in sorted(group, key=lambda i: (content_key(i), i)):
            visit(model_id)
    text = json.dumps(nb, sort_keys=True)
    mapping = {old: hashlib.md5(f"{stem}:{k}".encode()).hexdigest() for k, old in enumerate(ordered)}
    text = id_pattern.sub(lambda m: mapping[m.group(0)], text)
    return nbformat.from_dict(json.loads(text))


def _clean_before_run(nb: nbformat.NotebookNode) -> None:
    """Drop what a run may not overwrite: stale widget state and per-cell execution timestamps."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


async def _execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int) -> float | None:
    """Run every cell of nb (in place) in a fresh kernel; return the kernel's peak RSS in MB."""
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=CurrentEnvKernelSpecManager())
    client = NotebookClient(
        nb,
        km=km,
        kernel_name="python3",
        timeout=timeout,
        startup_timeout=120,
        allow_errors=False,
        store_widget_state=True,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("MPLBACKEND", None)  # the kernel must use the inline backend, whatever the caller set
    try:
        await client.async_execute(cwd=str(cwd), env=env)
        return _vm_hwm_mb(getattr(km.provisioner, "pid", None))
    finally:
        if await km.is_alive():
            await km.shutdown_kernel(now=False)
        if client.kc is not None:
            client.kc.stop_channels()


def run_notebook(path: Path, timeout: int) -> tuple[float, float | None]:
    """Execute one notebook in place; return (wall seconds, peak kernel RSS MB). Raises on failure."""
    nb = nbformat.read(path, as_version=4)
    _clean_before_run(nb)
    start = time.perf_counter()
    rss = asyncio.run(_execute(nb, path.parent, timeout))
    wall = time.perf_counter() - start
    nb = _renumber_widget_ids(nb, path.stem)
    tmp = path.with_name(f".{path.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)
    return wall, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--timing-table", action="store_true",
                        help="print a markdown table: | notebook | time (s) | peak kernel RSS (MB) |")
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.notebooks] or sorted(NB_DIR.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NB_DIR}", file=sys.stderr)
        return 1
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
        return 1

    rows: list[tuple[str, float, float | None]] = []
    failed: list[str] = []
    for path in paths:
        name = path.name
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        try:
            wall, rss = run_notebook(path, args.timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            wall = time.perf_counter() - start
            print(f"FAILED  {name} after {wall:.1f} s (file left unchanged):\n{exc}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        rss_text = f"{rss:.0f} MB" if rss is not None else "n/a"
        print(f"ok      {name}: {wall:.1f} s, peak kernel RSS {rss_text}", flush=True)
        rows.append((name, wall, rss))

    if args.timing_table and rows:
        print()
        print("| notebook | time (s) | peak kernel RSS (MB) |")
        print("|---|---:|---:|")
        for name, wall, rss in rows:
            print(f"| {name} | {wall:.1f} | {rss:.0f} |" if rss is not None else f"| {name} | {wall:.1f} | n/a |")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
