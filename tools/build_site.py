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

DIR must be empty, missing, or a site this tool wrote (DIR/.toymodel-site.json lists every file with its
sha256): a non-empty folder it did not write, or a file in it that was changed since, is refused (exit 1),
unless --force. The site is built in a temporary folder beside DIR and then renamed into place, so an
interrupted build never leaves a half-written DIR. The same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import base64
from dataclasses import dataclass
import hashlib
import html
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

__all__ = ["VENDOR", "Vendor", "SiteError", "build_site", "check_out", "fetch_tarball", "main"]

REPO = Path(__file__).resolve().parent.parent
MANIFEST = ".toymodel-site.json"
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


def _unpack(vendor: Vendor, tarball: Path, dest: Path) -> None:
    """Copy the kept files of the package (inside the tarball's package/ folder) to dest."""
    with tarfile.open(tarball, "r:gz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile() or not member.name.startswith("package/"):
                continue
            name = member.name[len("package/"):]
            if ".." in Path(name).parts or not any(_match(name, p) for p in vendor.keep):
                continue
            with tar.extractfile(member) as src:  # type: ignore[union-attr]
                data = src.read()
            folders = [vendor.folder, *(f for pattern, f in vendor.copies if _match(name, pattern))]
            for folder in folders:
                target = dest / folder / (name if folder == vendor.folder else Path(name).name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    if not (dest / vendor.folder).is_dir():
        raise SiteError(f"{tarball} holds none of the files the site needs")


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


# ------------------------------------------------------------------------------------------ output folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_out(out: Path, force: bool) -> None:
    """Refuse a non-empty DIR this tool did not write, or one whose files were changed since (unless force)."""
    if out.exists() and not out.is_dir():
        raise SiteError(f"--out {out} exists and is not a folder")
    if out.is_symlink():
        raise SiteError(f"--out {out} is a symbolic link: give the real folder")
    if not out.is_dir() or not any(out.iterdir()) or force:
        return
    manifest = out / MANIFEST
    if not manifest.is_file():
        raise SiteError(f"--out {out} is not empty and was not written by build_site.py (no {MANIFEST}): "
                        "give an empty or new folder, or pass --force to replace it")
    try:
        written = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError, TypeError):
        raise SiteError(f"{manifest} is unreadable: give an empty or new folder, or pass --force") from None
    present = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() or p.is_symlink()}
    present.discard(MANIFEST)
    extra = sorted(present - set(written))
    changed = sorted(name for name, digest in written.items()
                     if name in present and ((out / name).is_symlink() or _sha256(out / name) != digest))
    if extra or changed:
        what = "; ".join(filter(None, [extra and f"files it did not write: {', '.join(extra[:5])}",
                                       changed and f"files changed since: {', '.join(changed[:5])}"]))
        raise SiteError(f"--out {out} holds {what}. Move them away, or pass --force to replace the folder")


def build_site(out: Path, notebooks: Path, cache: Path | None = None, force: bool = False,
               readme: Path = REPO / "README.md") -> list[Path]:
    """Write the static edition to out; return the pages written (index first). Raises SiteError."""
    out = out.absolute()
    check_out(out, force)
    paths = sorted(notebooks.glob("*.ipynb"))
    if not paths:
        raise SiteError(f"no notebooks (*.ipynb) in {notebooks}")
    stems = [p.stem for p in paths]
    tarballs = [(v, fetch_tarball(v, _cache_dir(cache))) for v in VENDOR]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.building-"))
    try:
        for vendor, tarball in tarballs:
            _unpack(vendor, tarball, tmp)
        (tmp / "index.html").write_text(_index(readme, stems), encoding="utf-8")
        for path in paths:
            (tmp / f"{path.stem}.html").write_text(_render_page(path, stems), encoding="utf-8")
        files = {p.relative_to(tmp).as_posix(): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        (tmp / MANIFEST).write_text(json.dumps({"tool": "tools/build_site.py", "files": files}, indent=1,
                                               sort_keys=True) + "\n")
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / "index.html", *(out / f"{s}.html" for s in stems)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="the site's folder (new, empty, or an earlier build)")
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks",
                        help="folder of executed notebooks (default: notebooks/)")
    parser.add_argument("--npm-cache", type=Path, default=None,
                        help="folder of npm tarballs (default $TOYMODEL_NPM_CACHE or ~/.cache/toymodel/npm)")
    parser.add_argument("--force", action="store_true", help="replace --out even if this tool did not write it")
    args = parser.parse_args(argv)
    try:
        pages = build_site(args.out, args.notebooks, args.npm_cache, args.force)
    except SiteError as exc:
        print(f"build_site.py: {exc}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {len(pages)} pages to {args.out} ({size / 1e6:.1f} MB with {STATIC}/); serve it with:\n"
          f"    python -m http.server -d {args.out} 8000    # then open http://127.0.0.1:8000/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
