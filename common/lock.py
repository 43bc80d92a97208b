"""One run per model and output folder at a time, on Linux, macOS and Windows.

Two runs of the same model into the same --out would overwrite each other's
checkpoints and outputs (with Keras the record could come from one and the
checkpoint from the other). Each run holds an exclusive lock on
``checkpoints/<ex>/<framework>/<model>/lock`` while it trains and writes that
model, with its process id and command in the file; a second run of the model
stops in one line naming that process. Different models run side by side.
The system drops the lock when the process ends, however it ends, so a killed
run leaves nothing to clean up.

The lock is the operating system's own, from the standard library: ``flock``
(``fcntl``) on Linux and macOS, ``msvcrt.locking`` on Windows, which has no
``fcntl``. Each is imported only on its own system, so every module of the
repository imports everywhere.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

from common.errors import UserError, reason

# Windows locks byte ranges, and a locked range cannot be read by another process: the lock is taken on
# one byte far past the holder's line (locking past the end of a file is allowed), so a second run can
# still read who holds it.
WINDOWS_LOCKED_BYTE = 1 << 20
WINDOWS = os.name == "nt"


def try_lock(handle) -> bool:
    """Take the exclusive lock on the open file ``handle`` without waiting: False when another holds it;
    an OSError when the file system has no locks."""
    if WINDOWS:
        import msvcrt
        handle.seek(WINDOWS_LOCKED_BYTE)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:  # EACCES / EDEADLOCK: locked by another handle
            return False
        return True
    import fcntl
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def held(path, what: str):
    """Hold the lock file ``path`` for the block, or stop with one line naming its holder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot be written ({reason(exc)})") from None
    with handle:  # closing the file releases the lock, on every system
        try:
            free = try_lock(handle)
        except OSError as exc:  # a file system without locks (some network and FUSE mounts): run unguarded
            print(f"note: {path}: this file system has no locks ({reason(exc)}), so a second run of {what} "
                  f"into this folder would not be stopped", file=sys.stderr, flush=True)
            free = True
        if not free:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(f"{what} is being run by {holder} (it holds {path}): wait for it to end, "
                            f"or write elsewhere with --out DIR") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} "
                     f"(python {' '.join(sys.argv)})\n")
        handle.flush()
        yield


@contextlib.contextmanager
def all_held(locks: dict):
    """Hold every lock of ``locks`` ({lock file: what it guards}) for the block."""
    with contextlib.ExitStack() as stack:
        for path, what in locks.items():
            stack.enter_context(held(path, what))
        yield
