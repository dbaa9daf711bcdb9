#!/usr/bin/env python
"""Build the static edition of the course: one HTML page per executed notebook, every explorer working.

    python tools/build_site.py --out site            # from notebooks/*.ipynb (committed, executed)
    python tools/build_site.py --out site --notebooks /tmp/nb --npm-cache ~/npm-tarballs
    python -m http.server -d site 8000               # then open http://127.0.0.1:8000/

Writes DIR/index.html (the course table from README.md, linking the pages) and DIR/<notebook>.html for
each notebook, rendered by nbconvert's "lab" template from the stored outputs and widget state (nothing
is re-run). The explorers work from that saved state alone: their frames are in it, and jslinks from the
sliders to ipywidgets Stacks pick the frame in the browser. The JavaScript is shipped inside DIR, so the
pages work from any static file server (or a laptop's `python -m http.server`) with no internet:
DIR/_static/ holds the widget manager (@jupyter-widgets/html-manager), require.js and MathJax 2, taken
from the npm registry at the pinned versions in VENDOR (each tarball's sha512 is checked) with
`npm pack`. Tarballs are cached in --npm-cache (default $TOYMODEL_NPM_CACHE or ~/.cache/toymodel/npm):
put them there by hand (`npm pack NAME@VERSION`) to build with no network at all.

The tool writes only its own files in DIR and lists them in DIR/.toymodel-site-files (sha256 and name of
each). A rebuild replaces those files, removes the ones the new build no longer makes (if unchanged since),
and keeps everything else: a file it did not write, or one of its own edited since, is never overwritten or
deleted (a planned file that is one of those stops the build, exit 1, before anything is written). DIR may
not be, or contain, /, the home folder, a git repository's root, or this repository and its notebooks/.
Each file is written atomically (a temporary file beside it, then a rename), so an interrupted build (Ctrl-C,
SIGTERM) leaves every file whole and no temporary file; nothing is written outside DIR. The same inputs give
the same bytes. (toymodel.outputs is the code that does this, shared with `python -m toymodel`.)
"""

from __future__ import annotations

import argparse
import base64
from dataclasses import dataclass
import hashlib
import html
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from a checkout: import this checkout's toymodel

from toymodel.outputs import OutputError, OutputFolder  # noqa: E402

__all__ = ["MANIFEST", "TOOL", "VENDOR", "Vendor", "SiteError", "build_site", "fetch_tarball", "main"]

TOOL = "tools/build_site.py"
MANIFEST = ".toymodel-site-files"  # one "sha256  name" line per file this tool wrote in the site
STATIC = "_static"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@dataclass(frozen=True)
class Vendor:
    """One npm package shipped in DIR/<folder>: the files (globs inside the package) that are kept, and
    `copies`: (glob, folder) pairs of kept files also placed in another folder of DIR."""

    name: str
    version: str
    integrity: str  # the registry's dist.integrity (sha512, base64)
    folder: str
    keep: tuple[str, ...]
    copies: tuple[tuple[str, str], ...] = ()

    @property
    def tarball(self) -> str:
        """The file name `npm pack` writes."""
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


VENDOR = (
    # the widget manager of ipywidgets 8.1 (controls 2.0 / output 1.0 models, Stack, jslink): renders saved state.
    # At its npm path under DIR: its AMD modules load their icon fonts from where require.js places them
    # (@jupyter-widgets/html-manager/dist/ and @jupyter-widgets/, relative to the page).
    Vendor("@jupyter-widgets/html-manager", "1.0.15",
           "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
           "@jupyter-widgets/html-manager", ("dist/embed-amd.js", "dist/*.woff", "dist/*.woff2", "dist/*.ttf",
                                             "dist/*.eot", "dist/*.svg", "LICENSE"),
           (("dist/*.woff2", "@jupyter-widgets"), ("dist/*.woff", "@jupyter-widgets"))),
    # embed-amd.js is an AMD module: nbconvert's lab template loads it with require.js
    Vendor("requirejs", "2.3.7",
           "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
           f"{STATIC}/requirejs", ("require.js", "README.md")),
    # the template's MathJax 2 configuration; only the TeX input, CommonHTML output and its woff fonts are kept
    Vendor("mathjax", "2.7.9",
           "sha512-NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==",
           f"{STATIC}/mathjax", ("MathJax.js", "LICENSE", "config/TeX-AMS_CHTML-full.js", "config/Safe.js",
                                 "extensions/**", "jax/input/TeX/**",
                       "jax/output/CommonHTML/**", "jax/element/**", "fonts/HTML-CSS/TeX/woff/**",
                       "localization/en/**")),
)

PAGE_STYLE = """<style>
.toymodel-nav { font-family: system-ui, sans-serif; font-size: 14px; padding: 8px 16px; background: #f3f3f3;
  border-bottom: 1px solid #ddd; }
.toymodel-nav a { margin-right: 1.5em; }
</style>"""


