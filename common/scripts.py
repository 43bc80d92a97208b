"""Import an exercise script by its path, as ``python <framework>/<script>`` would run it, without running main().

The campaign, the report, the benchmarks and the tests read the scripts' EXERCISE this way. A script
imports its own folder's modules by plain name (keras/ex3_augmentation.py imports ex2_cifar10,
pytorch/ex3_augmentation.py imports augment), and keras/ and pytorch/ use the same names: the folder
is put first on sys.path for the import only, and those modules are forgotten afterwards, so the
other framework's script then imports its own.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

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
