"""argparse as every command of this repository uses it.

A bad option is one line (a UserError: exit 2, no usage block), and ``--help``
shows each option's default once: where the help text already says it, where
there is none to show (None), or on a plain flag (``--resume``,
``--no-mixed-precision``: the name says what giving it changes), nothing is
appended.
"""
from __future__ import annotations

import argparse

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
