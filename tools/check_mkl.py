#!/usr/bin/env python
"""Prove that the committed notebook outputs do not depend on the CPU: nbval strict under each MKL code path.

    python tools/check_mkl.py              # every notebooks/*.ipynb; MKL_CBWR unset, COMPATIBLE, AVX2, AVX512
    python tools/check_mkl.py notebooks/07_privileged_basis.ipynb --settings AVX2 COMPATIBLE

The low-order digits of torch's CPU maths follow the code path MKL picks for the CPU it runs on; MKL_CBWR
forces one (COMPATIBLE: the generic SSE2 path of an old CPU; AVX2; AVX512), so one machine can reproduce
what other machines compute.  For each setting this runs the repository's own notebook test (pytest with
nbval strict, the options in pyproject.toml) in a fresh process with MKL_CBWR set, and prints a table of
passed / failed cells per notebook.  Exit status 0 only if every notebook passes under every setting.
("unset" runs with MKL_CBWR removed from the environment.)
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import os
from pathlib import Path
import re
import subprocess
import sys
import time

REPO = Path(__file__).resolve().parent.parent
SETTINGS = ["unset", "COMPATIBLE", "AVX2", "AVX512"]


def run_notebook(setting: str, notebook: Path) -> tuple[int, list[str]]:
    """nbval strict on one notebook under one MKL_CBWR setting: (cells passed, ids of the cells that failed)."""
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}
    if setting != "unset":
        env["MKL_CBWR"] = setting
    cmd = [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO),
           "-q", "-rfE", str(notebook)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    failed = re.findall(r"^(?:FAILED|ERROR) \S*?::(Cell \d+)", proc.stdout, flags=re.M)
    summary = re.search(r"(\d+) passed", proc.stdout)
    if proc.returncode not in (0, 1) or (summary is None and not failed):
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"pytest did not run {notebook.name} under MKL_CBWR={setting} (exit status {proc.returncode})")
    return (int(summary.group(1)) if summary else 0), failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to check (default: notebooks/*.ipynb)")
    parser.add_argument("--settings", nargs="+", default=SETTINGS, choices=SETTINGS, help="MKL_CBWR values")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="notebooks run at once (default: %(default)s)")
    args = parser.parse_args(argv)
    notebooks = [nb.resolve() for nb in args.notebooks] or sorted((REPO / "notebooks").glob("*.ipynb"))
    missing = [str(nb) for nb in notebooks if not nb.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    table: dict[str, dict[str, tuple[int, list[str]]]] = {s: {} for s in args.settings}

    def one(setting: str, nb: Path) -> None:
        start = time.perf_counter()
        passed, failed = table[setting][nb.name] = run_notebook(setting, nb)
        verdict = f"{passed} cells passed" + (f", FAILED: {', '.join(failed)}" if failed else "")
        print(f"MKL_CBWR={setting:<10} {nb.name}: {verdict} ({time.perf_counter() - start:.0f} s)", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:  # each job is its own pytest process
        for future in [pool.submit(one, s, nb) for s in args.settings for nb in notebooks]:
            future.result()

    width = max(len(nb.name) for nb in notebooks)
    print("\n" + "notebook".ljust(width) + "".join(f"  {s:>12}" for s in args.settings))
    ok = True
    for nb in notebooks:
        cells = []
        for s in args.settings:
            passed, failed = table[s][nb.name]
            ok &= not failed and passed > 0
            cells.append(f"{passed} passed" if not failed else "FAIL " + ",".join(c.split()[1] for c in failed))
        print(nb.name.ljust(width) + "".join(f"  {c:>12}" for c in cells))
    print("\nall notebooks pass nbval strict under every setting" if ok else "\nsome cells differ: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
