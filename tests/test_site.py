"""The static edition (tools/build_site.py): it refuses to clobber, and its pages work offline in a real browser.

The browser case (marker `browser`) builds the site from the executed notebooks ($TOYMODEL_NOTEBOOKS_DIR or
notebooks/), serves it with a plain static file server on 127.0.0.1, and opens every page in headless
Chromium with every request off the machine blocked (and recorded: there must be none). Each page must
load with no failed request; each notebook page must show one explorer per widget-view output, every
explorer must show a figure, and moving an explorer's first slider must change its figure (a "Retrain live"
explorer, which needs a kernel, must still show its figure and say so). The widget manager, require.js and
MathJax come from the npm registry at the versions pinned in tools/build_site.py (`npm pack`, cached in
$TOYMODEL_NPM_CACHE or ~/.cache/toymodel/npm): without npm and without a cached copy the browser case is
skipped, or FAILS when $CI is set.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse
import urllib.request

import pytest

from toymodel.outputs import OutputFolder

REPO = Path(__file__).resolve().parent.parent
NB_DIR = Path(os.environ.get("TOYMODEL_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()
CHROMIUM = os.environ.get("TOYMODEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ARTIFACTS = REPO / "test-artifacts" / "site"

_spec = importlib.util.spec_from_file_location("build_site", REPO / "tools" / "build_site.py")
build_site = importlib.util.module_from_spec(_spec)
sys.modules["build_site"] = build_site
_spec.loader.exec_module(build_site)

# Mark every explorer (nearest ancestor of a slider that also holds an output widget); return their info.
JS_MARK_EXPLORERS = """() => {
  const explorers = [];
  for (const slider of document.querySelectorAll('.widget-slider')) {
    let el = slider.parentElement;
    while (el && el !== document.body && !el.querySelector('.widget-output, .jupyter-widgets-output-area'))
      el = el.parentElement;
    if (!el || el === document.body || explorers.includes(el)) continue;
    explorers.push(el);
  }
  return explorers.map((el, i) => {
    el.setAttribute('data-st-explorer', String(i));
    const sliders = [...el.querySelectorAll('.widget-slider')];
    sliders.forEach((s, j) => s.setAttribute('data-st-slider', `${i}-${j}`));
    return {buttons: el.querySelectorAll('button').length, sliders: sliders.length};
  });
}"""
JS_FIGURE = """(el) => JSON.stringify([...el.querySelectorAll('img')].filter(i => i.offsetParent !== null)
                                 .map(i => [i.src.length, i.src.slice(-64), i.naturalWidth]))"""


# --------------------------------------------------------------------------- the output folder (no npm needed)


def test_refuses_to_overwrite_a_page_edited_since_it_wrote_it(tmp_path, capsys):
    out = tmp_path / "site"
    own = OutputFolder(out, tool=build_site.TOOL, manifest=build_site.MANIFEST)
    own.save_text("<html>built</html>", "index.html")  # as a build would have
    (out / "index.html").write_text("<html>edited by hand</html>")
    assert build_site.main(["--out", str(out), "--notebooks", str(NB_DIR)]) == 1
    assert "index.html, which tools/build_site.py did not write (or which changed since" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "<html>edited by hand</html>"
    (tmp_path / "afile").write_text("x")
    assert build_site.main(["--out", str(tmp_path / "afile"), "--notebooks", str(NB_DIR)]) == 1
    assert "exists and is not a folder" in capsys.readouterr().err


def test_refuses_unexecuted_notebooks_and_a_tampered_tarball(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": "1 + 1", "execution_count": None, "outputs": [],
                     "metadata": {}}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with pytest.raises(build_site.SiteError, match="never run"):
        build_site._check_executed(tmp_path / "x.ipynb", nb)
    vendor = build_site.VENDOR[1]
    (tmp_path / vendor.tarball).write_bytes(b"not the real tarball")
    with pytest.raises(build_site.SiteError, match="sha512"):
        build_site.fetch_tarball(vendor, tmp_path)


# --------------------------------------------------------------------------------- the pages, in a real browser


def _need(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    cache = build_site._cache_dir(None)
    cached = all((cache / v.tarball).is_file() for v in build_site.VENDOR)
    if not cached and shutil.which("npm") is None:
        _need(f"the static-site test needs npm (node + npm, e.g. `apt-get install -y nodejs npm`) or the "
              f"tarballs in {cache}")
    if not (Path(CHROMIUM).is_file() and importlib.util.find_spec("playwright")):
        _need(f"the static-site test needs Chromium at {CHROMIUM} and the playwright package")
    out = tmp_path_factory.mktemp("site") / "site"
    build_site.build_site(out, NB_DIR)
    return out


@pytest.fixture(scope="module")
def server(site):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/index.html", timeout=5).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the static file server did not start")
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_same_notebooks_give_the_same_bytes(site, tmp_path):
    again = build_site.build_site(tmp_path / "again", NB_DIR)
    assert (tmp_path / "again" / build_site.MANIFEST).read_bytes() == (site / build_site.MANIFEST).read_bytes()
    assert again[0].name == "index.html" and {p.name for p in again[1:]} == {f"{p.stem}.html" for p in
                                                                             NB_DIR.glob("*.ipynb")}
    assert build_site.main(["--out", str(site), "--notebooks", str(NB_DIR)]) == 0  # its own build: rebuilt


@pytest.mark.browser
def test_every_page_works_offline_and_every_slider_moves_its_figure(site, server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    notebooks = sorted(NB_DIR.glob("*.ipynb"))
    off_machine: list[str] = []
    failed: list[str] = []
    report: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            r.continue_()
        else:
            off_machine.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.on("requestfailed", lambda req: failed.append(f"{req.url} ({req.failure})"))
            page.on("response", lambda resp: resp.status >= 400 and failed.append(f"{resp.url} ({resp.status})"))

            page.goto(server + "/index.html", wait_until="load")
            hrefs = page.eval_on_selector_all("table a", "els => els.map(a => a.getAttribute('href'))")
            assert [f"{p.stem}.html" for p in notebooks] == [h for h in hrefs if h.endswith(".html")]

            for path in notebooks:
                nb = json.loads(path.read_text())
                n_views = sum(WIDGET_VIEW in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
                page.goto(f"{server}/{path.stem}.html", wait_until="load")
                page.wait_for_function(f"() => document.querySelectorAll('.widget-slider').length >= {n_views}",
                                       timeout=60_000)
                explorers = page.evaluate(JS_MARK_EXPLORERS)
                assert len(explorers) == n_views, f"{path.stem}: {len(explorers)} explorers for {n_views} views"
                for i, info in enumerate(explorers):
                    ex = page.locator(f'[data-st-explorer="{i}"]')
                    ex.scroll_into_view_if_needed()
                    page.wait_for_function(f"(el) => JSON.parse(({JS_FIGURE})(el)).some(f => f[2] > 50)",
                                           arg=ex.element_handle(), timeout=30_000)
                    if info["buttons"]:  # the live retrainer: its figure is there, and it says it needs a kernel
                        assert "needs a running kernel" in ex.inner_text(), f"{path.stem}: explorer {i}"
                        report.append(f"{path.stem} explorer {i}: retrain button, figure shown")
                        continue
                    for j in range(info["sliders"]):  # each slider moves the figure
                        before = ex.evaluate(JS_FIGURE)
                        handle = page.locator(f'[data-st-slider="{i}-{j}"] .noUi-handle').first
                        now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
                        key = "ArrowLeft" if now is not None and top is not None and float(now) >= float(top) \
                            else "ArrowRight"
                        handle.focus()
                        handle.press(key)
                        try:
                            page.wait_for_function(f"([el, old]) => ({JS_FIGURE})(el) !== old",
                                                   arg=[ex.element_handle(), before], timeout=10_000)
                        except Exception:
                            page.screenshot(path=str(ARTIFACTS / f"{path.stem}-explorer{i}.png"), full_page=True)
                            pytest.fail(f"{path.stem}: explorer {i}: moving slider {j} ({key}) did not change the "
                                        "figure, with no kernel")
                    report.append(f"{path.stem} explorer {i}: each of its {info['sliders']} slider(s) moved the figure")
                mathjax = page.locator(".MathJax_CHTML, .MathJax").count()
                report.append(f"{path.stem}: {mathjax} typeset formulas")
                page.screenshot(path=str(ARTIFACTS / f"{path.stem}.png"), full_page=False)
            context.close()
        finally:
            browser.close()
    print("\n".join(report))
    assert not off_machine, f"requests off the machine (blocked): {sorted(set(off_machine))[:10]}"
    assert not failed, f"failed requests: {failed[:10]}"
