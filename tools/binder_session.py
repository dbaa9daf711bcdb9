#!/usr/bin/env python
"""A Binder-sized learner session: every notebook, one after another, in one JupyterLab, in a real browser,
with JupyterLab and its kernels inside a 2 GB memory cgroup and 1 CPU.

    sudo .venv/bin/python tools/binder_session.py                    # binder/'s settings, notebooks/*.ipynb
    sudo .venv/bin/python tools/binder_session.py --cull-idle-timeout 60 --cull-interval 10 --notebooks /tmp/nb

Needs root and the cgroup v1 memory and cpu controllers (/sys/fs/cgroup/memory, /sys/fs/cgroup/cpu), Debian's
chromium and the playwright package. Opt-in, slow (minutes): not part of the default test run
(tests/test_binder_session.py runs it when TOYMODEL_BINDER_SESSION=1).

The server runs with binder/jupyter_server_config.json (kernel culling) and binder/overrides.json (a kernel is
shut down when its notebook closes), as binder/postBuild installs them on Binder; --cull-idle-timeout and
--cull-interval override the culling (a real session spends ~30 minutes on a notebook; the defaults cull after
20 idle minutes). Like a learner, the browser opens each notebook in a new tab, runs all its cells and LEAVES
IT OPEN (its kernel too) before the next. The browser itself stays outside the cgroup (on Binder it runs on
the learner's laptop). Recorded: each notebook's Run All time on one CPU, the cgroup's peak memory
(memory.max_usage_in_bytes, page cache included: what the limit acts on), the peak summed RSS of the server
and kernels, the kernels alive after each notebook, OOM kills (memory.oom_control) and kernel restarts or
deaths. The session passes when every notebook finished without an error and nothing was killed.
Prints a markdown table and writes JSON to --json (default test-artifacts/binder-session.json).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote
import urllib.request

__all__ = ["Cgroup", "run_session", "main"]

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("TOYMODEL_CHROMIUM", "/usr/bin/chromium")


def _browser_helpers():
    """JS snippets and Chromium flags shared with the real-browser test (tests/test_browser.py)."""
    spec = importlib.util.spec_from_file_location("_tb", REPO / "tests" / "test_browser.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


class Cgroup:
    """A cgroup v1 memory + cpu pair, made below this process's own cgroups, removed by close()."""

    def __init__(self, memory_bytes: int, cpus: float) -> None:
        name = f"toymodel-binder-{os.getpid()}"
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.count(":") >= 2)
        self.mem = Path("/sys/fs/cgroup/memory") / own.get("memory", "/").lstrip("/") / name
        self.cpu = Path("/sys/fs/cgroup/cpu") / own.get("cpu", "/").lstrip("/") / name
        for d in (self.mem.parent, self.cpu.parent):
            if not d.is_dir():
                raise SystemExit(f"no cgroup v1 controller at {d} (needs root and the v1 memory and cpu controllers)")
        self.mem.mkdir()
        self.cpu.mkdir()
        (self.mem / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = self.mem / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_bytes))  # no swapping out of the limit
        period = int((self.cpu / "cpu.cfs_period_us").read_text())
        (self.cpu / "cpu.cfs_quota_us").write_text(str(int(period * cpus)))

    def join(self) -> None:
        """In the child before exec: move this process into both groups."""
        for d in (self.mem, self.cpu):
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def peak_bytes(self) -> int:
        return int((self.mem / "memory.max_usage_in_bytes").read_text())

    def oom_kills(self) -> int:
        m = re.search(r"^oom_kill (\d+)", (self.mem / "memory.oom_control").read_text(), re.M)
        return int(m.group(1)) if m else 0

    def pids(self) -> list[int]:
        return [int(p) for p in (self.mem / "cgroup.procs").read_text().split()]

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
            except OSError:
                continue
            total += int(m.group(1)) * 1024 if m else 0
        return total

    def throttled_s(self) -> float:
        m = re.search(r"^throttled_time (\d+)", (self.cpu / "cpu.stat").read_text(), re.M)
        return int(m.group(1)) / 1e9 if m else 0.0

    def close(self) -> None:
        for d in (self.mem, self.cpu):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_session(notebooks: list[Path], memory_bytes: int, cpus: float, cull_idle_timeout: int | None,
                cull_interval: int | None, run_timeout_s: float = 900) -> dict:
    """Run the session; return its measurements (see the module docstring)."""
    from playwright.sync_api import sync_playwright

    tb = _browser_helpers()
    root = Path(os.path.commonpath([p.parent for p in notebooks]))
    base = Path(tempfile.mkdtemp(prefix="binder-session-"))
    server_cfg = json.loads((REPO / "binder" / "jupyter_server_config.json").read_text())
    kernels = server_cfg.setdefault("MappingKernelManager", {})
    if cull_idle_timeout is not None:
        kernels["cull_idle_timeout"] = cull_idle_timeout
    if cull_interval is not None:
        kernels["cull_interval"] = cull_interval
    for name in ("config", "data", "runtime", "ipython", "app-settings"):
        (base / name).mkdir()
    (base / "config" / "jupyter_server_config.json").write_text(json.dumps(server_cfg, indent=1))
    overrides = json.loads((REPO / "binder" / "overrides.json").read_text())
    for key, value in tb.LAB_OVERRIDES.items():  # the test's: no autosave, no virtual scrolling, no news toast
        overrides.setdefault(key, {}).update(value)
    (base / "app-settings" / "overrides.json").write_text(json.dumps(overrides, indent=1))
    port, token = _free_port(), hashlib.sha256(os.urandom(32)).hexdigest()[:32]
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"),
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # what binder/start sets
    env.pop("MPLBACKEND", None)
    env.pop("JUPYTER_PATH", None)
    cg = Cgroup(memory_bytes, cpus)
    log = open(base / "lab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.app_settings_dir={base / 'app-settings'}", f"--LabApp.user_settings_dir={base / 'user'}",
         f"--LabApp.workspaces_dir={base / 'ws'}"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True, preexec_fn=cg.join)

    def api(path: str):
        req = urllib.request.Request(url + path, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    peak_rss = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak_rss[0] = max(peak_rss[0], cg.rss_bytes())
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rows: list[dict] = []
    result: dict = {"memory_limit_mb": memory_bytes / 2**20, "cpus": cpus, "server_config": server_cfg,
                    "lab_overrides": json.loads((REPO / "binder" / "overrides.json").read_text()), "notebooks": rows}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"jupyter lab did not start:\n{(base / 'lab.log').read_text()[-3000:]}")
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=tb.CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            start_all = time.monotonic()
            for path in notebooks:
                rel = path.relative_to(root).as_posix()
                page = context.new_page()  # a new tab; the earlier ones stay open, their kernels too
                page.set_default_timeout(120_000)
                page.goto(f"{url}/lab/workspaces/session-{quote(path.stem)}/tree/{quote(rel)}?token={token}")
                page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=300_000)
                t0 = time.monotonic()
                page.get_by_role("menuitem", name="Run", exact=True).click()
                page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
                page.wait_for_function(tb.JS_RUN_FINISHED, arg=[tb.ERROR_OUTPUTS, tb.STDERR_OUTPUTS],
                                       timeout=run_timeout_s * 1000, polling=500)
                page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=300_000)
                run_s = time.monotonic() - t0
                errors = page.locator(tb.ERROR_OUTPUTS).count() + page.locator(tb.STDERR_OUTPUTS).filter(
                    has_text="Traceback").count()
                alive = api("/api/kernels")
                rows.append({"notebook": path.name, "run_all_s": round(run_s, 1), "errors": errors,
                             "kernels_alive_after": len(alive), "cgroup_peak_mb": round(cg.peak_bytes() / 2**20),
                             "rss_now_mb": round(cg.rss_bytes() / 2**20), "oom_kills": cg.oom_kills()})
                print(f"{path.name}: Run All {run_s:.1f} s, {errors} error(s), {len(alive)} kernel(s) alive, "
                      f"cgroup peak {cg.peak_bytes() / 2**20:.0f} MB, RSS now {cg.rss_bytes() / 2**20:.0f} MB",
                      flush=True)
            result["total_s"] = round(time.monotonic() - start_all, 1)
            # binder/overrides.json's kernelShutdown: closing the last notebook's tab shuts its kernel down
            before = len(api("/api/kernels"))
            page.locator(".jp-mod-current .lm-TabBar-tabCloseIcon, "
                         "#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").first.click()
            discard = page.get_by_role("button", name="Discard")  # "save your work?" (outputs changed; no autosave)
            try:
                discard.wait_for(timeout=5_000)
                discard.click()
            except Exception:
                pass
            deadline = time.monotonic() + 30
            while len(api("/api/kernels")) >= before and time.monotonic() < deadline:
                time.sleep(0.5)
            result["kernel_shut_down_on_tab_close"] = len(api("/api/kernels")) < before
            print(f"closing the last tab: kernels {before} -> {len(api('/api/kernels'))}", flush=True)
            context.close()
            browser.close()
    finally:
        stop.set()
        sampler.join(timeout=5)
        lab_log = (base / "lab.log").read_text(errors="replace")
        result["cgroup_peak_mb"] = round(cg.peak_bytes() / 2**20)
        result["peak_rss_mb"] = round(peak_rss[0] / 2**20)
        result["oom_kills"] = cg.oom_kills()
        result["cpu_throttled_s"] = round(cg.throttled_s(), 1)
        result["kernel_restarts"] = len(re.findall(r"KernelRestarter: restarting kernel", lab_log))
        result["kernels_died"] = len(re.findall(r"[Kk]ernel died|AsyncIOLoopKernelRestarter.*restart failed", lab_log))
        result["kernels_culled"] = len(re.findall(r"Culling '", lab_log))
        try:
            os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        for pid in cg.pids():  # stragglers of our own server only (the cgroup holds nothing else)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cg.close()
        shutil.rmtree(base, ignore_errors=True)
    result["passed"] = (len(rows) == len(notebooks) and all(r["errors"] == 0 for r in rows)
                        and result["oom_kills"] == 0 and result["kernel_restarts"] == 0 and result["kernels_died"] == 0)
    return result


