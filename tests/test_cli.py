"""The shared command line, through the real scripts, as a user runs them."""
import re
import subprocess

import pytest

from tests.helpers import PYTHON, REPO, assert_one_line_error, read_record, run_script

SCRIPTS = sorted(str(p.relative_to(REPO)) for p in (REPO / "keras").glob("ex*.py")) + \
          sorted(str(p.relative_to(REPO)) for p in (REPO / "pytorch").glob("ex*.py"))

# Trainable parameters given by the report (and the issue) for exercise 1.
EX1_PARAMS = {
    "keras/ex1_mnist.py": {"model1": 216650, "model2": 657162, "model3": 545162, "model4": 303242, "model5": 1118474},
    "pytorch/ex1_mnist.py": {"model1": 216650, "old_model1": 216650, "model2": 94298, "model3": 94298,
                             "model4": 928314},
}

# Runs a script's --help (or a bad option) and reports which frameworks got imported.
PROBE = """
import atexit, os, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))  # as `python script` does
atexit.register(lambda: print("IMPORTED:", sorted(m for m in ("torch", "tensorflow", "keras") if m in sys.modules)))
runpy.run_path(script, run_name="__main__")
"""


def list_params(script) -> dict:
    result = run_script(script, "--list")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    return {row[0]: int(row[1].replace(",", "")) for row in rows}


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("option", ["--help", "--epochs=0"])
def test_a_script_imports_its_own_framework_and_never_the_other(script, option):
    # The scripts import their framework at the top, as tutorials do; TensorFlow and then torch's triton in
    # one process segfault, so a Keras script must never load torch, nor a PyTorch script TensorFlow.
    result = subprocess.run([PYTHON, "-c", PROBE, script, option], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == (0 if option == "--help" else 2), result.stderr
    own = "['keras', 'tensorflow']" if script.startswith("keras/") else "['torch']"
    assert f"IMPORTED: {own}" in result.stdout, result.stdout


COMMANDS = [[script] for script in SCRIPTS] + [["keras/benchmark.py"], ["pytorch/benchmark.py"],
                                               ["-m", "common.campaign"], ["-m", "common.report"],
                                               ["-m", "common.benchmark_table"], ["-m", "common.redraw"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_states_each_default_once_and_no_empty_ones(command):
    result = subprocess.run([PYTHON, *command, "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for option in re.split(r"\n(?=  -)", result.stdout):  # one block per option; argparse wraps its lines
        text = " ".join(option.split())
        assert text.count("(default:") <= 1, text
        assert "(default: None)" not in text and "(default: False)" not in text, text
        assert "(default: True)" not in text, text  # a --no-X flag's "True" reads as the opposite of its name


@pytest.mark.parametrize("script", list(EX1_PARAMS))
def test_list_shows_the_reports_parameter_counts(script):
    params = list_params(script)
    for model, expected in EX1_PARAMS[script].items():
        assert params[model] == expected, model
    assert "lab3" in params


def test_model1_has_the_same_parameters_in_both_frameworks():
    assert list_params("keras/ex1_mnist.py")["model1"] == list_params("pytorch/ex1_mnist.py")["model1"]


@pytest.mark.parametrize("args, fragments", [
    (["--models", "model9"], ["unknown model model9", "model1", "model4", "lab3"]),
    (["--epochs", "0"], ["--epochs"]),
    (["--batch-size", "0"], ["--batch-size"]),
    (["--val-split", "1.5"], ["--val-split"]),
    (["--limit", "1"], ["--limit"]),
    (["--device", "tpu"], ["--device", "tpu"]),
    (["--epochs", "two"], ["--epochs"]),
    # Each limit named as it is: what NumPy's seeds take, finite numbers only.
    (["--epochs", "100001"], ["--epochs", "from 1 to 100000"]),
    (["--batch-size", "2000000"], ["--batch-size", "from 1 to 1000000"]),
    (["--seed=-1"], ["--seed", "from 0 to 4294967295", "32-bit"]),
    (["--seed", str(2**32)], ["--seed", "from 0 to 4294967295"]),
    (["--lr", "nan"], ["--lr", "finite number above 0"]),
    (["--lr", "inf"], ["--lr", "finite number above 0"]),
    (["--lr", "1e400"], ["--lr", "finite"]),
    (["--val-split", "nan"], ["--val-split", "finite number at least 0 and below 1"]),
    (["--val-split=-inf"], ["--val-split", "finite"]),
])
def test_bad_options_give_one_clear_line(args, fragments, tiny_data, tmp_path):
    result = run_script("pytorch/ex1_mnist.py", *args, "--out", tmp_path, data_dir=tiny_data)
    assert_one_line_error(result, *fragments)
    assert not list(tmp_path.iterdir())  # refused before anything was loaded or written


@pytest.mark.parametrize("command, args, fragments", [
    (["pytorch/benchmark.py"], ["--seconds", "nan"], ["--seconds", "finite number above 0"]),
    (["keras/benchmark.py"], ["--seconds", "inf"], ["--seconds", "finite"]),
    (["pytorch/benchmark.py"], ["--seed=-1"], ["--seed", "from 0 to 4294967295"]),
    (["pytorch/benchmark.py"], ["--peak-size", "8"], ["--peak-size", "from 64 to 16384"]),
    (["keras/benchmark.py"], ["--threads", "0"], ["--threads", "from 1 to 1024"]),
    (["keras/benchmark.py"], ["--batch-size", "0"], ["--batch-size", "from 1 to 1000000"]),
    (["-m", "common.campaign", "--dry-run"], ["--val-split", "nan"], ["--val-split", "finite"]),
    (["-m", "common.campaign", "--dry-run"], ["--seed", str(2**32)], ["--seed", "from 0 to 4294967295"]),
    (["-m", "common.campaign", "--dry-run"], ["--epochs-cap", "0"], ["--epochs-cap", "from 1 to 100000"]),
    (["keras/ex4_resnet.py"], ["--image-size", "2000"], ["--image-size", "from 32 to 1024"]),
])
def test_every_commands_numeric_options_are_range_checked(command, args, fragments):
    result = subprocess.run([PYTHON, *command, *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, *fragments)


@pytest.mark.parametrize("framework", ["pytorch", "keras"])
def test_a_benchmark_checks_its_out_before_measuring(framework, tiny_data, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    for out, fragment in ((tmp_path / "a-file" / "b.json", "a-file is a file, not a folder"),
                          (tmp_path, "a folder; give the record's file name")):
        result = run_script(f"{framework}/benchmark.py", "--models", "ex1/model1", "--seconds", "0.3", "--out", out,
                            data_dir=tiny_data)
        assert_one_line_error(result, f"--out {out}", fragment)
        assert "samples/s" not in result.stdout


def test_unwritable_out_is_refused_before_training(tiny_data, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_script("keras/ex1_mnist.py", "--out", blocker / "out", data_dir=tiny_data)
    assert_one_line_error(result, "--out", "not writable")


@pytest.mark.parametrize("script", ["pytorch/ex1_mnist.py", "keras/ex1_mnist.py"])
def test_corrupt_data_gives_one_clear_line_and_trains_nothing(script, tiny_data, tmp_path):
    raw = (tiny_data / "mnist.npz").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mnist.npz").write_bytes(raw[:1000])
    result = run_script(script, "--data-dir", bad, "--out", tmp_path / "out")
    assert_one_line_error(result, "mnist.npz", "truncated")
    assert not (tmp_path / "out" / "results").exists()


@pytest.mark.parametrize("script", ["pytorch/ex1_mnist.py", "keras/ex1_mnist.py"])
def test_unavailable_device_gives_one_clear_line(script, tiny_data, tmp_path):
    result = run_script(script, "--device", "cuda", "--limit", "50", "--out", tmp_path, data_dir=tiny_data)
    if result.returncode == 0:
        pytest.skip("this machine has a CUDA GPU")
    assert_one_line_error(result, "--device cuda")


@pytest.mark.parametrize("module", ["pytorch.ex1_mnist", "pytorch.ex4_resnet"])
def test_a_script_run_as_a_module_says_how_to_run_it_in_one_line(module):
    result = subprocess.run([PYTHON, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert_one_line_error(result, f"python {module.replace('.', '/')}.py")


@pytest.mark.parametrize("script", ["pytorch/ex1_mnist.py", "keras/ex1_mnist.py"])
def test_a_default_run_trains_in_fp32_as_the_report_did(script, tiny_data, tmp_path):
    result = run_script(script, "--models", "lab3", "--limit", "60", "--epochs", "1", "--out", tmp_path,
                        data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    record = read_record(tmp_path, "ex1", script.split("/")[0], "lab3")
    assert record["precision"] == "fp32" and not any("precision" in note for note in record["reduced"])
