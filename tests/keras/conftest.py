"""Backstop: this folder's tests import keras; never in a process that already has torch."""
import sys

import pytest

if "torch" in sys.modules:
    raise pytest.UsageError("tests/keras must not run in a process that imported torch: see tests/conftest.py")
