"""Load an exercise script as a module (cheap: scripts import no framework at the top)."""
import importlib.util

from common.cli import parse_args
from tests.helpers import REPO


def load_script(path: str):
    """E.g. load_script("keras/ex4_resnet.py"): its EXERCISE, MODELS, PARAMS, without running main()."""
    spec = importlib.util.spec_from_file_location(path.replace("/", "_").removesuffix(".py"), REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model(script, model: str, *options, out):
    """(model definition, built model) as the script builds ``model`` for these command-line options."""
    args = parse_args(script.EXERCISE, [*options, "--out", str(out)])
    model_def = script.EXERCISE.models[model]
    return model_def, model_def.build(script.EXERCISE.input_shape, 10, args)
