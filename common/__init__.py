"""Framework-free helpers shared by the Keras and PyTorch scripts.

Nothing in this package imports torch or tensorflow: importing TensorFlow and
then torch's triton in one process segfaults on Linux, so each script imports
exactly one framework and everything shared stays plain numpy.
"""
import sys

from common.pyversion import check_python

check_python()  # first: on an unsupported Python, one line instead of an error from deep inside a module

from common.entry import install_interrupt_hook  # noqa: E402

# Every command of this repository imports this package before anything else of its own: from here on a
# Ctrl-C is one line and exit code 130 (common.entry), never a traceback from the middle of an import.
install_interrupt_hook()

# The exercise scripts run as files (`python pytorch/ex1_mnist.py`): keras/ must never shadow the real keras
# package, and a script imports its lab from its own folder. `python -m pytorch.ex1_mnist` gets one line.
_main_spec = getattr(sys.modules.get("__main__"), "__spec__", None)
if _main_spec is not None and _main_spec.name.split(".")[0] in ("pytorch", "keras"):
    _file = _main_spec.name.replace(".", "/") + ".py"
    print(f"error: run the scripts as files, from the repository's root: python {_file}", file=sys.stderr)
    sys.exit(2)
