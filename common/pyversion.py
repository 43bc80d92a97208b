"""Which Pythons the lab runs on, checked first, in one line.

Whatever Python a student starts reads this file, so it is written in the
oldest syntax (no f-strings, no annotations): an old Python reaches the
one-line message here instead of a SyntaxError or an AttributeError from
deep inside another module. It imports only ``sys``.

The range is where the tested set (requirements.txt) has wheels:
- oldest 3.11: Keras 3.13 and later, NumPy 2.3 and later and matplotlib 3.11
  require Python 3.11;
- newest 3.13: TensorFlow 2.21 (the newest release) has no wheel for 3.14
  (torch 2.14 has one). Raise NEWEST when TensorFlow ships one.
"""
import sys

OLDEST = (3, 11)
NEWEST = (3, 13)


def supported_range():
    """The supported versions in words: "3.11 to 3.13"."""
    return "%d.%d to %d.%d" % (OLDEST + NEWEST)


def unsupported(version=None):
    """Why Python ``version`` (a sys.version_info-like tuple; default: this one) cannot run the lab,
    in one line, or None when it can."""
    version = tuple(version if version is not None else sys.version_info)
    shown = ".".join(str(part) for part in version[:3])
    if version[:2] < OLDEST:
        why = "Keras 3.13+, NumPy 2.3+ and matplotlib 3.11 need 3.11 or later"
    elif version[:2] > NEWEST:
        why = "TensorFlow 2.21 has no wheel for %d.%d" % tuple(version[:2])
    else:
        return None
    return ("Python %s is not supported: the lab needs Python %s (%s); make the venv with one of those "
            "(docs/install.md)" % (shown, supported_range(), why))


def check_python(version=None):
    """Stop with one line and exit code 2 (as every bad input here) on an unsupported Python."""
    message = unsupported(version)
    if message:
        sys.stderr.write("error: " + message + "\n")
        sys.exit(2)
