"""Load an exercise script as a module (cheap: scripts import no framework at the top)."""
from common.cli import parse_args
from common.scripts import load_script as load_script_file
from tests.helpers import REPO


def load_script(path: str):
    """E.g. load_script("keras/ex4_resnet.py"): its EXERCISE and builders, without running main()."""
    return load_script_file(REPO / path, path.replace("/", "_").removesuffix(".py"))


def build_model(script, backend, model: str, *options, out):
    """The model as the script builds it for these command-line options, through the backend's build."""
    args = parse_args(script.EXERCISE, [*options, "--out", str(out)])
    return backend.build(script.EXERCISE.builder(model, args), args)
