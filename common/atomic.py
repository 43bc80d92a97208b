"""Atomic file writes: a crash, Ctrl-C, SIGTERM or a full disk never leaves a half-written or a missing output.

Every new file or folder is written beside its target under a temporary name,
``.<name>.<pid>.<random>.tmp``, and renamed onto the target only once it is
complete. ``replace_together`` does this for a set (a model's figures, ten
worst, trained model and record; a checkpoint's meta.json; the README): all
of them are written before any is renamed, so the previous set stays whole
until the new one is complete, and a failure while writing leaves it as it
was.

The swap itself never leaves a moment without the file: each file is renamed
onto its target (``os.replace``, atomic on POSIX and Windows), never moved
aside first. A folder (ten_worst/<ex>/<fw>/<model>/) stays a real folder: its
files are renamed onto the old ones one by one, and the old files the new set
lacks are moved out after. Ctrl-C and SIGTERM are held during the swap
(``interrupts_deferred``); if a rename fails, the files already replaced get
their old versions back, each by one rename (the old file keeps a second name,
a hard link, until the set is in place). A SIGKILL or power cut in the
milliseconds of a swap can leave a mix of old and new files, each of them
whole.

Temporary names carry their writer's process id: the next write of the same
target removes those a killed process left behind. An OSError while writing
(a full disk, a path component that is a file, a read-only folder) becomes a
one-line UserError naming the target.

New files and folders are created by ordinary ``open`` and ``mkdir``, so they
follow the user's umask (tempfile's mkstemp and mkdtemp would make them 0600
and 0700).
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Optional

from common.errors import UserError, reason
from common.interrupts import interrupts_deferred


def temporary_path(path) -> Path:
    """A fresh temporary name beside ``path`` (nothing is created): .<name>.<pid>.<random>.tmp."""
    path = Path(path)
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def _writer_running(temporary_name: str) -> bool:
    """Whether the process named in a temporary name still runs (on this machine)."""
    try:
        pid = int(temporary_name[:temporary_name.rindex(".tmp")].split(".")[-2])
    except (ValueError, IndexError):
        return False  # not one of our names (or the random-only names of older versions): nobody's
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove(path: Path) -> None:
    """Best effort: what cannot be removed now (a read-only folder) the next write's remove_stale removes."""
    if not os.path.lexists(path):
        return
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def remove_stale(folder, name=None) -> None:
    """Remove the temporary files and folders in ``folder`` (of target ``name``, or all) whose writer is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    # .tmp.keras: Keras saves a model only to a name ending in .keras (keras_lab.save_model)
    for entry in [*folder.glob(".*.tmp"), *folder.glob(".*.tmp.keras")]:
        if name is not None and not entry.name.lstrip(".").startswith(f"{name}."):
            continue
        if not _writer_running(entry.name):
            _remove(entry)


def _why(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be written: a component of it that is a file, or what the system said."""
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    return f"{blocker} is a file, not a folder" if blocker else reason(exc)


def _fault(path, exc: OSError) -> UserError:
    return UserError(f"{path}: cannot be written ({_why(Path(path), exc)}); nothing was replaced")


def _backup(path: Path, backup: Path) -> Optional[Path]:
    """A second name, ``backup``, for the file ``path`` (a hard link; a copy where the file system has none), so
    that it can be put back by one rename; the file itself stays where it is. None: there is no file there."""
    if not os.path.lexists(path):
        return None
    try:
        os.link(path, backup, follow_symlinks=False)
    except (OSError, NotImplementedError):  # FAT, some network shares: no hard links
        shutil.copy2(path, backup, follow_symlinks=False)
    return backup


class _Swap:
    """The renames that put a staged set in place, each one undoable by one rename.

    A file is renamed onto its target (``os.replace``): the target is its old file until that instant and
    its new one after, never missing. A folder cannot be renamed onto a folder that holds files, so a
    staged folder's files are renamed onto the target folder's files one by one (each the same atomic
    rename), and the target folder's files the new one lacks are then moved out. The target folder stays a
    real folder throughout (ten_worst/<ex>/<fw>/<model>/ is a folder of PNGs in git: no links, no
    versioned folder beside it). What the undo needs is kept under temporary names: a hard link to each file
    replaced, the files moved out.
    """

    def __init__(self):
        self.undo = []          # callables putting back what each rename changed, in the order done
        self.leftovers = []     # backups to remove once the set is in place

    def file(self, new: Path, target: Path, aside: Optional[Path] = None) -> None:
        """``aside``: the folder to keep the old file's second name in (default: beside it)."""
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(21, "Is a directory", str(target))
        backup = _backup(target, aside / target.name if aside is not None else temporary_path(target))
        if backup is not None and aside is None:
            self.leftovers.append(backup)
        os.replace(new, target)
        self.undo.append(lambda: os.replace(backup, target) if backup is not None else _remove(target))

    def folder(self, new: Path, target: Path) -> None:
        if not os.path.lexists(target):
            os.replace(new, target)  # a folder renamed to a free name: all of it appears at once
            self.undo.append(lambda: os.replace(target, new))
            return
        if target.is_symlink() or not target.is_dir():
            raise NotADirectoryError(20, "Not a directory (a file is in the way)", str(target))
        remove_stale(target)  # what a killed writer left inside
        aside = temporary_path(target)  # beside it: the old files' second names, the files the new one lacks
        aside.mkdir()
        self.leftovers.append(aside)
        entries = sorted(new.iterdir())
        names = {entry.name for entry in entries}
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                self.folder(entry, target / entry.name)
            else:
                self.file(entry, target / entry.name, aside)
        for entry in sorted(target.iterdir()):
            if entry.name not in names and not _temporary(entry.name):
                os.replace(entry, aside / entry.name)
                self.undo.append(lambda entry=entry: os.replace(aside / entry.name, entry))

    def put_back(self) -> bool:
        """Undo every rename, the last first: each target is again its old file (or absent, as it was).
        False if one could not be undone (its old version then stays under its temporary name)."""
        undone = True
        for undo in reversed(self.undo):
            try:
                undo()
            except OSError:
                undone = False
        self.undo.clear()
        return undone

    def finish(self) -> None:
        for leftover in self.leftovers:
            _remove(leftover)


