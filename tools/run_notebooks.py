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

A notebook is left untouched on disk, and the script carries on with the others and exits with status 1,
when its execution fails; when the run wrote to stderr (no committed notebook stores stderr: there it is
environment noise such as matplotlib's "created a temporary cache directory" under an unwritable HOME or
MPLCONFIGDIR; a cell that means to show something prints it to stdout); or when the file changed on disk
while it ran (an edit saved from JupyterLab meanwhile is kept: the executed copy is written to a new folder
in the temporary directory, outside notebooks/, and the message names it). Where matplotlib would find no
writable config folder, the kernels get a fresh MPLCONFIGDIR (its font cache built before the first
notebook). Each notebook is written atomically (toymodel.outputs.atomic_write: a temporary file beside it,
then a rename; Ctrl-C or SIGTERM leave no temporary file). For each notebook it prints the wall time and the
kernel's peak RSS (VmHWM of the kernel process, read from /proc before the kernel is shut down; Linux only,
"n/a" elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import tempfile
import time

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout: import this checkout's toymodel

from toymodel.outputs import OutputError, atomic_write  # noqa: E402

__all__ = ["NotSaved", "kernel_env", "main", "run_notebook"]

NB_DIR = REPO / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


class NotSaved(Exception):
    """The notebook ran, but the result was not written to it; the message says why (and where it is)."""


class _Changed(Exception):
    """The notebook on disk is no longer the one that was read."""


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


def _matplotlib_stderr(env: dict[str, str]) -> str:
    """What importing matplotlib writes to stderr under env (a warning where it finds no writable folder)."""
    proc = subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, capture_output=True,
                          text=True, timeout=600)
    return proc.stderr.strip()


def kernel_env(scratch: Path) -> dict[str, str]:
    """The kernels' environment: this one with PYTHONHASHSEED=0 and no MPLBACKEND (the kernel must use the inline
    backend, whatever the caller set); where matplotlib would warn (no writable config folder: it then makes a
    temporary one, and says so in the first figure cell's output), MPLCONFIGDIR in scratch, its font cache built."""
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("MPLBACKEND", None)
    if _matplotlib_stderr(env):
        env["MPLCONFIGDIR"] = str(scratch / "matplotlib")
        noise = _matplotlib_stderr(env)  # builds the font cache now, not inside a notebook's first cell
        if noise:
            print(f"warning: importing matplotlib in the kernels still writes to stderr:\n{noise}", file=sys.stderr)
    return env


async def _execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int, env: dict[str, str]) -> float | None:
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
    try:
        await client.async_execute(cwd=str(cwd), env=env)
        return _vm_hwm_mb(getattr(km.provisioner, "pid", None))
    finally:
        if await km.is_alive():
            await km.shutdown_kernel(now=False)
        if client.kc is not None:
            client.kc.stop_channels()


def _stderr_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Where the run wrote to stderr, with the first line of each: the cells' outputs and Output widgets'."""
    def first_line(out: dict) -> str:
        text = out.get("text", "")
        text = "".join(text) if isinstance(text, list) else text
        return repr(text.strip().splitlines()[0][:120] if text.strip() else text)

    def is_stderr(out: dict) -> bool:
        return out.get("output_type") == "stream" and out.get("name") == "stderr"

    found = [f"cell {i}: {first_line(o)}" for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if is_stderr(o)]
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        outputs = model.get("state", {}).get("outputs", []) or []
        found += [f"an Output widget: {first_line(o)}" for o in outputs if is_stderr(o)]
    return found


def _notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The file nbformat.write would write."""
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def _save_unless_changed(path: Path, digest: str, data: bytes) -> None:
    """Replace path by data if it still has the content it had when read (sha256 digest); else keep it and
    raise NotSaved naming a copy of data in a new temporary folder (outside notebooks/: nbval never collects it)."""
    def unchanged() -> None:
        try:
            now = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            now = None
        if now != digest:
            raise _Changed

    try:
        atomic_write(path, data, check=unchanged)
    except _Changed:
        copy = Path(tempfile.mkdtemp(prefix="run_notebooks-")) / path.name
        atomic_write(copy, data)
        raise NotSaved(f"{path} changed on disk while it ran (an edit saved meanwhile?), so it was not overwritten; "
                       f"the executed copy is {copy}. Run it again to store fresh outputs") from None


def run_notebook(path: Path, timeout: int, env: dict[str, str] | None = None) -> tuple[float, float | None]:
    """Execute one notebook in place; return (wall seconds, peak kernel RSS MB).

    Raises CellExecutionError (and nbclient's other errors) when a cell fails, NotSaved when the run wrote to
    stderr or the file changed meanwhile, OutputError when it cannot be written; in each case the file is
    unchanged.  env: the kernel's environment (default: kernel_env with a scratch folder for this run).
    """
    if env is None:
        with tempfile.TemporaryDirectory(prefix="run_notebooks-") as scratch:
            return run_notebook(path, timeout, kernel_env(Path(scratch)))
    original = path.read_bytes()
    nb = nbformat.reads(original.decode("utf-8"), as_version=4)
    _clean_before_run(nb)
    start = time.perf_counter()
    rss = asyncio.run(_execute(nb, path.parent, timeout, env))
    wall = time.perf_counter() - start
    nb = _renumber_widget_ids(nb, path.stem)
    noise = _stderr_outputs(nb)
    if noise:
        raise NotSaved(f"{path} was not overwritten: the run wrote to stderr ({'; '.join(noise[:3])}), which is "
                       "not stored in the notebooks (environment noise, e.g. an unwritable HOME or MPLCONFIGDIR, "
                       "or a warning): fix the cause and run it again")
    _save_unless_changed(path, hashlib.sha256(original).hexdigest(), _notebook_bytes(nb))
    return wall, rss


def _run_all(paths: list[Path], timeout: int, env: dict[str, str]) -> tuple[list, list[str]]:
    """Run each notebook, carrying on past failures; return the timing rows and the names that failed."""
    rows: list[tuple[str, float, float | None]] = []
    failed: list[str] = []
    for path in paths:
        name = path.name
        print(f"running {name} ...", flush=True)
        start = time.perf_counter()
        try:
            wall, rss = run_notebook(path, timeout, env)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            wall = time.perf_counter() - start
            print(f"FAILED  {name} after {wall:.1f} s (file left unchanged):\n{exc}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        except (NotSaved, OutputError) as exc:
            print(f"FAILED  {name}: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        rss_text = f"{rss:.0f} MB" if rss is not None else "n/a"
        print(f"ok      {name}: {wall:.1f} s, peak kernel RSS {rss_text}", flush=True)
        rows.append((name, wall, rss))
    return rows, failed


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks named (default: all of notebooks/); exit status 1 if any failed or was not saved."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    parser.add_argument("--timing-table", action="store_true",
                        help="print a markdown table: | notebook | time (s) | peak kernel RSS (MB) |")
    args = parser.parse_args(argv)

    paths = [p.resolve() for p in args.notebooks or sorted(NB_DIR.glob("*.ipynb"))]
    if not paths:
        print(f"no notebooks found in {NB_DIR}", file=sys.stderr)
        return 1
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="run_notebooks-") as scratch:
        rows, failed = _run_all(paths, args.timeout, kernel_env(Path(scratch)))

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
