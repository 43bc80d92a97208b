"""Load an exercise script as a module (it imports its framework: only in that framework's test process), and
run its main() in-process as a user runs the script."""
import sys

from common.data import SPECS
from common.scripts import load_script as load_script_file
from tests.helpers import REPO


def load_script(path: str):
    """E.g. load_script("keras/ex4_resnet.py"): its MODELS and builders, without running main()."""
    return load_script_file(REPO / path, path.replace("/", "_").removesuffix(".py"))


def input_shape(script) -> tuple:
    """(H, W, C) of the script's data set."""
    return SPECS[script.DATASET]["image"]


def run_main(script, *argv, monkeypatch) -> int:
    """``script.main()`` with this command line, in this process."""
    monkeypatch.setattr(sys, "argv", [script.__file__, *map(str, argv)])
    return script.main()


def parse(script, *argv):
    """The script's options as its main() parses them (--list: no output folder is checked)."""
    from common import cli

    return cli.parse_args(script.__file__, script.__doc__, script.EPOCHS, list(map(str, argv)),
                          add_options=getattr(script, "add_arguments", None), check=getattr(script, "check_args", None))
