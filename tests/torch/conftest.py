"""Backstop: this folder's tests import torch; never in a process that already has tensorflow."""
import sys

import pytest

if "tensorflow" in sys.modules:
    raise pytest.UsageError("tests/torch must not run in a process that imported tensorflow: see tests/conftest.py")
