"""How every command of this repository ends: bad input, Ctrl-C and SIGTERM as one line and an exit code.

The exercise scripts, the campaign, the report, the redraw and the benchmarks all run their work
through ``run_command`` and end with ``exit_process``:

- a UserError (bad option, missing file, a write that failed, ...) prints ``error: ...`` and exits 2,
  no traceback;
- Ctrl-C exits 130 and SIGTERM 143 (128 + the signal, as a shell reports them) with one line saying
  what was kept; outputs are written atomically, so an interrupt never leaves half a file;
- a closed pipe (``... | head``) ends quietly with exit 1.

A Ctrl-C outside ``run_command`` is one line and 130 too: while the command's modules load
(``install_interrupt_hook``, which importing ``common`` calls), and after its work (``exit_process``).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from typing import Callable, Union

from common.interrupts import interrupt_exit_code, interrupt_name, terminate_as_interrupt
from common.errors import UserError


def run_command(body: Callable[[], int], interrupted: Union[str, Callable[[KeyboardInterrupt], str]]) -> int:
    """``body()``'s exit code; ``interrupted`` says what an interrupt leaves (text, or a function of it)."""
    terminate_as_interrupt()  # SIGTERM unwinds like Ctrl-C: temporary files removed, the line printed
    try:
        return body() or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        what = interrupted(exc) if callable(interrupted) else interrupted
        print(f"\n{interrupt_name(exc)}: {what}", file=sys.stderr)
        return interrupt_exit_code(exc)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error while exiting
        return 1


def stop(message: str) -> None:
    """Stop the process now with ``error: message`` and exit code 2: for a check a module makes as it is
    imported (a script's imports run before any ``run_command`` could catch a UserError)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, a closed stream
            stream.flush()


def _stop_now(message: str, code: int) -> None:
    print(f"\n{message}", file=sys.stderr)
    _flush()
    os._exit(code)


def _finished_then_stopped(signum, frame) -> None:
    _stop_now(f"{'terminated (SIGTERM)' if signum == signal.SIGTERM else 'interrupted'} while exiting: "
              f"the command had finished its work", 128 + signum)


def exit_process(code: int) -> None:
    """End the process with ``code``: the exit handlers (atexit) run, the interpreter's teardown does not.

    Python puts the default signal handlers back before it tears itself down, which takes seconds once
    TensorFlow is loaded: a Ctrl-C then would kill the process without a word. And h5py, after a write
    that failed (a full disk), crashes in that teardown. So here a Ctrl-C or SIGTERM ends the process at
    once with one line, the exit handlers run, and ``os._exit`` ends it (every output is written and
    closed by then).
    """
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _finished_then_stopped)
    atexit._run_exitfuncs()  # what a normal exit runs first (TensorFlow's and absl's handlers, for one)
    _flush()
    os._exit(code)


def install_interrupt_hook() -> None:
    """A Ctrl-C that no ``run_command`` catches (while the command's modules load, before its work starts)
    ends the process with one line and exit code 130, instead of a traceback."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            _stop_now(f"{interrupt_name(value)} before the command started its work: nothing was written",
                      interrupt_exit_code(value))
        previous(kind, value, traceback)

    sys.excepthook = hook


def run_main(main: Callable[[], int]) -> None:
    """How an exercise script ends: ``main()`` through ``run_command``, then ``exit_process``. An interrupt
    says what was kept and the command that continues the run."""
    again = " ".join(sys.argv) + ("" if "--resume" in sys.argv else " --resume")
    exit_process(run_command(main, f"finished models are saved, the current one is checkpointed at its last "
                                   f"completed epoch; continue with: python {again}"))
