"""The one exception type that reaches the user as a single line."""
from __future__ import annotations

import os


class UserError(Exception):
    """Bad input or environment: printed as one line, exit code 2, no traceback."""


def reason(exc: BaseException) -> str:
    """What went wrong, in a few words for a one-line error: an OSError's strerror ("No space left on
    device"), else the first line of the message (libraries write several), else the exception's type."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # not exc.strerror, which h5py fills with a page of its own
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
