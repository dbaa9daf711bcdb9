"""Output folders the course's tools write into: `python -m toymodel` and tools/build_site.py share this code
(tools/run_notebooks.py its atomic write).

The rules are those of pip, git and Sphinx:

- A tool deletes or overwrites only files it wrote itself, unchanged since.  It keeps a manifest in the folder
  (one "sha256  name" line per file it wrote); a file counts as its own when the manifest lists the name with
  the file's current SHA-256.  Anything else in the folder is the user's and is never touched.
- A folder that holds the user's work is refused: /, the home folder, a git repository's root, the course's
  checkout and its notebooks/, or a folder that contains one of them.
- Every file is written whole or not at all (a temporary file beside it, then a rename), never through a
  symbolic link, with the usual mode (0o666 less the umask).  While a file is replaced the manifest lists its
  old and its new hash, so an interrupted run leaves every file whole and recognised.
- SIGTERM, SIGHUP or Ctrl-C while writing leave no temporary file behind (the process still ends by the signal).
- An OSError (a full or read-only disk, a missing permission, a busy mount point) is an OutputError: one line
  naming the path and the cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
import hashlib
import os
from pathlib import Path, PurePosixPath
import secrets
import signal
import threading

__all__ = ["OutputError", "OutputFolder", "atomic_write", "cleanup_on_signals", "protected_reason"]

_CHECKOUT = Path(__file__).resolve().parent.parent  # the course's repository, when the package runs from one
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))


class OutputError(Exception):
    """A folder or file the tool may not or cannot write; the message is one line naming the path and why."""


# ----------------------------------------------------------------------------------------- signals


class _Signalled(BaseException):
    """Raised by the handler cleanup_on_signals installs; carries the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """While active, SIGTERM and SIGHUP (and SIGINT where it would kill outright) raise an exception instead of
    ending the process at once, so that finally-blocks remove temporary files; on the way out the previous
    handlers are restored and the signal is delivered again, so the process ends by it as it would have.

    Signals whose handler is not the default are left alone (Python's SIGINT already raises KeyboardInterrupt),
    which also makes nesting harmless.  Only the main thread can set handlers: elsewhere this does nothing.
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.getsignal(s) for s in _SIGNALS if in_main and signal.getsignal(s) == signal.SIG_DFL}
    if not previous:  # another thread, or the handlers are set already (by an outer cleanup_on_signals)
        yield
        return

    def handler(signum: int, frame: object) -> None:
        for s in previous:  # one signal is enough: the clean-up itself must not be interrupted
            signal.signal(s, signal.SIG_IGN)
        raise _Signalled(signum)

    for s in previous:
        signal.signal(s, handler)
    try:
        yield
    except _Signalled as sig:
        _restore(previous)
        signal.raise_signal(sig.signum)
        raise SystemExit(128 + sig.signum) from None  # reached only if the restored handler returns
    finally:
        _restore(previous)


def _restore(handlers: dict) -> None:
    for s, h in handlers.items():
        signal.signal(s, h)


# ----------------------------------------------------------------------------------------- one file


def _reason(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)


def _write_new(path: Path, data: bytes) -> None:
    """Create path (it must not exist: a link there is not followed) and write data to disk.  The mode is
    0o666 less the umask, as for any new file (mkstemp would make it 0o600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    with open(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(target: Path, data: bytes, check: Callable[[], None] | None = None) -> None:
    """Write data to a temporary file beside target, then rename it over target: readers see the old or the
    new content, never part of it, and a symbolic link at target is replaced, never written through.

    check, if given, runs after the data is on disk and right before the rename; it raises to abort (target is
    then left as it was).  An OSError is raised as an OutputError naming target; a signal or an exception
    leaves no temporary file.
    """
    target = Path(target)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    with cleanup_on_signals():
        try:
            _write_new(tmp, data)
            if check is not None:
                check()
            os.replace(tmp, target)
        except OSError as err:
            raise OutputError(f"cannot write {target}: {_reason(err)}") from None
        finally:
            with suppress(OSError):
                tmp.unlink(missing_ok=True)  # gone already after the rename


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------------------- folders


def _protected_places() -> list[tuple[Path, str]]:
    places = []
    if (_CHECKOUT / "notebooks").is_dir():
        places += [(_CHECKOUT, "the course's repository"), (_CHECKOUT / "notebooks", "the course's notebooks folder")]
    with suppress(RuntimeError, KeyError):  # no HOME and no password entry: no home folder to protect
        places.append((Path.home().resolve(), "your home folder"))
    return [*places, (Path("/").resolve(), "the root folder")]


def protected_reason(folder: Path) -> str | None:
    """Why folder may not be a tool's output folder ("is your home folder", "contains the course's repository
    /x", ...), or None.  Refused: /, the home folder, a git repository's root, the course's checkout and its
    notebooks/, and any folder containing one of them (symbolic links resolved)."""
    real = Path(folder).expanduser().resolve()
    places = _protected_places()
    for place, what in places:
        if real == place:
            return f"is {what}"
    for place, what in places:  # the course's checkout first: a folder can hold both it and the home folder
        if real in place.parents:
            return f"contains {what} {place}"
    if (real / ".git").exists():
        return "is a git repository (it holds .git)"
    return None


def _check_name(name: str) -> None:
    """A file name relative to the folder, '/' between subfolders: never absolute, never '..', one line."""
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts or "\n" in name or "\\" in name:
        raise ValueError(f"output file name {name!r} must be a relative path inside the folder")


def _plain_name(name: str) -> bool:
    try:
        _check_name(name)
    except ValueError:
        return False
    return True


class OutputFolder:
    """A folder a tool writes files into, never touching what it did not write (see the module's rules).

        out = OutputFolder(Path("site"), tool="tools/build_site.py", manifest=".toymodel-site-files")
        out.check(["index.html"])               # before any work: a clear error now, not after an hour
        out.save_many({"index.html": b"...", "_static/app.js": b"..."})
        notes = out.finish()                    # remove its files from an earlier run that this run did not write

    tool names the tool in messages and in the manifest's first line; manifest is the manifest's file name
    (one per tool, so two tools sharing a folder never take each other's files for their own).
    """

    def __init__(self, path: Path, tool: str, manifest: str) -> None:
        self.path, self.tool = Path(path).expanduser(), tool
        self.manifest = self.path / manifest
        self.header = f"# {tool} output manifest v2: sha256 and name of every file it wrote here"
        self.hashes: dict[str, set[str]] = {}  # the manifest: name -> the contents accepted as ours
        self.previous: set[str] = set()  # the names the manifest listed before this run
        self.written: list[str] = []
        self._checked = False

    # ------------------------------------------------------------------ before any work

    def check(self, names: Iterable[str] = ()) -> None:
        """Refuse a folder that holds the user's work; make the folder and prove it writable; read the manifest;
        refuse if a planned file is a link, not a file, or a file this tool did not write (or that changed since)."""
        reason = protected_reason(self.path)
        if reason:
            real = self.path.resolve()
            shown = f"{self.path}" if real == self.path else f"{self.path} ({real})"
            raise OutputError(f"--out {shown} {reason}: {self.tool} does not write there; give a folder "
                              "of its own (a new one, or one it wrote before)")
        self._make_folder()
        self.hashes = self._read_manifest()
        self.previous = set(self.hashes)
        self._checked = True
        self._refuse(list(names))

    def _make_folder(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise OutputError(f"--out {self.path} exists and is not a folder") from None
        except OSError as err:
            raise OutputError(f"cannot write to --out {self.path}: {_reason(err)}") from None
        probe = self.path / f".toymodel-probe-{secrets.token_hex(4)}"
        with cleanup_on_signals():
            try:
                _write_new(probe, b"")
            except OSError as err:
                raise OutputError(f"cannot write to --out {self.path}: {_reason(err)}") from None
            finally:
                with suppress(OSError):
                    probe.unlink(missing_ok=True)

    def _read_manifest(self) -> dict[str, set[str]]:
        if self.manifest.is_symlink() or not self.manifest.is_file():
            return {}  # a link there is refused by _refuse
        try:
            lines = self.manifest.read_text(errors="replace").splitlines()
        except OSError as err:
            raise OutputError(f"cannot read {self.manifest}: {_reason(err)}") from None
        if not lines or lines[0] != self.header:
            raise OutputError(f"{self.manifest} was not written by this version of {self.tool}: move it away, "
                              "or choose another --out folder")
        hashes: dict[str, set[str]] = {}
        for line in lines[1:]:
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and _plain_name(name):  # a forged "../x" never points outside the folder
                hashes.setdefault(name, set()).add(digest)
        return hashes

    def _refuse(self, names: list[str]) -> None:
        """Raise if a planned file (or the manifest) is or lies under a link, is not a file, or is not ours."""
        for name in names:
            _check_name(name)
        all_names = [*names, self.manifest.name]
        links = [n for n in all_names if self._under_link(n)]
        if links:
            raise OutputError(f"{self.path} holds symbolic links named {_few(links)}; {self.tool} never writes "
                              "through a link: remove them or choose another --out folder")
        not_files = [n for n in all_names if self._not_a_file(n)]
        if not_files:
            raise OutputError(f"{self.path} holds {_few(not_files)}, which are not files; move them away or "
                              "choose another --out folder")
        foreign = [n for n in names if (self.path / n).exists() and not self._ours(n)]
        if foreign:
            raise OutputError(f"{self.path} already holds {_few(foreign)}, which {self.tool} did not write (or "
                              "which changed since it wrote them); move them away or choose another --out folder")

    def _under_link(self, name: str) -> bool:
        path = self.path
        for part in PurePosixPath(name).parts:
            path = path / part
            if path.is_symlink():
                return True
        return False

    def _not_a_file(self, name: str) -> bool:
        target = self.path / name
        folders = [p for p in target.parents if self.path in p.parents]
        return (target.exists() and not target.is_file()) or any(p.exists() and not p.is_dir() for p in folders)

    def _ours(self, name: str) -> bool:
        target = self.path / name
        return (not target.is_symlink() and target.is_file()
                and _sha256(target.read_bytes()) in self.hashes.get(name, set()))

    # ------------------------------------------------------------------ writing

    def save_text(self, text: str, name: str) -> None:
        """Write one text file (UTF-8); see save_many."""
        self.save_bytes(text.encode("utf-8"), name)

    def save_bytes(self, data: bytes, name: str) -> None:
        """Write one file; see save_many."""
        self.save_many({name: data})

    def save_many(self, files: dict[str, bytes]) -> None:
        """Write each file (name relative to the folder, '/' between subfolders), each one atomically.

        Every name is checked first: if one is foreign, a link or not a file, nothing is written.  The manifest
        lists the old and the new hash of each file while they are replaced, then only the new ones.
        """
        if not self._checked:
            self.check()
        self._refuse(list(files))
        digests = {name: _sha256(data) for name, data in files.items()}
        with cleanup_on_signals():
            for name, digest in digests.items():
                self.hashes[name] = self.hashes.get(name, set()) | {digest}
            self._write_manifest()
            for name, data in files.items():
                self._make_parents(name)
                atomic_write(self.path / name, data, check=lambda name=name: self._still_ours(name))
                self.written.append(name)
            for name, digest in digests.items():
                self.hashes[name] = {digest}
            self._write_manifest()

    def _make_parents(self, name: str) -> None:
        folder = (self.path / name).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise OutputError(f"cannot write {folder}: {_reason(err)}") from None
        if self._under_link(name):  # made by someone else since the check
            raise OutputError(f"{folder} became a symbolic link while {self.tool} ran; nothing was written there")

    def _still_ours(self, name: str) -> None:
        target = self.path / name
        if self._under_link(name) or (target.exists() and not self._ours(name)):
            raise OutputError(f"{target} changed while {self.tool} ran; it was not overwritten")

    def _write_manifest(self) -> None:
        rows = [f"{d}  {n}" for n in sorted(self.hashes) for d in sorted(self.hashes[n])]
        atomic_write(self.manifest, ("\n".join([self.header, *rows]) + "\n").encode())

    # ------------------------------------------------------------------ after the run

    def finish(self) -> list[str]:
        """Remove the files an earlier run wrote that this run did not write, where they are unchanged since
        (and folders that this leaves empty); return one note per such file kept because it was edited.  An
        edited file is the user's from now on: it leaves the manifest."""
        notes = []
        for name in sorted(self.previous - set(self.written)):
            target = self.path / name
            if self._under_link(name) or not target.is_file():
                pass  # gone, or replaced by a link or a folder: not ours any more
            elif self._ours(name):
                self._remove(name)
            else:
                notes.append(f"kept {target}: {self.tool} wrote it in an earlier run, but it changed since")
            self.hashes.pop(name, None)
        self._write_manifest()
        self.previous = set(self.hashes)
        return notes

    def _remove(self, name: str) -> None:
        target = self.path / name
        try:
            target.unlink()
        except OSError as err:
            raise OutputError(f"cannot remove {target}: {_reason(err)}") from None
        for folder in target.parents:
            if folder == self.path or self.path not in folder.parents:
                break
            try:
                folder.rmdir()  # only an empty one
            except OSError:
                break


def _few(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
