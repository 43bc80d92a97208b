"""requirements.txt and docs/install.md's install lines name the same tested versions, and each is right
for its platform.

The markers of requirements.txt are evaluated for every platform the lab supports; every `pip install`
line of docs/install.md names the pinned releases (or a build of them from PyTorch's index) and
tensorboard, so --tensorboard works whichever line a student followed.
"""
import re

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from common import pyversion
from tests.helpers import REPO

FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras")
# PyTorch 2.14's builds on its own index: CPU, CUDA 12.6 (drivers 525+), 13.0 and 13.2 (drivers 580+).
TORCH_INDEXES = {f"https://download.pytorch.org/whl/{tag}" for tag in ("cpu", "cu126", "cu130", "cu132")}
PLATFORMS = {  # sys_platform, platform_machine -> the TensorFlow distribution requirements.txt must pick
    ("linux", "x86_64"): "tensorflow-cpu",
    ("linux", "aarch64"): "tensorflow",
    ("darwin", "arm64"): "tensorflow",
    ("win32", "AMD64"): "tensorflow",
}


def requirements() -> list:
    lines = [line.split("#", 1)[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    return [Requirement(line) for line in lines if line]


def selected(platform: tuple, python: str = "3.12") -> dict:
    """{name: specifier} that pip installs from requirements.txt on ``platform``."""
    environment = {**default_environment(), "sys_platform": platform[0], "platform_machine": platform[1],
                   "python_version": python, "platform_system": {"linux": "Linux", "darwin": "Darwin",
                                                                 "win32": "Windows"}[platform[0]]}
    return {r.name: str(r.specifier) for r in requirements() if r.marker is None or r.marker.evaluate(environment)}


def pins() -> dict:
    """The tested specifier of each framework; tensorflow-cpu counts as tensorflow."""
    found = {}
    for requirement in requirements():
        name = requirement.name.replace("tensorflow-cpu", "tensorflow")
        if name in FRAMEWORKS:
            found.setdefault(name, set()).add(str(requirement.specifier))
    assert all(len(specifiers) == 1 for specifiers in found.values()), found  # one version per platform
    return {name: specifiers.pop() for name, specifiers in found.items()}


@pytest.mark.parametrize("platform, tensorflow", PLATFORMS.items())
def test_each_platform_gets_one_tensorflow_and_every_package(platform, tensorflow):
    chosen = selected(platform)
    assert {name for name in chosen if name.startswith("tensorflow")} == {tensorflow}
    for name in ("torch", "torchvision", "keras", "numpy", "matplotlib", "scikit-learn", "tensorboard", "pytest",
                 "nbclient", "nbformat", "ipykernel"):
        assert name in chosen, name


def test_the_frameworks_are_pinned_releases_and_keras_has_no_upper_bound():
    tested = pins()
    for name in ("torch", "torchvision", "tensorflow"):
        # == a release, no build label: a CPU or CUDA build of it installed first satisfies it and is kept
        assert re.fullmatch(r"==\d+\.\d+\.\d+", tested[name]), tested[name]
    assert re.fullmatch(r">=3\.\d+", tested["keras"]), tested["keras"]  # public API only: newer Keras is fine
    source = "\n".join(line.split("#", 1)[0] for line in (REPO / "requirements.txt").read_text().splitlines())
    assert "--index-url" not in source and "--extra-index-url" not in source  # CI installs it from a mirror


def command_blocks() -> list:
    """docs/install.md's fenced command blocks, each a list of lines (```text blocks are output: left out)."""
    blocks, current, language = [], None, None
    for line in (REPO / "docs" / "install.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language != "text":
                    blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, "a code fence is not closed"
    return blocks


def install_lines() -> list:
    """Every `pip install` line of docs/install.md's command blocks."""
    return [line.strip() for block in command_blocks() for line in block if re.search(r"\bpip install\b", line)]


def test_docs_name_the_tested_versions_in_every_install_line():
    tested = pins()
    lines = install_lines()
    assert len(lines) >= 8, lines  # Linux CPU, NVIDIA (580+, older driver, TensorFlow), macOS, Windows, WSL2
    for line in lines:
        for package in FRAMEWORKS:
            for specifier in re.findall(rf"(?<![\w.\-/\[]){package}(?:-cpu)?(?:\[[\w-]+\])?((?:[=<>!~][^\s\"']*)?)"
                                        rf"(?![\w.-])", line):
                specifier = re.sub(r"\+(cpu|cu\d+)$", "", specifier)  # a build label of PyTorch's index
                assert specifier == tested[package], f"{package}{specifier} in docs/install.md, " \
                                                     f"{tested[package]} in requirements.txt: {line}"
        assert "tensorflow-metal" not in line, line


def test_every_install_line_gives_tensorboard_or_is_followed_by_one_that_does():
    """A line from PyTorch's index installs torch and torchvision only: the next line of its block adds the
    rest, unless it replaces the build of a venv already set up (a build label, +cu126)."""
    for block in command_blocks():
        lines = [line for line in block if re.search(r"\bpip install\b", line)]
        for i, line in enumerate(lines):
            index = re.search(r"--index-url (\S+)", line)
            if index:
                assert index.group(1) in TORCH_INDEXES, line
                assert set(re.findall(r"\b(torch|torchvision|tensorflow|keras|numpy)\b", line)) <= {"torch", "torchvision"}
                assert i + 1 < len(lines) or re.search(r"torch==\S+\+cu\d+", line), f"nothing installs the rest: {line}"
                continue
            listed = re.search(r"-r (\S+)", line)
            if listed:
                assert "tensorboard" in (REPO / listed.group(1)).read_text().split(), line
            else:
                assert "tensorboard" in line, line


def test_docs_state_the_supported_pythons_of_the_check():
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    assert f"Python {pyversion.supported_range()}" in text
