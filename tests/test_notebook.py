"""notebooks/colab.ipynb runs top to bottom, and installs nothing of Colab's own frameworks.

The notebook is executed in a Jupyter kernel of this venv (nbclient), as on a Colab CPU runtime: its
parameters are overridden by a cell inserted after the parameters cell (papermill's way), for the local
checkout instead of a clone, a temporary --out instead of Google Drive, the CPU, tiny synthetic data,
--limit and one epoch.
"""
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from tests.helpers import REPO

NOTEBOOK = REPO / "notebooks" / "colab.ipynb"
FRAMEWORKS = re.compile(r"(?<![\w-])(torch|torchvision|tensorflow(-cpu)?|keras|tf-keras)(?![\w-])")


def code_cells(notebook) -> list:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebook_never_installs_or_imports_a_framework():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    installs = [line for source in code_cells(notebook) for line in source.splitlines()
                if re.search(r"\bpip\b.*\binstall\b", line) and not line.lstrip().startswith("#")]
    assert installs and all("requirements-colab.txt" in line for line in installs), installs
    for line in installs:
        assert not FRAMEWORKS.search(line.split("-r", 1)[0]), line
    listed = [line.split("#")[0].strip() for line in (REPO / "notebooks" / "requirements-colab.txt").read_text().splitlines()]
    listed = [line for line in listed if line]
    assert listed and not [line for line in listed if FRAMEWORKS.search(line)], listed
    assert "tensorboard" in listed
    # The scripts run as processes of their own: the notebook's kernel never loads a framework.
    for source in code_cells(notebook):
        assert not re.search(r"^\s*(import|from)\s+(torch|tensorflow|keras)\b", source, re.M), source


def test_the_parameters_cell_is_tagged_and_the_commands_use_the_scripts_cli():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    commands = [line for source in code_cells(notebook) for line in source.splitlines() if line.startswith("!python")]
    assert "!python pytorch/ex1_mnist.py --models {TORCH_MODELS} {OPTIONS}" in commands
    assert "!python keras/ex1_mnist.py --models {KERAS_MODELS} {OPTIONS}" in commands
    assert "!python -m common.doctor" in commands


def outputs_text(cell) -> str:
    return "".join(output.get("text", "") + "".join(str(v) for v in output.get("data", {}).values())
                   for output in cell.get("outputs", []))


def test_the_notebook_runs_on_a_cpu_with_tiny_settings(tmp_path, tiny_data):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    index = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    out = tmp_path / "out"
    notebook.cells.insert(index + 1, new_code_cell(
        f"CHECKOUT = {str(REPO)!r}\nOUT_ON_DRIVE = False\nOUT = {str(out)!r}\nDEVICE = 'cpu'\n"
        f"TORCH_MODELS = 'lab3'\nKERAS_MODELS = 'lab3'\nEPOCHS = 1\nLIMIT = 300", metadata={"tags": ["injected-parameters"]}))
    # The notebook's `!python` is this venv's python, as on Colab it is the runtime's.
    env = {**os.environ, "LAB_DATA_DIR": str(tiny_data),
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.pop("KERAS_BACKEND", None)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # a failing cell (an assert on a script's exit code included) raises here

    for framework in ("pytorch", "keras"):
        assert (out / "results" / "ex1" / framework / "lab3.json").is_file()
        for figure in ("loss", "accuracy", "confusion_matrix"):
            assert (out / "plots" / "ex1" / framework / f"lab3_{figure}.png").is_file()
    texts = [outputs_text(cell) for cell in notebook.cells if cell.cell_type == "code"]
    doctor = next(text for text in texts if "NVIDIA GPU:" in text)
    assert "PyTorch: --device auto trains on" in doctor and "Keras: --device auto trains on" in doctor
    summary = next(text for text in texts if "| framework | model |" in text)
    assert "| pytorch | lab3 | cpu" in summary and "| keras | lab3 | CPU" in summary
    figures = next(cell for cell in notebook.cells if cell.cell_type == "code" and "confusion_matrix" in cell.source)
    assert sum("image/png" in output.get("data", {}) for output in figures.outputs) == 6
    resumed = [text for text in texts if "lab3: test accuracy" in text]
    assert len(resumed) == 2 and all("no checkpoint in" in text for text in resumed), resumed


@pytest.mark.parametrize("name", ["colab.ipynb"])
def test_the_notebook_is_stored_without_outputs(name):
    """Outputs of a local run would show a student another machine's devices and numbers."""
    notebook = nbformat.read(REPO / "notebooks" / name, as_version=4)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") and cell.get("execution_count") is None
               for cell in notebook.cells if cell.cell_type == "code")
