"""One run per model and output folder at a time.

Two runs of the same model into the same --out would overwrite each other's
checkpoints and outputs (with Keras the record could come from one and the
checkpoint from the other). Each run holds an exclusive lock (``fcntl.flock``)
on ``checkpoints/<ex>/<framework>/<model>/lock`` while it trains and writes
that model, with its process id and command in the file; a second run of the
model stops in one line naming that process. Different models run side by
side. The system drops the lock when the process ends, however it ends, so a
killed run leaves nothing to clean up.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
from pathlib import Path

from common.errors import UserError, reason


@contextlib.contextmanager
def held(path, what: str):
    """Hold the lock file ``path`` for the block, or stop with one line naming its holder."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as exc:
        raise UserError(f"{path}: cannot be written ({reason(exc)})") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
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
