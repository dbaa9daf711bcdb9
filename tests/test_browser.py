"""Real-browser test: every notebook runs in JupyterLab in headless Chromium, and its slider explorers redraw.

For each notebooks/*.ipynb (or $TOYMODEL_NOTEBOOKS_DIR/*.ipynb): open it in JupyterLab, wait for the
kernel, clear the stored outputs, Run All Cells from the menu, wait until every code cell has run, then
check that no cell shows an error and no widget failed to display. Every notebook must contain at least
one slider explorer: a widget box holding a slider (`.widget-slider`) and an Output widget
(`.widget-output`). For each explorer the first slider is moved with the keyboard and the figure in the
explorer's Output (its <img>/<canvas>/text) must change. An explorer that also holds a button (a
"Retrain live" explorer: its slider only picks the next setting) must redraw once the button is clicked.

A second case opens each notebook WITHOUT running it: every explorer cell (a stored widget-view output) must
show a figure, not the bare text repr (JupyterLab renders the unsafe widget view only in trusted outputs and
otherwise falls back to the bundle's image/png, the explorer's current frame).

Needs Debian's chromium (/usr/bin/chromium, or $TOYMODEL_CHROMIUM) and the Python playwright package;
`playwright install` is never used. Without them the test is skipped, or FAILS when $CI is set.
One JupyterLab server (fresh config/data/runtime dirs, random port and token, autosave off, so the
notebooks on disk are never rewritten) and one browser serve all notebooks; each notebook's kernel is shut
down through the REST API when its test ends. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
from urllib.parse import quote
import urllib.request

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
NB_DIR = Path(os.environ.get("TOYMODEL_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("TOYMODEL_CHROMIUM", "/usr/bin/chromium")
RUN_TIMEOUT_S = float(os.environ.get("TOYMODEL_BROWSER_TIMEOUT", "300"))  # Run All, per notebook
INSTALL_HINT = (
    "apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core"
    "  (as root; plus `pip install -r requirements.txt` for the playwright package; never `playwright install`)"
)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
LAB_OVERRIDES = {
    # the "Would you like to get notified about official Jupyter news?" toast covers outputs
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # running the notebook in the browser must never rewrite the .ipynb on disk
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    # keep every cell in the DOM (no virtual scrolling) so the waits below see all prompts and outputs
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
ERROR_OUTPUTS = '[data-mime-type="application/vnd.jupyter.error"]'
STDERR_OUTPUTS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

# True once every non-empty code cell shows [n] (or an error output appeared), and nothing is [*].
# (JupyterLab 4.6 renders an "error" output as stderr text: data-mime-type="application/vnd.jupyter.stderr".)
JS_RUN_FINISHED = """([errSel, stderrSel]) => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell')];
  if (!cells.length) return false;
  let done = 0, todo = 0;
  for (const cell of cells) {
    const prompt = (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '';
    if (prompt.includes('*')) return false;
    const src = (cell.querySelector('.cm-content') || {}).textContent || '';
    if (!src.trim()) continue;                       // JupyterLab never numbers an empty cell
    todo += 1;
    if (/\\[\\d+\\]/.test(prompt)) done += 1;
  }
  const failed = document.querySelector(errSel) !== null ||
    [...document.querySelectorAll(stderrSel)].some(o => o.textContent.includes('Traceback'));
  return done === todo || (done > 0 && failed);   // after an error JupyterLab leaves later cells unrun
}"""

# Mark every explorer (the nearest ancestor of a slider that also holds a .widget-output) and its first
# slider with data attributes; return [{sliders, buttons, readout}] per explorer in document order.
JS_MARK_EXPLORERS = """() => {
  const root = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  const explorers = [];
  for (const slider of root.querySelectorAll('.widget-slider')) {
    let el = slider.parentElement;
    while (el && el !== root && !el.querySelector('.widget-output')) el = el.parentElement;
    if (!el || el === root || explorers.includes(el)) continue;
    explorers.push(el);
  }
  return explorers.map((el, i) => {
    el.setAttribute('data-bt-explorer', String(i));
    const first = el.querySelector('.widget-slider');
    first.setAttribute('data-bt-first-slider', String(i));
    const readout = first.querySelector('.widget-readout');
    return {sliders: el.querySelectorAll('.widget-slider').length,
            buttons: el.querySelectorAll('button.jupyter-button, .widget-button').length,
            readout: readout ? readout.textContent : null};
  });
}"""

# What the explorer's Output shows: image sources, canvas pixels and text.
JS_FIGURE_SIGNATURE = """(el) => {
  const out = el.querySelector('.widget-output');
  if (!out) return '';
  const imgs = [...out.querySelectorAll('img')].map(i => i.src);
  const canvases = [...out.querySelectorAll('canvas')].map(c => {
    try { return c.toDataURL(); } catch (e) { return ''; }
  });
  return JSON.stringify([imgs, canvases, out.innerText]);
}"""


def _die_with_parent() -> None:
    """In the lab's child process: get SIGTERM when pytest dies, even by SIGKILL (Linux; no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lab_root() -> Path:
    """Repo root when the notebooks live in it (the normal case), else the notebooks folder's parent."""
    return REPO if NB_DIR.is_relative_to(REPO) else NB_DIR.parent


