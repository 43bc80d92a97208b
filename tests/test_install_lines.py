"""The README's install commands and requirements.txt name the same tested versions."""
import re

from tests.helpers import REPO

PACKAGES = ("torch", "torchvision", "tensorflow", "keras")


def requirements() -> dict:
    """{package: version specifier} of requirements.txt; tensorflow-cpu counts as tensorflow."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*(.*)", line) if line else None
        if match:
            pins[match.group(1).replace("tensorflow-cpu", "tensorflow")] = match.group(3).replace(" ", "")
    return pins


def readme_install_commands() -> list:
    """Every `pip install` line of the README's Quick start and Other machines sections."""
    text = (REPO / "README.md").read_text()
    sections = [re.search(rf"^## {title}.*?(?=^## )", text, re.S | re.M).group(0)
                for title in ("Quick start", "Other machines")]
    return [line for section in sections for line in section.splitlines() if "pip install" in line]


def test_requirements_pin_the_tested_versions_and_install_from_the_default_index():
    pins = requirements()
    assert pins["torch"].startswith("==") and pins["torchvision"].startswith("==") and pins["tensorflow"].startswith("==")
    assert re.fullmatch(r">=3\.\d+,<3\.\d+", pins["keras"]), pins["keras"]  # keras_lab.py patches private Keras
    source = "\n".join(line.split("#", 1)[0] for line in (REPO / "requirements.txt").read_text().splitlines())
    assert "--index-url" not in source and "--extra-index-url" not in source  # CI installs it from a mirror


def test_every_readme_install_command_names_the_required_versions():
    pins = requirements()
    commands = readme_install_commands()
    assert len(commands) >= 4, commands  # Quick start, CPU-only torch, CUDA (two venvs), Apple Silicon
    for command in commands:
        if "-r requirements.txt" in command:
            continue
        for package in PACKAGES:
            named = re.findall(rf"(?<![\w.-]){package}(?:-cpu)?(?:\[[\w-]+\])?((?:[=<>!~][^\s\"']*)?)(?![\w.-])",
                               command)
            for specifier in named:
                assert specifier == pins[package], f"{package}{specifier} in README, {pins[package]} in " \
                                                   f"requirements.txt: {command}"
        assert "tensorflow-metal" not in command, command