class SiteError(Exception):
    """A problem the user must fix (bad --out, a notebook not executed, npm missing); one clear line."""


def _cache_dir(arg: Path | None) -> Path:
    if arg is not None:
        return arg.expanduser()
    env = os.environ.get("TOYMODEL_NPM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "toymodel" / "npm"


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode("ascii")


def fetch_tarball(vendor: Vendor, cache: Path) -> Path:
    """The package's tarball from the cache, else `npm pack NAME@VERSION` into it; sha512 checked either way."""
    path = cache / vendor.tarball
    if not path.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise SiteError(f"{vendor.tarball} is not in {cache} and npm is not installed: install node + npm, or "
                            f"run `npm pack {vendor.name}@{vendor.version}` on a machine with npm and copy the file "
                            f"into {cache} (or pass --npm-cache)")
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=".pack-") as tmp:
            for attempt in range(3):  # a flaky registry connection gets two more tries
                proc = subprocess.run([npm, "pack", f"{vendor.name}@{vendor.version}", "--pack-destination", tmp,
                                       "--silent"], capture_output=True, text=True, timeout=600)
                got = Path(tmp) / vendor.tarball
                if proc.returncode == 0 and got.is_file():
                    break
            if proc.returncode != 0 or not got.is_file():
                raise SiteError(f"`npm pack {vendor.name}@{vendor.version}` failed (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-500:]}")
            if _integrity(got) != vendor.integrity:
                raise SiteError(f"{vendor.name}@{vendor.version} from npm does not match its pinned sha512")
            os.replace(got, path)
    if _integrity(path) != vendor.integrity:
        raise SiteError(f"{path} does not match the pinned sha512 of {vendor.name}@{vendor.version}: delete it "
                        "and build again")
    return path


def _match(name: str, pattern: str) -> bool:
    if pattern.endswith("/**"):
        return name.startswith(pattern[:-2])
    return Path(name).match(pattern) and name.count("/") == pattern.count("/")


def _unpack(vendor: Vendor, tarball: Path) -> dict[str, bytes]:
    """The kept files of the package (inside the tarball's package/ folder): {name in the site: content}."""
    files: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            name = member.name[len("package/"):]
            if ".." in Path(name).parts or not any(_match(name, p) for p in vendor.keep):
                continue
            with tar.extractfile(member) as src:  # type: ignore[union-attr]
                data = src.read()
            files[f"{vendor.folder}/{name}"] = data
            for pattern, folder in vendor.copies:
                if _match(name, pattern):
                    files[f"{folder}/{Path(name).name}"] = data
    if not files:
        raise SiteError(f"{tarball} holds none of the files the site needs")
    return files


# ------------------------------------------------------------------------------------------ pages


def _check_executed(path: Path, nb: dict) -> None:
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and c["source"].strip()]
    if not code or any(c.get("execution_count") is None for c in code):
        raise SiteError(f"{path} has cells that were never run: execute it first "
                        "(python tools/run_notebooks.py)")
    has_views = any(WIDGET_VIEW in o.get("data", {}) for c in code for o in c.get("outputs", []))
    if has_views and "widgets" not in nb.get("metadata", {}):
        raise SiteError(f"{path} shows widgets but carries no saved widget state: re-run tools/run_notebooks.py")


def _rewrite_links(body: str, stems: set[str]) -> str:
    """Links to another notebook of the course point to its page; ../README.md to the index."""
    def repl(m: re.Match) -> str:
        target, anchor = m.group(2), m.group(3) or ""
        stem = target[:-len(".ipynb")]
        return f'{m.group(1)}"{stem}.html{anchor}"' if stem in stems else m.group(0)
    body = re.sub(r'(href=)"(?:\./)?([A-Za-z0-9_.-]+\.ipynb)(#[^"]*)?"', repl, body)
    return re.sub(r'href="\.\./README\.md(#[^"]*)?"', 'href="index.html"', body)


def _nav(stems: list[str], stem: str | None) -> str:
    links = ['<a href="index.html">course index</a>']
    if stem is not None:
        i = stems.index(stem)
        if i > 0:
            links.append(f'<a href="{stems[i - 1]}.html">&larr; {html.escape(stems[i - 1])}</a>')
        if i + 1 < len(stems):
            links.append(f'<a href="{stems[i + 1]}.html">{html.escape(stems[i + 1])} &rarr;</a>')
    return f'<nav class="toymodel-nav">{" ".join(links)}</nav>'


