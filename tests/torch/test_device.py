"""--device in PyTorch: auto follows torch.accelerator; an explicit device that is not there is one line.

torch.accelerator is mocked, so every machine checks what a CUDA, Apple MPS or Intel XPU one would get.
"""
import sys

import pytest
import torch

from tests.helpers import REPO

sys.path.insert(0, str(REPO / "pytorch"))
import torch_lab  # noqa: E402

from common.errors import UserError  # noqa: E402

CHECKS = {"cuda": torch.cuda, "mps": torch.backends.mps}  # whose is_available() an explicit --device asks


def fake_accelerator(monkeypatch, build, present):
    """torch.accelerator on a torch built for ``build`` (None: a CPU-only build), with its device there or not."""
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: build is not None and present)
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda check_available=False: None if build is None or (check_available and not present)
                        else torch.device(build))


def no_device_specific_checks(monkeypatch):
    def asked(*_):
        raise AssertionError("--device auto asked a device-specific API, not torch.accelerator")
    monkeypatch.setattr(torch.cuda, "is_available", asked)
    monkeypatch.setattr(torch.backends.mps, "is_available", asked)


@pytest.mark.parametrize("build, present, expected", [
    ("cuda", True, "cuda"),
    ("mps", True, "mps"),
    ("xpu", True, "xpu"),        # any accelerator torch knows, not only the ones the scripts name
    ("cuda", False, "cpu"),      # PyPI's CUDA build on a machine without an NVIDIA GPU (this one)
    (None, False, "cpu"),        # the CPU-only build (download.pytorch.org/whl/cpu)
])
def test_auto_takes_the_accelerator_torch_reports(monkeypatch, build, present, expected):
    fake_accelerator(monkeypatch, build, present)
    no_device_specific_checks(monkeypatch)
    device = torch_lab.choose_device("auto")
    assert device == torch.device(expected) and device.index is None


def test_cpu_stays_cpu_when_an_accelerator_is_there(monkeypatch):
    fake_accelerator(monkeypatch, "cuda", True)
    assert torch_lab.choose_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("device", CHECKS)
def test_an_explicit_device_that_is_there_is_taken(monkeypatch, device):
    fake_accelerator(monkeypatch, device, True)
    monkeypatch.setattr(CHECKS[device], "is_available", lambda: True)
    assert torch_lab.choose_device(device) == torch.device(device)


@pytest.mark.parametrize("device", CHECKS)
def test_an_explicit_device_that_is_not_there_is_one_line(monkeypatch, device):
    fake_accelerator(monkeypatch, "cuda" if device == "mps" else None, True)  # another accelerator, or none
    monkeypatch.setattr(CHECKS[device], "is_available", lambda: False)
    with pytest.raises(UserError, match=f"^--device {device}: ") as refused:
        torch_lab.choose_device(device)
    assert "\n" not in str(refused.value)