def _temporary(name: str) -> bool:
    """Whether ``name`` is one of our temporary names (a write in progress, or a killed one's): not an output."""
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".tmp.keras"))


def _move_into_place(pairs: list) -> None:
    """Rename each (staged, target) onto its target, in order, with Ctrl-C and SIGTERM held until all are done.

    Every target is its old version or its new one at every instant, never missing. If a rename fails (or
    an interrupt is raised inside the swap anyway), the targets already replaced get their old versions
    back, each by one rename, and an OSError is a one-line UserError.
    """
    swap = _Swap()
    with interrupts_deferred():
        try:
            for tmp, path in pairs:
                if tmp.is_dir() and not tmp.is_symlink():
                    swap.folder(tmp, path)
                else:
                    swap.file(tmp, path)
        except BaseException as exc:
            if swap.put_back():
                swap.finish()
            if isinstance(exc, OSError):
                raise _fault(path, exc) from None
            raise
        swap.finish()  # before a Ctrl-C held meanwhile is raised


@contextlib.contextmanager
def _staged(paths: list):
    """Yield a temporary path for each of ``paths``; once the block has written them all, rename them over
    ``paths`` together. An exception in the block leaves every target as it was; an OSError is a UserError."""
    paths = [Path(p) for p in paths]
    tmps = [temporary_path(path) for path in paths]
    try:
        for path in paths:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                remove_stale(path.parent, path.name)
            except OSError as exc:
                raise _fault(path, exc) from None
        try:
            yield tmps
        except OSError as exc:
            raise _fault(", ".join(map(str, paths)), exc) from None
        _move_into_place(list(zip(tmps, paths)))
    finally:
        for tmp in tmps:
            _remove(tmp)  # those never renamed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path`` (not created); rename it to ``path`` once the block has written it."""
    with _staged([path]) as (tmp,):
        yield tmp


@contextlib.contextmanager
def atomic_dir(path):
    """Yield a fresh temporary folder; once the block has filled it, its files replace those of ``path``, and
    the files of ``path`` it lacks are removed: ``path`` ends holding exactly the new files, and stays a folder
    whose every file is, at every instant, its old or its new version (see the module's docstring)."""
    with _staged([path]) as (tmp,):
        tmp.mkdir()
        yield tmp


def replace_together(files: dict) -> None:
    """Write a set of outputs, then replace the old ones together.

    ``files``: {kind: (target path, write)}, where ``write(tmp)`` creates ``tmp`` (a file, or a folder it
    makes). Targets are renamed in the dict's order once every ``write`` has returned: put the one whose
    presence says the set is complete (a record) last.
    """
    targets = [Path(path) for path, _ in files.values()]
    with _staged(targets) as tmps:
        for (path, write), tmp in zip(files.values(), tmps):
            try:
                write(tmp)
            except OSError as exc:
                raise _fault(path, exc) from None


def write_json(path, obj) -> None:
    try:  # strict JSON: NaN and Infinity are not JSON, and strict parsers refuse them
        text = json.dumps(obj, indent=1, sort_keys=False, allow_nan=False) + "\n"
    except ValueError as exc:
        raise UserError(f"{path}: not written: it would hold a NaN or infinite number ({exc})") from None
    write_text(path, text)


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def check_writable(folder, what: str = "") -> None:
    """Fail now, in one line, not after hours of training, if nothing can be written in ``folder``: write a file
    in it, or in the nearest of its parents that exists (nothing is created). ``what`` begins the message."""
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p.is_symlink())
    probe = temporary_path(existing / "write-test")
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        remove_stale(existing, "write-test")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{what}{folder}: not writable ({_why(probe, exc)})") from None
