"""Import an exercise script by its path, as ``python <framework>/<script>`` would run it, without running main().

The campaign, the report, the benchmarks and the tests read the scripts' EXERCISE this way. A script
imports its own folder's modules by plain name (keras/ex3_augmentation.py imports ex2_cifar10,
pytorch/ex3_augmentation.py imports augment), and keras/ and pytorch/ use the same names: the folder
is put first on sys.path for the import only, and those modules are forgotten afterwards, so the
other framework's script then imports its own.
"""
from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from common.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_script(path, name: str = ""):
    path = Path(path).resolve()
    name = name or f"_lab_script_{path.parent.name}_{path.stem}"
    saved_path, before = list(sys.path), set(sys.modules)
    if str(REPO_ROOT) not in sys.path:
        saved_path.append(str(REPO_ROOT))  # the scripts import common.*; appended, never shadowing a package
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would (dataclasses look their module up there)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path[:] = saved_path
        for other in set(sys.modules) - before - {name}:
            if Path(getattr(sys.modules[other], "__file__", None) or "/").parent == path.parent:
                del sys.modules[other]
    return module


# --- reading a script's table without importing it ------------------------------------------------------

FRAMEWORKS = ("keras", "pytorch")
SCRIPTS = {"ex1": "ex1_mnist.py", "ex2": "ex2_cifar10.py", "ex3": "ex3_augmentation.py", "ex4": "ex4_resnet.py"}


@dataclass(frozen=True)
class ScriptInfo:
    """What an exercise script declares in its literals DATASET and EPOCHS: read from its source, so the
    campaign, the report and the benchmark tables know its models without importing a framework."""
    path: Path
    exercise: str            # "ex1" .. "ex4", from the file name
    framework: str           # "keras" | "pytorch", from the folder
    dataset: str             # "mnist" | "cifar10"
    epochs: dict             # model -> the report's epochs for it, in the report's order

    @property
    def models(self) -> list:
        return list(self.epochs)


def script_path(exercise: str, framework: str, root=REPO_ROOT) -> Path:
    return Path(root) / framework / SCRIPTS[exercise]


def read_script(path) -> ScriptInfo:
    """The DATASET and EPOCHS literals of an exercise script, found by parsing it (nothing is imported or run)."""
    path = Path(path)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the exercise script ({type(exc).__name__}: {exc})") from None
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("DATASET", "EPOCHS"):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise UserError(f"{path}: {node.targets[0].id} must be a plain literal") from None
    epochs, dataset = found.get("EPOCHS"), found.get("DATASET")
    if not isinstance(epochs, dict) or not epochs or not isinstance(dataset, str) \
            or not all(isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in epochs.items()):
        raise UserError(f"{path}: an exercise script declares DATASET = \"...\" and EPOCHS = {{model: epochs, ...}}")
    return ScriptInfo(path, path.name.split("_")[0], path.parent.name, dataset, dict(epochs))