def _render_page(path: Path, stems: list[str]) -> str:
    from nbconvert import HTMLExporter
    import nbformat

    nb = nbformat.read(path, as_version=4)
    _check_executed(path, nb)
    exporter = HTMLExporter(template_name="lab")
    exporter.widget_renderer_url = "@jupyter-widgets/html-manager/dist/embed-amd.js"
    exporter.require_js_url = f"{STATIC}/requirejs/require.js"
    exporter.mathjax_url = f"{STATIC}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    exporter.embed_images = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"path": str(path.parent), "name": path.stem}})
    body = _rewrite_links(body, set(stems))
    # the template gives each widget view's div a random uuid4: number them instead (the same input, the same bytes)
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    ids = list(dict.fromkeys(re.findall(rf"getElementById\('({uuid})'\)", body)))
    for n, uid in enumerate(ids):
        body = body.replace(uid, f"widget-view-{n}")
    body = body.replace("</head>", PAGE_STYLE + "\n</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + _nav(stems, path.stem), body, count=1)
    if re.search(r'(src|href)="(https?:)?//', body.replace('href="https://', "")):
        raise SiteError(f"{path.name}: the page would load something from off the machine")
    return body


def _course_table(readme: Path, stems: list[str]) -> str:
    """The README's '## The course' section (table and all) as HTML, its notebook links pointing to the pages."""
    import mistune

    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    m = re.search(r"^## The course\n(.*?)(?=^## )", text, re.S | re.M)
    section = m.group(1) if m else "\n".join(f"- [{s}](notebooks/{s}.ipynb)" for s in stems)
    section = re.sub(r"\]\(notebooks/([A-Za-z0-9_.-]+)\.ipynb\)",  # a page for each notebook built, else no link
                     lambda m: f"]({m.group(1)}.html)" if m.group(1) in stems else "]()", section)
    section = re.sub(r"\]\((?!https?://|[A-Za-z0-9_.-]+\.html)[^)]*\)", "]()", section)  # repo-relative links
    section = section.replace("]()", "]")
    return mistune.create_markdown(plugins=["table"], escape=True)(section)


def _index(readme: Path, stems: list[str]) -> str:
    table = _course_table(readme, stems)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Toy Models of Superposition: a hands-on course (static edition)</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
table {{ border-collapse: collapse; }} th, td {{ border: 1px solid #ccc; padding: 6px 10px; vertical-align: top; }}
th {{ background: #f3f3f3; }}
</style></head>
<body>
<h1>Toy Models of Superposition: a hands-on course</h1>
<p>The static edition: every notebook with its stored outputs, from
<a href="https://transformer-circuits.pub/2022/toy_model">Elhage et al., 2022</a>. The slider explorers work
in the page (their figures were drawn when the notebook ran); to train models yourself, open the notebooks in
JupyterLab.</p>
{table}
</body></html>
"""


# ------------------------------------------------------------------------------------------ the site


def build_site(out: Path, notebooks: Path, cache: Path | None = None, readme: Path = REPO / "README.md") -> list[Path]:
    """Write the static edition to out; return the pages written (index first). Raises SiteError or OutputError.

    Every page and shipped file is made in memory first, then written (each file atomically); the files an
    earlier build wrote that this one does not are removed, and a note is printed for each one kept because it
    was edited since.
    """
    folder = OutputFolder(out, tool=TOOL, manifest=MANIFEST)
    paths = sorted(Path(notebooks).glob("*.ipynb"))
    if not paths:
        raise SiteError(f"no notebooks (*.ipynb) in {notebooks}")
    stems = [p.stem for p in paths]
    pages = ["index.html", *(f"{s}.html" for s in stems)]
    folder.check(pages)  # a clear error before the slow part
    files: dict[str, bytes] = {}
    for vendor in VENDOR:
        files.update(_unpack(vendor, fetch_tarball(vendor, _cache_dir(cache))))
    files["index.html"] = _index(readme, stems).encode("utf-8")
    for path in paths:
        files[f"{path.stem}.html"] = _render_page(path, stems).encode("utf-8")
    folder.save_many(files)
    for note in folder.finish():
        print(f"build_site.py: {note}", file=sys.stderr)
    return [folder.path / page for page in pages]


def main(argv: list[str] | None = None) -> int:
    """Build the site from the command line; a problem is one line on stderr and exit status 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="the site's folder (new, or an earlier build: its other files are kept)")
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks",
                        help="folder of executed notebooks (default: notebooks/)")
    parser.add_argument("--npm-cache", type=Path, default=None,
                        help="folder of npm tarballs (default $TOYMODEL_NPM_CACHE or ~/.cache/toymodel/npm)")
    args = parser.parse_args(argv)
    try:
        pages = build_site(args.out, args.notebooks, args.npm_cache)
    except (SiteError, OutputError) as exc:
        print(f"build_site.py: {exc}", file=sys.stderr)
        return 1
    except OSError as err:  # reading a notebook, the README or the npm cache
        print(f"build_site.py: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"wrote {len(pages)} pages to {args.out}; serve it with:\n"
          f"    python -m http.server -d {args.out} 8000    # then open http://127.0.0.1:8000/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