def _require_browser() -> None:
    problems = []
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the Python package playwright is not installed")
    if problems:
        msg = f"browser test needs a real Chromium: {'; '.join(problems)}. Install with: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


class Lab:
    """A JupyterLab server in its own process group, with throw-away config/data/runtime dirs."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = _free_port()
        self.token = hashlib.sha256(os.urandom(32)).hexdigest()[:32]
        self.url = f"http://127.0.0.1:{self.port}"
        self.root = _lab_root()
        self.log_path = base / "lab.log"
        settings = base / "app-settings"
        settings.mkdir(parents=True)
        (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=1))
        env = dict(os.environ)
        for name in ("config", "data", "runtime", "ipython"):
            (base / name).mkdir()
        env.update(JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
                   JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"))
        env.pop("MPLBACKEND", None)  # kernels must use the inline backend
        env.pop("JUPYTER_PATH", None)
        cmd = [
            sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser", "--ip=127.0.0.1",
            f"--port={self.port}", "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.app_settings_dir={settings}",
            f"--LabApp.user_settings_dir={base / 'user-settings'}",
            f"--LabApp.workspaces_dir={base / 'workspaces'}",
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.root, start_new_session=True,
                                     preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        self._wait_ready(90)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer /api/status within {timeout} s:\n{self.log_tail()}")

    def api(self, method: str, path: str):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels_of(self, rel_path: str) -> None:
        """Delete the sessions (and so the kernels) of a notebook; any leftover kernels too."""
        try:
            for s in self.api("GET", "/api/sessions"):
                if s.get("path") == rel_path:
                    self.api("DELETE", f"/api/sessions/{s['id']}")
        except (urllib.error.URLError, OSError):
            pass

    def kernel_count(self) -> int:
        return len(self.api("GET", "/api/kernels"))

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM the whole process group (server + kernels), SIGKILL after 10 s."""
        try:
            pgid = os.getpgid(self.proc.pid)
        except ProcessLookupError:
            pgid = None
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
            try:
                os.killpg(pgid, signal.SIGKILL)  # stragglers (kernels) of the group
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)
        self._log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.log_path, ARTIFACTS / "lab.log")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    _require_browser()
    server = Lab(tmp_path_factory.mktemp("lab"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


def _offline_context(browser):
    """A browser context in which every request that would leave the machine is blocked (as in a workshop room
    without internet): only 127.0.0.1 / localhost and data:/blob: URLs go through. Returns (context, blocked)."""
    from urllib.parse import urlparse

    blocked: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).hostname in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.route("**/*", route)
    return context, blocked


def _setup(path: Path | None, request) -> tuple["Lab", object, str]:
    """The shared JupyterLab server and browser for one notebook's test, and the notebook's name."""
    if path is None:
        pytest.fail(f"no notebooks found in {NB_DIR}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return request.getfixturevalue("lab"), request.getfixturevalue("browser"), path.stem


def _ids(p: Path | None) -> str:
    return p.stem if p is not None else "no-notebooks"


def test_notebooks_found():
    assert NOTEBOOKS, f"no notebooks found in {NB_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=_ids)
def test_notebook_runs_and_sliders_redraw(path, request):
    lab, browser, stem = _setup(path, request)
    for old in ARTIFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    rel = path.relative_to(lab.root).as_posix()
    digest_before = hashlib.sha256(path.read_bytes()).hexdigest()

    context, blocked = _offline_context(browser)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _run_notebook_in_lab(page, lab, rel, stem)
    finally:
        try:
            context.close()
        finally:
            lab.shutdown_kernels_of(rel)
    assert lab.kernel_count() == 0, f"{stem}: a kernel is still running after its session was deleted"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest_before, (
        f"{path.name} was rewritten on disk while the browser ran it (autosave must stay off)"
    )
    print(f"{stem}: ran with every off-machine request blocked ({len(blocked)} blocked)")


# Per explorer cell (given by its index among the notebook's cells): what its output area shows.
JS_EXPLORER_CELLS = """(indices) => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')];
  return indices.map(i => {
    const cell = cells[i];
    if (!cell) return {found: false};
    const area = cell.querySelector('.jp-OutputArea');
    const imgs = area ? [...area.querySelectorAll('img')] : [];
    return {found: true, figures: imgs.filter(im => im.complete && im.naturalWidth > 50).length,
            mime: area ? [...area.querySelectorAll('.jp-OutputArea-output')].map(o => o.dataset.mimeType || '') : [],
            text: area ? area.innerText.slice(0, 300) : ''};
  });
}"""


def _explorer_cells(path: Path) -> list[int]:
    """Indices (among all cells) of the code cells whose stored output is a widget view: the explorers."""
    nb = json.loads(path.read_text())
    return [i for i, cell in enumerate(nb["cells"]) if cell["cell_type"] == "code" and any(
        "application/vnd.jupyter.widget-view+json" in out.get("data", {}) for out in cell.get("outputs", []))]


@pytest.mark.parametrize("path", NOTEBOOKS or [None], ids=_ids)
def test_unrun_notebook_shows_every_explorer_as_a_figure(path, request):
    """Opened in JupyterLab and NOT run, every explorer cell shows its current frame as a picture.

    JupyterLab 4 does not render saved widgets after a reopen (jupyterlab/jupyterlab#15361), and in an
    untrusted notebook (one just opened) it skips the unsafe widget-view renderer and shows the best safe
    type of the output's mime bundle: the explorers put their current frame there as image/png, so this
    is a figure instead of the bare text repr.
    """
    lab, browser, stem = _setup(path, request)
    rel = path.relative_to(lab.root).as_posix()
    indices = _explorer_cells(path)
    assert indices, f"{stem}: no explorer cell (a stored widget-view output) in the committed notebook"
    n_cells = len(json.loads(path.read_text())["cells"])
    context, blocked = _offline_context(browser)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab.url}/lab/workspaces/bt-open-{quote(stem)}/tree/{quote(rel)}?token={lab.token}")
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')"
            ".length === n", arg=n_cells, timeout=120_000)
        try:
            page.wait_for_function(f"(idx) => ({JS_EXPLORER_CELLS})(idx).every(c => c.figures > 0)",
                                   arg=indices, timeout=30_000, polling=250)
        except Exception:
            pass  # reported below, cell by cell
        shown = page.evaluate(JS_EXPLORER_CELLS, indices)
        page.screenshot(path=str(ARTIFACTS / f"{stem}-unrun.png"), full_page=True)
    finally:
        try:
            context.close()
        finally:
            lab.shutdown_kernels_of(rel)
    bad = [(i, s) for i, s in zip(indices, shown) if not s.get("found") or s.get("figures", 0) < 1]
    assert not bad, f"{stem}: explorer cells that show no figure before any cell ran: " + "; ".join(
        f"cell {i}: {s.get('mime')} {s.get('text', '')[:120]!r}" for i, s in bad)
    print(f"{stem}: {len(indices)} explorer cell(s), each shows a figure before any cell ran "
          f"(rendered as {sorted({m for s in shown for m in s['mime']})}); off-machine requests blocked: "
          f"{len(blocked)}")


