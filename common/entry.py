"""How every command of this repository ends: bad input, Ctrl-C and SIGTERM as one line and an exit code.

The exercise scripts, the campaign, the report, the redraw and the benchmarks all run their work
through ``run_command``:

- a UserError (bad option, missing file, ...) prints ``error: ...`` and exits 2, no traceback;
- Ctrl-C exits 130 and SIGTERM 143 (128 + the signal, as a shell reports them) with one line saying
  what was kept; outputs are written atomically, so an interrupt never leaves half a file;
- a closed pipe (``... | head``) ends quietly with exit 1.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Union

from common.atomic import interrupt_exit_code, interrupt_name, terminate_as_interrupt
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
