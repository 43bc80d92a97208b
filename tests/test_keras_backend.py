"""KERAS_BACKEND: the Keras scripts run on TensorFlow; any other backend is refused in one line, before
keras, TensorFlow or torch is imported (Keras on torch would put torch beside TensorFlow in one process,
which can segfault)."""
import pytest

from tests.helpers import assert_one_line_error, read_record, run_script

# Runs a script as `python script` does and says, as the process ends, which frameworks it imported.
PROBE = """
import atexit, os, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
frameworks = ("torch", "tensorflow", "keras", "jax")
atexit.register(lambda: print("IMPORTED:", sorted(m for m in frameworks if m in sys.modules)))
runpy.run_path(script, run_name="__main__")
"""

REFUSED = ["torch", "jax", "numpy", "openvino", "bogus", "Torch"]


def probe(backend, *args, data_dir=None):
    return run_script("-c", PROBE, "keras/ex1_mnist.py", *args, data_dir=data_dir, env={"KERAS_BACKEND": backend})


@pytest.mark.parametrize("command", ["train", "list"])
@pytest.mark.parametrize("backend", REFUSED)
def test_an_unsupported_backend_is_refused_in_one_line_before_any_framework_loads(backend, command, tiny_data,
                                                                                  tmp_path):
    args = ["--list"] if command == "list" else ["--models", "model1", "--limit", "50", "--epochs", "1",
                                                 "--out", tmp_path]
    result = probe(backend, *args, data_dir=tiny_data)
    assert result.returncode == 2, result.stderr
    assert_one_line_error(result, f"KERAS_BACKEND={backend}:", "unset KERAS_BACKEND or set it to tensorflow")
    assert "IMPORTED: []" in result.stdout, result.stdout  # not even keras: the check comes before it
    assert not (tmp_path / "results").exists()


def test_the_torch_backend_is_told_why_and_where_pytorch_is():
    assert_one_line_error(probe("torch", "--list"), "segfault", "pytorch/")


def test_tensorflow_trains_and_the_record_names_the_backend(tiny_data, tmp_path):
    result = run_script("keras/ex1_mnist.py", "--models", "model1", "--limit", "50", "--epochs", "1",
                        "--out", tmp_path, data_dir=tiny_data, env={"KERAS_BACKEND": "tensorflow"})
    assert result.returncode == 0, result.stderr
    versions = read_record(tmp_path, "ex1", "keras", "model1")["versions"]
    assert versions["keras_backend"] == "tensorflow"
    assert versions["tensorflow"] and versions["keras"]


def test_an_empty_backend_is_tensorflow_even_where_keras_json_names_another(tmp_path):
    # Keras reads an empty KERAS_BACKEND as unset and takes the backend of $KERAS_HOME/keras.json.
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    result = run_script("keras/ex1_mnist.py", "--list", env={"KERAS_BACKEND": "", "KERAS_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "model1" in result.stdout