def _shot(page, stem: str, what: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{stem}-{what}.png"), full_page=True)


def _run_notebook_in_lab(page, lab: Lab, rel: str, stem: str) -> None:
    from playwright.sync_api import TimeoutError as PWTimeout

    # A workspace of its own per notebook: no tabs restored from an earlier notebook.
    page.goto(f"{lab.url}/lab/workspaces/bt-{quote(stem)}/tree/{quote(rel)}?token={lab.token}")
    status = page.locator("#jp-main-statusbar")
    try:
        status.get_by_text("Idle").wait_for(timeout=120_000)  # Run All is silently dropped before this
    except PWTimeout:
        _shot(page, stem, "no-kernel")
        pytest.fail(f"{stem}: the kernel never became Idle\n{lab.log_tail()}")

    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputArea-prompt')]"
        ".some(p => /\\[\\d+\\]/.test(p.textContent))", timeout=30_000)
    start = time.monotonic()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    try:
        page.wait_for_function(JS_RUN_FINISHED, arg=[ERROR_OUTPUTS, STDERR_OUTPUTS], timeout=RUN_TIMEOUT_S * 1000,
                               polling=500)
        status.get_by_text("Idle").wait_for(timeout=60_000)
    except PWTimeout:
        _shot(page, stem, "timeout")
        pytest.fail(f"{stem}: Run All did not finish within {RUN_TIMEOUT_S:.0f} s "
                    "(set TOYMODEL_BROWSER_TIMEOUT to wait longer)")
    run_s = time.monotonic() - start
    print(f"{stem}: Run All finished in {run_s:.1f} s")
    _shot(page, stem, "ran")

    errors = page.locator(ERROR_OUTPUTS)
    tracebacks = page.locator(STDERR_OUTPUTS).filter(has_text="Traceback")
    n_err, n_tb = errors.count(), tracebacks.count()
    if n_err or n_tb:
        first = (errors if n_err else tracebacks).first
        first.scroll_into_view_if_needed()
        _shot(page, stem, "error")
        pytest.fail(f"{stem}: {n_err} error output(s), {n_tb} stderr traceback(s); first:\n"
                    f"{first.inner_text()[:3000]}")
    broken = page.get_by_text("Error displaying widget")
    assert broken.count() == 0, f"{stem}: {broken.count()} widget(s) show 'Error displaying widget'"

    explorers = page.evaluate(JS_MARK_EXPLORERS)
    assert explorers, (
        f"{stem}: no slider explorer found (a widget box with a .widget-slider and a .widget-output); "
        "every notebook needs at least one"
    )
    for i, info in enumerate(explorers):
        _move_first_slider(page, stem, i, info)


