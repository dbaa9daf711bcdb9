"""Tools never destroy, leak or hang (issue 19): `python -m toymodel`, tools/build_site.py, tools/run_notebooks.py.

Each test names the defect it guards against; each failed before its fix.  Failures of the disk are real where
they can be (RLIMIT_FSIZE makes a write fail with EFBIG, even as root) and simulated otherwise (os.fsync or
os.replace raising ENOSPC, EROFS, EACCES or EBUSY).  Signals arrive at a deterministic point: a hook on
os.replace announces the write and waits for them.  No test needs npm or the network: the site is built from
tiny notebooks and one tiny vendored package made here (its sha512 pinned like the real ones).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
import re
import resource
import signal
import subprocess
import sys

import pytest

import toymodel.__main__ as cli
from toymodel.__main__ import MANIFEST as CLI_MANIFEST
from toymodel.__main__ import main as cli_main
from toymodel.__main__ import output_folder

REPO = Path(__file__).resolve().parent.parent


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

