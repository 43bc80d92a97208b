"""argparse as every command of this repository uses it.

A bad option is one line (a UserError: exit 2, no usage block), and ``--help``
shows each option's default once: where the help text already says it, where
there is none to show (None), or on a plain flag (``--resume``,
``--no-mixed-precision``: the name says what giving it changes), nothing is
appended. Numeric options take their limits as argparse types (``whole``,
``finite``), so a value out of range, NaN or infinite is one line naming the
limit, before anything loads; the limits several commands share are defined
once here.
"""
from __future__ import annotations

import argparse
import math
from typing import Callable, Optional

from common.errors import UserError


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):
        text = action.help or ""
        plain_flag = action.nargs == 0 and not isinstance(action, argparse.BooleanOptionalAction)
        if "default" in text or action.default is None or plain_flag:
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line, not argparse's usage block
        raise UserError(f"{message} (see --help)")


# --- numeric options: checked as they are parsed, so a bad value is one line before anything loads -------

def whole(low: int, high: Optional[int] = None, why: str = "") -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` (to ``high``); ``why`` says where a limit comes from."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {limits}{f' ({why})' if why else ''}, got {value}")
        return value
    return parse


def finite(low: float, high: Optional[float] = None, above: bool = False, below: bool = False,
           why: str = "") -> Callable[[str], float]:
    """An argparse ``type``: a finite number (not nan, not inf) from ``low`` (to ``high``), strictly
    ``above`` the one and ``below`` the other when asked."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        limits = [f"above {low:g}" if above else f"at least {low:g}"]
        if high is not None:
            limits.append(f"below {high:g}" if below else f"at most {high:g}")
        inside = (value > low if above else value >= low) and (
            high is None or (value < high if below else value <= high))
        if not math.isfinite(value) or not inside:
            raise argparse.ArgumentTypeError(f"must be a finite number {' and '.join(limits)}"
                                             f"{f' ({why})' if why else ''}, got {text}")
        return value
    return parse


# The limits of the options several commands share.
EPOCHS = whole(1, 100_000)
BATCH_SIZE = whole(1, 1_000_000)
SEED = whole(0, 2**32 - 1, why="NumPy's seeds are 32-bit")
LIMIT = whole(2, why="one training and one validation image at least")
VAL_SPLIT = finite(0, 1, below=True)
LR = finite(0, above=True)