def _move_first_slider(page, stem: str, i: int, info: dict) -> None:
    from playwright.sync_api import TimeoutError as PWTimeout

    explorer = page.locator(f'[data-bt-explorer="{i}"]')
    slider = page.locator(f'[data-bt-first-slider="{i}"]')
    handle = slider.locator(".noUi-handle").first
    explorer.scroll_into_view_if_needed()
    # the explorer shows its first figure once the kernel has answered
    page.wait_for_function(f"(el) => ({JS_FIGURE_SIGNATURE})(el) !== JSON.stringify([[], [], ''])",
                           arg=explorer.element_handle(), timeout=60_000)
    before = explorer.evaluate(JS_FIGURE_SIGNATURE)
    _shot(page, stem, f"explorer{i}-before")

    now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
    key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) else "ArrowRight"
    readout = slider.locator(".widget-readout")
    read_before = readout.first.inner_text() if readout.count() else None
    handle.focus()
    for _ in range(2):
        handle.press(key)
    read_after = readout.first.inner_text() if readout.count() else None
    action = f"moving slider {i} ({read_before!r} -> {read_after!r}, {key} x2)"
    if info.get("buttons"):
        explorer.locator("button").first.click()  # a retrain explorer redraws on its button
        action += " and clicking its button"
    try:
        page.wait_for_function(f"([el, old]) => ({JS_FIGURE_SIGNATURE})(el) !== old",
                               arg=[explorer.element_handle(), before], timeout=30_000, polling=200)
    except PWTimeout:
        _shot(page, stem, f"explorer{i}-after")
        pytest.fail(f"{stem}: {action} did not change the figure in the explorer's output")
    # every key press queues a redraw: let the kernel finish them all before the screenshot
    page.locator("#jp-main-statusbar").get_by_text("Idle").wait_for(timeout=60_000)
    page.wait_for_timeout(300)
    _shot(page, stem, f"explorer{i}-after")
    print(f"{stem}: explorer {i}: {action} redrew the figure")
