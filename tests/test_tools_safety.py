"""Tools never destroy, leak or hang (issue 19): `python -m toymodel`, tools/build_site.py, tools/run_notebooks.py.

Each test names the defect it guards against; each failed before its fix.  Failures of the disk are real where
they can be (RLIMIT_FSIZE makes a write fail with EFBIG, even as root) and simulated otherwise (os.fsync or
os.replace raising ENOSPC, EROFS, EACCES or EBUSY).  Signals arrive at a deterministic point: a hook on
os.replace announces the write and waits for them.  No test needs npm or the network: the site is built from
tiny notebooks and one tiny vendored package made here (its sha512 pinned like the real ones).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import importlib.util
import io
import json
import os
from pathlib import Path
import re
import resource
import signal
import subprocess
import sys
import tarfile
import tempfile

import nbformat
import pytest

import toymodel.__main__ as cli
from toymodel.__main__ import MANIFEST as CLI_MANIFEST
from toymodel.__main__ import main as cli_main
from toymodel.__main__ import output_folder

REPO = Path(__file__).resolve().parent.parent


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build_site = _load_tool("build_site")
run_notebooks = _load_tool("run_notebooks")


def _env() -> dict[str, str]:
    """This environment (as the test set it), importing this checkout's toymodel."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _leftovers(folder: Path) -> list[str]:
    """Temporary files and build folders a tool left anywhere under folder."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or ".building-" in p.name)


def _announce_and_wait_at_replace(out: Path) -> str:
    """Code for a child process: os.replace into out prints a line, then waits (for the test's signal)."""
    return (f"import os, time\n_real = os.replace\nOUT = {str(out)!r}\n"
            "def _replace(src, dst, *a, **k):\n"
            "    if str(dst).startswith(OUT):\n"
            "        print('replacing', dst, flush=True)\n"
            "        time.sleep(120)\n"
            "    return _real(src, dst, *a, **k)\n"
            "os.replace = _replace\n")


def _terminate_at_first_write(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    for line in proc.stdout:
        if line.startswith("replacing"):
            proc.send_signal(signal.SIGTERM)
            break
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # a safety net: by now it has ended by the signal
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _limit_file_size(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


# ----------------------------------------------------------------------------------------- the CLI

CLI_RUNNER = """import sys
import toymodel.__main__ as cli
exec(sys.argv[1])
def first(out, opts):
    out.save_bytes(b"x" * int(sys.argv[2]), "01_embeddings_relu.png")
    return ""
cli.experiment_1 = first
cli.experiment_2 = cli.experiment_3 = cli.experiment_4 = lambda out, opts: ""
sys.exit(cli.main(["--out", sys.argv[3]]))
"""


@pytest.fixture
def quick_cli(monkeypatch):
    """The CLI with its experiments replaced by one that saves a small file: the output folder is what is tested."""
    def first(out, opts):
        out.save_bytes(b"figure", "01_embeddings_relu.png")
        return ""
    monkeypatch.setattr(cli, "experiment_1", first)
    for name in ("experiment_2", "experiment_3", "experiment_4"):
        monkeypatch.setattr(cli, name, lambda out, opts: "")


def test_cli_sigterm_while_writing_leaves_no_temporary_file(tmp_path: Path):
    """SIGTERM during a write used to leave .NAME.xxxx.tmp files in --out."""
    out = tmp_path / "out"
    proc = _terminate_at_first_write([sys.executable, "-c", CLI_RUNNER, _announce_and_wait_at_replace(out), "100",
                                      str(out)])
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert _leftovers(tmp_path) == []


def test_cli_full_disk_is_one_line_naming_the_file(tmp_path: Path):
    """A write the disk refuses used to print a 20-line traceback that did not name the file."""
    out = tmp_path / "out"
    earlier = output_folder(out)
    earlier.check(["summary.txt"])
    earlier.save_text("an earlier summary", "summary.txt")
    proc = subprocess.run([sys.executable, "-c", CLI_RUNNER, "", "300000", str(out)], capture_output=True,
                          text=True, env=_env(), timeout=120, preexec_fn=_limit_file_size(200_000))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == ["experiment 1/4 ...",  # then one line, no traceback
                                                f"error: cannot write {out / '01_embeddings_relu.png'}: "
                                                f"{os.strerror(errno.EFBIG)}"]
    assert _leftovers(tmp_path) == [] and not (out / "01_embeddings_relu.png").exists()
    assert (out / "summary.txt").read_text() == "an earlier summary"


@pytest.mark.parametrize("call, code", [("fsync", errno.ENOSPC), ("fsync", errno.EROFS), ("fsync", errno.EACCES),
                                        ("replace", errno.EBUSY)])
def test_cli_write_errors_are_one_line_naming_the_path(tmp_path: Path, monkeypatch, quick_cli, call, code):
    """A full or read-only disk, a missing permission or a busy mount point used to end in a raw traceback."""
    out = tmp_path / "out"
    assert cli_main(["--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(os, call, fail)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["--out", str(out)])
    monkeypatch.undo()
    message = str(exit_info.value.code)
    assert re.fullmatch(rf"error: cannot write (to --out )?{re.escape(str(out))}\S*: {os.strerror(code)}", message)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing half-written, nothing left over


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_cli_files_respect_the_umask(tmp_path: Path, quick_cli, umask):
    """The CLI wrote every file with mode 0600 (mkstemp's), whatever the umask."""
    old = os.umask(umask)
    try:
        assert cli_main(["--out", str(tmp_path / "out")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    assert modes == {name: 0o666 & ~umask for name in ("01_embeddings_relu.png", "summary.txt", CLI_MANIFEST)}


# ----------------------------------------------------------------------------------------- the static site


def _notebook(path: Path, text: str) -> None:
    """A small executed notebook: one markdown cell, one code cell that printed text."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"),
                nbformat.v4.new_code_cell(f"print({text!r})", execution_count=1,
                                          outputs=[nbformat.v4.new_output("stream", text=text + "\n")])]
    nbformat.write(nb, path)


def _notebooks(folder: Path, *stems: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.ipynb"):
        old.unlink()
    for stem in stems:
        _notebook(folder / f"{stem}.ipynb", f"output of {stem}")
    return folder


@pytest.fixture
def tiny_vendor(tmp_path: Path, monkeypatch) -> dict:
    """One vendored package, a tarball made here with its sha512 pinned, in place of the npm ones."""
    cache = tmp_path / "npm"
    cache.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("package/lib.js", b"// lib\n"), ("package/LICENSE", b"MIT\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (cache / "tiny-1.0.0.tgz").write_bytes(buf.getvalue())
    spec = dict(name="tiny", version="1.0.0", folder="_static/tiny", keep=["lib.js", "LICENSE"],
                integrity="sha512-" + base64.b64encode(hashlib.sha512(buf.getvalue()).digest()).decode())
    monkeypatch.setattr(build_site, "VENDOR", (build_site.Vendor(**spec),))
    monkeypatch.setenv("TOYMODEL_NPM_CACHE", str(cache))
    return spec


def _build(out: Path, notebooks: Path, capsys, *extra: str) -> tuple[int, str]:
    rc = build_site.main(["--out", str(out), "--notebooks", str(notebooks), *extra])
    return rc, capsys.readouterr().err


def _manifest_names(out: Path) -> set[str]:
    return {line.split("  ", 1)[1] for line in (out / build_site.MANIFEST).read_text().splitlines()[1:]}


def test_site_builds_beside_the_users_files_and_a_rebuild_keeps_them(tmp_path: Path, tiny_vendor, capsys):
    """--out --force deleted a folder of the user's own files, and a rebuild deleted files added to the site."""
    out, nbs = tmp_path / "site", _notebooks(tmp_path / "nbs", "a", "b")
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("my notes")
    (out / "sub" / "mine.txt").write_text("mine")
    assert _build(out, nbs, capsys) == (0, "")
    (out / "extra.html").write_text("my page")
    (out / "_static" / "mine.css").write_text("p {}")
    assert _build(out, nbs, capsys) == (0, "")
    assert (out / "notes.txt").read_text() == "my notes" and (out / "sub" / "mine.txt").read_text() == "mine"
    assert (out / "extra.html").read_text() == "my page" and (out / "_static" / "mine.css").read_text() == "p {}"
    assert _manifest_names(out) == {"index.html", "a.html", "b.html", "_static/tiny/lib.js", "_static/tiny/LICENSE"}


def test_site_rebuild_removes_only_its_own_unchanged_files(tmp_path: Path, tiny_vendor, capsys):
    """A page the new build no longer makes is removed only if unchanged since; an edited one is kept."""
    out, nbs = tmp_path / "site", tmp_path / "nbs"
    assert _build(out, _notebooks(nbs, "a", "b"), capsys)[0] == 0
    assert _build(out, _notebooks(nbs, "a"), capsys)[0] == 0
    assert not (out / "b.html").exists() and (out / "a.html").is_file()
    assert _build(out, _notebooks(nbs, "a", "b"), capsys)[0] == 0
    (out / "b.html").write_text("my edits")
    rc, err = _build(out, _notebooks(nbs, "a"), capsys)
    assert rc == 0 and f"kept {out / 'b.html'}" in err
    assert (out / "b.html").read_text() == "my edits" and "b.html" not in _manifest_names(out)
    rc, err = _build(out, _notebooks(nbs, "a", "b"), capsys)  # the file is the user's now: never overwritten
    assert rc == 1 and "b.html, which tools/build_site.py did not write" in err
    assert (out / "b.html").read_text() == "my edits"


def test_site_has_no_option_that_deletes_a_folder(tmp_path: Path, tiny_vendor, capsys):
    """--force replaced --out whatever it held."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(SystemExit) as exit_info:
        build_site.main(["--out", str(out), "--notebooks", str(_notebooks(tmp_path / "nbs", "a")), "--force"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --force" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_site_build_never_renames_its_folder_nor_writes_beside_it(tmp_path: Path, tiny_vendor, capsys,
                                                                   monkeypatch):
    """The build went through a copy beside --out and a rename of --out: EBUSY on a mount point (and no room or
    no permission beside it failed the build too)."""
    out, nbs = tmp_path / "mnt" / "site", _notebooks(tmp_path / "nbs", "a")
    assert _build(out, nbs, capsys)[0] == 0
    real_replace, real_rename, real_mkdtemp = os.replace, os.rename, tempfile.mkdtemp

    def busy(real):
        def call(src, dst, *args, **kwargs):
            if out in (Path(src), Path(dst)):
                raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(src))
            return real(src, dst, *args, **kwargs)
        return call

    def no_room_beside(*args, **kwargs):
        if Path(kwargs.get("dir") or args[2]) == out.parent:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkdtemp(*args, **kwargs)

    monkeypatch.setattr(os, "replace", busy(real_replace))
    monkeypatch.setattr(os, "rename", busy(real_rename))
    monkeypatch.setattr(tempfile, "mkdtemp", no_room_beside)
    _notebook(nbs / "a.ipynb", "new output")
    assert _build(out, nbs, capsys) == (0, "")
    assert "new output" in (out / "a.html").read_text()
    assert [p.name for p in out.parent.iterdir()] == ["site"]


SITE_RUNNER = """import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("build_site", sys.argv[1])
m = sys.modules["build_site"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
m.VENDOR = (m.Vendor(**json.loads(sys.argv[2])),)
exec(sys.argv[3])
sys.exit(m.main(sys.argv[4:]))
"""


def _site_cmd(vendor: dict, hook: str, out: Path, nbs: Path) -> list[str]:
    return [sys.executable, "-c", SITE_RUNNER, str(REPO / "tools" / "build_site.py"), json.dumps(vendor), hook,
            "--out", str(out), "--notebooks", str(nbs)]


def test_site_sigterm_while_writing_leaves_no_temporary_files(tmp_path: Path, tiny_vendor):
    """SIGTERM during a build left *.tmp files in --out and a .site.building-* copy beside it."""
    out, nbs = tmp_path / "site", _notebooks(tmp_path / "nbs", "a")
    proc = _terminate_at_first_write(_site_cmd(tiny_vendor, _announce_and_wait_at_replace(out), out, nbs))
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert _leftovers(tmp_path) == []


def test_site_full_disk_is_one_line_naming_the_file(tmp_path: Path, tiny_vendor, capsys):
    """A write the disk refuses printed a raw traceback."""
    out, nbs = tmp_path / "site", _notebooks(tmp_path / "nbs", "a")
    assert _build(out, nbs, capsys)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _notebook(nbs / "a.ipynb", "new output")
    proc = subprocess.run(_site_cmd(tiny_vendor, "", out, nbs), capture_output=True, text=True, env=_env(),
                          timeout=300, preexec_fn=_limit_file_size(200_000))  # a page is larger
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"build_site.py: cannot write {out / 'a.html'}: "
                                                f"{os.strerror(errno.EFBIG)}"]
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    manifest = out / build_site.MANIFEST
    assert {p: b for p, b in after.items() if p != manifest} == {p: b for p, b in before.items() if p != manifest}
    assert _leftovers(tmp_path) == []
    assert _build(out, nbs, capsys)[0] == 0 and "new output" in (out / "a.html").read_text()  # still its own


# ----------------------------------------------------------------------------------------- both tools


def _cli(out: Path, capsys) -> tuple[int, str]:
    try:
        return cli_main(["--out", str(out)]), capsys.readouterr().err
    except SystemExit as exc:
        return 1, str(exc.code)


PLACES = {  # name: (the folder, given the fake home and a fake git repository, and what the error says)
    "home": (lambda home, repo: home, "is your home folder"),
    "above home": (lambda home, repo: home.parent, "contains your home folder"),
    "git repository": (lambda home, repo: repo, "is a git repository"),
    "course repository": (lambda home, repo: REPO, "is the course's repository"),
    "course notebooks": (lambda home, repo: REPO / "notebooks", "is the course's notebooks folder"),
    "above the course": (lambda home, repo: REPO.parent, "contains the course's repository"),
    "root": (lambda home, repo: Path("/"), "is the root folder"),
}


def test_a_folder_holding_the_course_and_the_home_folder_names_the_course(monkeypatch):
    """Wherever the checkout lives (CI clones it into /tmp, beside pytest's own tmp folders, which hold the tests'
    fake home folders), a folder that holds both is refused for the course's repository; the home folder itself
    is still 'your home folder', even when the course lives inside it."""
    from toymodel.outputs import protected_reason

    monkeypatch.setenv("HOME", str(REPO.parent / "a-home-beside-the-course"))
    assert protected_reason(REPO.parent) == f"contains the course's repository {REPO}"
    monkeypatch.setenv("HOME", str(REPO.parent))
    assert protected_reason(REPO.parent) == "is your home folder"


@pytest.mark.parametrize("tool", ["cli", "site"])
@pytest.mark.parametrize("place", PLACES)
def test_tools_refuse_folders_that_hold_the_users_work(tmp_path: Path, monkeypatch, capsys, quick_cli,
                                                       tiny_vendor, tool, place):
    """--out the repository, notebooks/, the home folder or / was replaced (site --force) or written into (CLI)."""
    home, repo = tmp_path / "home", tmp_path / "work" / "project"
    for folder in (home, repo / ".git"):
        folder.mkdir(parents=True)
        (folder / "precious.txt").write_text("the user's")
    monkeypatch.setenv("HOME", str(home))
    nbs = _notebooks(tmp_path / "nbs", "a")
    where, says = PLACES[place]
    out = where(home, repo)
    theirs = {CLI_MANIFEST, "summary.txt", "01_embeddings_relu.png", build_site.MANIFEST, "index.html", "a.html",
              "_static"}
    before = {name for name in theirs if (out / name).exists()}  # (/ and the course's parent are shared places)
    rc, err = _cli(out, capsys) if tool == "cli" else _build(out, nbs, capsys)
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert f"--out {out} {says}" in err
    assert {name for name in theirs if (out / name).exists()} == before
    assert (home / "precious.txt").read_text() == (repo / ".git" / "precious.txt").read_text() == "the user's"


# ----------------------------------------------------------------------------------------- run_notebooks


def _one_cell_notebook(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "nb.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _outputs(path: Path) -> list[dict]:
    return [o for c in json.loads(path.read_text())["cells"] for o in c.get("outputs", [])]


def test_run_notebooks_keeps_an_edit_saved_while_it_ran(tmp_path: Path, monkeypatch, capsys):
    """The notebook read at the start was written over at the end: an edit saved meanwhile was lost."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "scratch"))
    (tmp_path / "scratch").mkdir()
    path = _one_cell_notebook(tmp_path / "nbs", "open('nb.ipynb', 'a').write('\\n')  # JupyterLab saves an edit")
    edited = path.read_bytes() + b"\n"
    assert run_notebooks.main([str(path)]) == 1
    assert path.read_bytes() == edited
    err = capsys.readouterr().err
    assert f"{path} changed on disk while it ran" in err
    copy = Path(re.search(r"the executed copy is (\S+\.ipynb)", err).group(1))
    assert copy.parent.parent == tmp_path / "scratch"  # outside notebooks/: nbval never collects it
    assert json.loads(copy.read_text())["cells"][0]["execution_count"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["nb.ipynb"]


def test_run_notebooks_refuses_to_store_stderr(tmp_path: Path, capsys):
    """Whatever the kernel wrote to stderr (environment warnings) was stored in the notebook."""
    path = _one_cell_notebook(tmp_path, "import sys\nprint('a warning from the environment', file=sys.stderr)")
    before = path.read_bytes()
    assert run_notebooks.main([str(path)]) == 1
    err = capsys.readouterr().err
    assert "the run wrote to stderr (cell 0: 'a warning from the environment')" in err
    assert path.read_bytes() == before


def test_run_notebooks_gives_the_kernel_a_writable_matplotlib_folder(tmp_path: Path, monkeypatch):
    """An unwritable MPLCONFIGDIR (or HOME) put matplotlib's 'created a temporary cache directory' warning
    into the first figure cell's stored output."""
    monkeypatch.setenv("MPLCONFIGDIR", "/proc/toymodel-not-writable")
    path = _one_cell_notebook(tmp_path, "import matplotlib.pyplot as plt\nprint('imported')")
    assert run_notebooks.main([str(path)]) == 0
    assert [(o["output_type"], o.get("name"), "".join(o.get("text", ""))) for o in _outputs(path)] == [
        ("stream", "stdout", "imported\n")]
