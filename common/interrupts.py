"""Ctrl-C and SIGTERM: one way to stop, and a way to hold them while a set of files is swapped in.

SIGTERM (``kill``, a batch scheduler's time limit) unwinds as Ctrl-C does (``terminate_as_interrupt``),
so temporary files are removed and the command to resume is printed; ``interrupts_deferred`` holds both
until a block ends (common.atomic's swaps, a run's outputs); the exit code is 128 + the signal's number,
as a shell reports it.
"""
from __future__ import annotations

import contextlib
import signal
import threading


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch scheduler's time limit), handled as Ctrl-C is: cleanup, then a resume hint."""


def _raise_terminated(signum, frame):
    raise Terminated


def terminate_as_interrupt() -> None:
    """Make SIGTERM unwind like Ctrl-C, so temporary files are removed and the command to resume is printed.

    Python's default for SIGTERM ends the process at once, skipping every ``finally``.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


def interrupt_name(interrupt: KeyboardInterrupt) -> str:
    """How a stop message names the interrupt: "interrupted" (Ctrl-C) or "terminated (SIGTERM)"."""
    return "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted"


def interrupt_exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number, as a shell reports a process the signal ended."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


_DEFERRING = []  # non-empty while an interrupts_deferred block runs (the blocks nest)


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C and SIGTERM until the block ends, so a run's figures and record are written as a set.

    Blocks nest: an inner one (every swap of common.atomic is one) holds them until the outermost ends."""
    if threading.current_thread() is not threading.main_thread() or _DEFERRING:
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    _DEFERRING.append(True)
    try:
        yield
    finally:
        _DEFERRING.pop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise Terminated if signal.SIGTERM in received else KeyboardInterrupt
