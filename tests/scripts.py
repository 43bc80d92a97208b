"""Load an exercise script as a module (cheap: scripts import no framework at the top)."""
import importlib.util

from tests.helpers import REPO


def load_script(path: str):
    spec = importlib.util.spec_from_file_location(path.replace("/", "_").removesuffix(".py"), REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
