"""The performance benchmark: both scripts run (as subprocesses, one framework each) on tiny data and
write their records; the table renders; the README section is inserted once and then left alone."""
import json
import os
import signal
import subprocess
import time

import pytest

from common import benchmark, benchmark_table
from tests.helpers import PYTHON, REPO, assert_one_line_error, run_script

MODEL_FIELDS = {"id", "exercise", "model", "dataset", "precision", "augmentation", "multiply_adds", "conv_heavy",
                "steps", "samples_per_s", "step_ms", "gflops", "peak_gflops_before", "fraction_of_peak",
                "speedup_over_fp32", "input_share", "augment_share"}
RECORD_FIELDS = {"framework", "date", "versions", "device", "threads", "cpu", "cpu_count", "batch_size", "seconds",
                 "load_average_start", "load_average_end", "precisions", "peaks", "peak_method", "models"}
TINY = ("--seconds", "0.3", "--batch-size", "16", "--peak-size", "256", "--precision", "fp32", "bf16")


def check_record(record: dict, framework: str, ids: list) -> None:
    assert RECORD_FIELDS <= set(record), RECORD_FIELDS - set(record)
    assert record["framework"] == framework and record["batch_size"] == 16
    assert record["precisions"] == ["fp32", "bf16"] and all(p["peak_gflops"] > 0 for p in record["peaks"].values())
    # One row per model and precision, the precisions of a model side by side.
    assert [(m["id"], m["precision"]) for m in record["models"]] == [(i, p) for i in ids for p in ("fp32", "bf16")]
    for m in record["models"]:
        assert MODEL_FIELDS <= set(m), MODEL_FIELDS - set(m)
        assert m["steps"] >= 3 and m["samples_per_s"] > 0 and m["gflops"] > 0
        peak = record["peaks"][m["precision"]]["peak_gflops"]
        assert 0 < m["peak_gflops_before"] <= peak  # the best peak of its precision is the machine's
        assert m["fraction_of_peak"] == pytest.approx(m["gflops"] / peak, rel=1e-2, abs=1e-3)
        fp32 = next(r for r in record["models"] if r["id"] == m["id"] and r["precision"] == "fp32")
        assert m["speedup_over_fp32"] == pytest.approx(m["samples_per_s"] / fp32["samples_per_s"], rel=1e-2)
        assert 0 <= m["input_share"] < 1
        assert (m["augment_share"] is None) == (m["augmentation"] is None)
        if m["augment_share"] is not None:
            assert 0 < m["augment_share"] < 1
    model1 = record["models"][0]
    assert model1["id"] == "ex1/model1"
    # Conv 32/3 on 28x28: 26*26*32*9 = 194,688; Dense 10 on 21,632 inputs: 216,320.
    assert model1["multiply_adds"] == 26 * 26 * 32 * 9 + 26 * 26 * 32 * 10 == 411_008
    ev = record["evaluation_figures"]
    assert ev["model"] == "ex1/model1" and ev["n_test"] == 100  # the tiny data set's test images
    assert ev["seconds"] >= ev["predict_s"] > 0 and ev["figures_s"] > 0