def _size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]?)", text.strip().upper())
    if not m:
        raise argparse.ArgumentTypeError(f"--memory must look like 2G or 1536M, got {text!r}")
    return int(float(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks", help="default: notebooks/")
    parser.add_argument("--memory", type=_size, default=2 * 2**30, help="memory limit (default 2G)")
    parser.add_argument("--cpus", type=float, default=1.0, help="CPU quota (default 1)")
    parser.add_argument("--cull-idle-timeout", type=int, default=None, help="override binder/'s (1200 s)")
    parser.add_argument("--cull-interval", type=int, default=None, help="override binder/'s (60 s)")
    parser.add_argument("--json", type=Path, default=REPO / "test-artifacts" / "binder-session.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("binder_session.py needs root (it makes a memory and a cpu cgroup)", file=sys.stderr)
        return 1
    paths = sorted(args.notebooks.resolve().glob("*.ipynb"))
    if not paths:
        print(f"no notebooks in {args.notebooks}", file=sys.stderr)
        return 1
    result = run_session(paths, args.memory, args.cpus, args.cull_idle_timeout, args.cull_interval)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_name(f".{args.json.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, args.json)
    print("\n| notebook | Run All on 1 CPU (s) | kernels alive after | cgroup peak so far (MB) |\n|---|---:|---:|---:|")
    for r in result["notebooks"]:
        print(f"| {r['notebook']} | {r['run_all_s']} | {r['kernels_alive_after']} | {r['cgroup_peak_mb']} |")
    print(f"\npeak: cgroup {result['cgroup_peak_mb']} MB (limit {result['memory_limit_mb']:.0f} MB), summed RSS "
          f"{result['peak_rss_mb']} MB; OOM kills {result['oom_kills']}, kernel restarts {result['kernel_restarts']}, "
          f"culled {result['kernels_culled']}; {'PASSED' if result['passed'] else 'FAILED'}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