@pytest.fixture(scope="module")
def torch_record(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "pytorch.json"
    result = run_script("pytorch/benchmark.py", "--models", "ex1/model1", "ex3/PraisyNetDA", *TINY,
                        "--compare-dataloader", "--eval-figures", "--out", out, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    assert "| ex3/PraisyNetDA |" in result.stdout  # the table is printed
    return json.loads(out.read_text())


def test_pytorch_benchmark_writes_its_record(torch_record):
    check_record(torch_record, "pytorch", ["ex1/model1", "ex3/PraisyNetDA"])
    assert torch_record["threads"] >= 1
    cmp = torch_record["dataloader_comparison"]
    assert cmp["model"] == "ex1/model1" and cmp["n_train"] == 300 and cmp["num_workers"] == 0
    for side in ("per_sample", "in_memory"):
        assert cmp[side]["steps"] >= 1 and cmp[side]["epoch_s"] > 0
    assert cmp["speedup"] == pytest.approx(cmp["per_sample"]["epoch_s"] / cmp["in_memory"]["epoch_s"], rel=1e-2)


def test_keras_benchmark_writes_its_record(tiny_data, tmp_path):
    out = tmp_path / "keras.json"
    result = run_script("keras/benchmark.py", "--models", "ex1/model1", "ex3/model9", *TINY, "--eval-figures",
                        "--out", out, data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    check_record(record, "keras", ["ex1/model1", "ex3/model9"])
    assert "dataloader_comparison" not in record  # PyTorch only


@pytest.mark.parametrize("framework, sig, code", [("pytorch", signal.SIGINT, 130), ("pytorch", signal.SIGTERM, 143),
                                                 ("keras", signal.SIGTERM, 143)])
def test_an_interrupted_benchmark_stops_with_one_line_and_writes_nothing(framework, sig, code, tiny_data, tmp_path):
    """Ctrl-C or kill while it measures: no traceback, the signal's exit code, and no record or temporary file."""
    out = tmp_path / "bench"
    process = subprocess.Popen(
        [PYTHON, f"{framework}/benchmark.py", "--models", "ex1/model1", "--seconds", "300", "--batch-size", "16",
         "--peak-size", "256", "--out", str(out / "record.json")],
        cwd=REPO, env={**os.environ, "LAB_DATA_DIR": str(tiny_data)}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in process.stdout:  # the peak is printed once the framework is up, just before the model
            if line.startswith("fp32 matmul peak"):
                break
        else:
            pytest.fail(f"the benchmark ended before it measured: {process.stderr.read()}")
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].endswith("benchmark stopped, nothing written"), stderr
    assert not out.exists() or not list(out.iterdir())  # neither the record nor a temporary file


def test_matmul_peak_times_each_call_after_one_untimed_warm_up():
    """Both frameworks' peak: GFLOP/s = 2 n^3 / seconds of the fastest (and the median) timed call."""
    seconds = iter([0.3, 0.05, 0.2, 0.1])  # a slow first call, as a real first matmul is
    calls = []

    def multiply():
        calls.append(next(seconds))
        time.sleep(calls[-1])

    peak = benchmark.matmul_peak(multiply, n=1000, repeats=3)
    assert len(calls) == 4
    assert peak["gflops"] == pytest.approx(2e9 / 0.05 / 1e9, rel=0.25)        # best of 0.05, 0.2, 0.1 s
    assert peak["median_gflops"] == pytest.approx(2e9 / 0.1 / 1e9, rel=0.25)  # not the warm-up's 0.3 s


def test_model_names_and_list_need_no_framework():
    result = run_script("pytorch/benchmark.py", "--models", "model1")
    assert_one_line_error(result, "ambiguous", "ex1/model1", "ex2/model1")
    result = run_script("keras/benchmark.py", "--models", "ex9/nothing")
    assert_one_line_error(result, "unknown model")
    result = run_script("pytorch/benchmark.py", "--list")
    assert result.returncode == 0, result.stderr
    assert "ex3/PraisyNetDA" in result.stdout and "ex1/model4" in result.stdout
    assert "MyResNet" not in result.stdout  # minutes per measurement: only when asked for


def test_default_selection_is_every_model_but_resnet50():
    entries = benchmark.select(benchmark.load_registry("keras"), None)
    assert entries and {e.exercise for e in entries} == {"ex1", "ex2", "ex3"}
    assert [e.id for e in benchmark.select(benchmark.load_registry("keras"), ["model8", "ex1"])][:2] \
        == ["ex3/model8", "ex1/model1"]


README = "# Lab\n\nintro\n\n## Results\n\nresults\n\n## Other machines\n\nGPU notes\n\n## Layout\n\ntree\n"


def sample_record(framework="pytorch") -> dict:
    return {
        "framework": framework, "date": "2030-01-01", "versions": {"torch": "9.9"}, "device": "cpu (2 threads)",
        "cpu": "Test CPU", "cpu_count": 2, "batch_size": 128, "seconds": 5, "load_average_start": [3.0, 2.0, 1.0],
        "precisions": ["fp32", "bf16"], "peak_method": "torch.mm 2048x2048",
        "peaks": {"fp32": {"peak_gflops": 100.0}, "bf16": {"peak_gflops": 400.0}},
        "models": [
            {"id": "ex1/model1", "precision": "fp32", "augmentation": None, "multiply_adds": 411008,
             "samples_per_s": 5000.0, "speedup_over_fp32": 1.0, "gflops": 12.3, "fraction_of_peak": 0.123,
             "input_share": 0.01, "augment_share": None},
            {"id": "ex3/PraisyNetDA", "precision": "fp32", "augmentation": "flip", "multiply_adds": 82_470_000,
             "samples_per_s": 150.0, "speedup_over_fp32": 1.0, "gflops": 74.2, "fraction_of_peak": 0.742,
             "input_share": 0.001, "augment_share": 0.02},
            {"id": "ex3/PraisyNetDA", "precision": "bf16", "augmentation": "flip", "multiply_adds": 82_470_000,
             "samples_per_s": 300.0, "speedup_over_fp32": 2.0, "gflops": 148.4, "fraction_of_peak": 0.371,
             "input_share": 0.002, "augment_share": 0.04},
        ],
        "dataloader_comparison": {"model": "ex1/model1", "n_train": 60000, "num_workers": 0,
                                  "per_sample": {"steps": 100, "epoch_s": 30.0, "extrapolated": True},
                                  "in_memory": {"steps": 469, "epoch_s": 12.0, "extrapolated": False},
                                  "speedup": 2.5},
        "evaluation_figures": {"model": "ex1/model1", "n_test": 10000, "seconds": 2.5, "predict_s": 1.0,
                               "record_s": 0.1, "figures_s": 1.4},
    }


def test_table_renders_every_model_in_every_precision_with_measured_numbers_only():
    text = benchmark_table.render(sample_record())
    assert "| ex3/PraisyNetDA | fp32 | flip | 82.47 | 150 | 1.00x | 74.2 | 74.2% | 0.1% | 2.0% |" in text
    assert "| ex3/PraisyNetDA | bf16 | flip | 82.47 | 300 | 2.00x | 148.4 | 37.1% | 0.2% | 4.0% |" in text
    assert "| ex1/model1 | fp32 | - | 0.41 |" in text
    assert "Matmul peak: fp32 100.0 GFLOP/s; bf16 400.0 GFLOP/s" in text
    assert "2.50x faster in memory" in text and "2.50 s" in text and "load average 3.00" in text
    assert "met" not in text and "goal" not in text  # measured figures, no verdicts against internal goals


def test_table_renders_the_real_record(torch_record):
    text = benchmark_table.render(torch_record)
    assert text.count("\n| ex") == 4  # two models, two precisions


def write_records(folder, frameworks=("pytorch", "keras")):
    folder.mkdir(parents=True, exist_ok=True)
    for framework in frameworks:
        (folder / f"{framework}.json").write_text(json.dumps(sample_record(framework)))
    return folder


def test_readme_section_is_added_once_before_other_machines(tmp_path):
    results = write_records(tmp_path / "benchmarks")
    readme = tmp_path / "README.md"
    readme.write_text(README)
    argv = ["--results", str(results), "--readme", str(readme)]
    assert benchmark_table.main(argv) == 0
    first = readme.read_text()
    before, after = first.split(benchmark_table.BEGIN)
    assert before == README.split("## Other machines")[0] + "## Performance\n\n"
    assert after.split(benchmark_table.END)[1] == "\n\n## Other machines\n\nGPU notes\n\n## Layout\n\ntree\n"
    assert first.index("### PyTorch") < first.index("### Keras")
    assert benchmark_table.main(argv) == 0
    assert readme.read_text() == first  # idempotent
    assert benchmark_table.main(argv + ["--check"]) == 0


def test_readme_section_replaces_only_what_is_between_the_markers(tmp_path):
    results = write_records(tmp_path / "benchmarks", ("keras",))
    readme = tmp_path / "README.md"
    text = f"top\n{benchmark_table.BEGIN}\nold table\n{benchmark_table.END}\nbottom\n"
    readme.write_text(text)
    argv = ["--results", str(results), "--readme", str(readme)]
    assert benchmark_table.main(argv + ["--check"]) == 1
    assert benchmark_table.main(argv) == 0
    new = readme.read_text()
    assert new.startswith(f"top\n{benchmark_table.BEGIN}\n") and new.endswith(f"{benchmark_table.END}\nbottom\n")
    assert "old table" not in new and "### Keras" in new and "### PyTorch" not in new
    assert new.count("## Performance") == 0  # markers present: no new section


def test_a_missing_or_broken_record_is_not_a_crash(tmp_path, capsys):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    assert "not yet measured" in benchmark_table.render_section(folder)
    (folder / "pytorch.json").write_text("{not json")
    assert "not yet measured" in benchmark_table.render_section(folder)
    assert "unreadable benchmark record" in capsys.readouterr().err
