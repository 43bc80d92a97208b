"""A benchmark record of the repository is replaced only by a benchmark at least as full (issue 34, item 1):
`pytorch/benchmark.py --models ex1/lab3 --seconds 0.5` turned the committed 12-row record into 1 row.

The scripts run in a copy of the repository (its code and committed benchmark record), never in this one."""
import json
import os
import shutil
import subprocess

import pytest

from common import benchmark
from tests.helpers import PYTHON, REPO, assert_one_line_error

FAST = ("--seconds", "0.3", "--batch-size", "16", "--peak-size", "256", "--precision", "fp32")


@pytest.fixture
def repository(tmp_path):
    copy = tmp_path / "repository"
    for folder in ("common", "keras", "pytorch"):
        shutil.copytree(REPO / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "results" / "benchmarks").mkdir(parents=True)
    shutil.copy(REPO / "results" / "benchmarks" / "pytorch.json", copy / "results" / "benchmarks" / "pytorch.json")
    return copy


def bench(repository, *args, data_dir):
    return subprocess.run([PYTHON, "pytorch/benchmark.py", *map(str, args)], cwd=repository, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "LAB_DATA_DIR": str(data_dir)})


def test_a_partial_benchmark_keeps_the_committed_record_wherever_out_names_it(repository, tiny_data, tmp_path):
    record = repository / "results" / "benchmarks" / "pytorch.json"
    original = record.read_bytes()
    link = tmp_path / "link"
    link.symlink_to(repository)
    for out in ([], ["--out", "results/benchmarks/pytorch.json"], ["--out", record],
                ["--out", link / "results" / "benchmarks" / "pytorch.json"]):
        result = bench(repository, "--models", "ex1/lab3", *FAST, *out, data_dir=tiny_data)
        assert_one_line_error(result, "pytorch.json is kept", "shorter or partial", "--force")
        assert "matmul peak" not in result.stdout, "refused only after measuring"
        assert record.read_bytes() == original, out

    forced = bench(repository, "--models", "ex1/lab3", *FAST, "--force", data_dir=tiny_data)
    assert forced.returncode == 0, forced.stderr
    assert [m["id"] for m in json.loads(record.read_text())["models"]] == ["ex1/lab3"]


def test_what_makes_a_benchmark_fuller():
    committed = json.loads((REPO / "results" / "benchmarks" / "pytorch.json").read_text())
    assert benchmark.benchmark_shortfall(committed, committed) == []
    longer = {**committed, "seconds": 30.0, "models": committed["models"] + [{"id": "ex1/lab3", "precision": "fp32"}]}
    assert benchmark.benchmark_shortfall(committed, longer) == []
    partial = {**committed, "models": committed["models"][:1], "seconds": 0.5}
    del partial["dataloader_comparison"]
    words = benchmark.benchmark_shortfall(committed, partial)
    assert words[0].startswith("it lacks 11 of the record's 12 rows (ex1/model1 bf16, ex1/model4 fp32")
    assert "--seconds 0.5 where the record has 10" in words and any("DataLoader comparison" in w for w in words)
    # A plan whose precisions the framework picks later: its models are compared, not yet its precisions.
    plan = {"models": [{"id": m["id"], "precision": "fp32"} for m in committed["models"]], "seconds": 10.0,
            "batch_size": 128, "seed": 0, "precisions_known": False, "dataloader_comparison": True,
            "evaluation_figures": True}
    assert benchmark.benchmark_shortfall(committed, plan) == []
    assert benchmark.benchmark_shortfall(committed, {**plan, "precisions_known": True})[0].startswith(
        "it lacks 6 of the record's 12 rows")


@pytest.mark.parametrize("text", ["[]", "{cut", "[" * 100_000 + "]" * 100_000])
def test_a_malformed_benchmark_record_of_the_repository_is_kept_in_one_line(tmp_path, text):
    record = tmp_path / "results" / "benchmarks" / "pytorch.json"
    record.parent.mkdir(parents=True)
    record.write_text(text)
    with pytest.raises(benchmark.UserError, match="pytorch.json is kept"):
        benchmark.refuse_replacing(record, {"models": []}, False, repository=tmp_path)
    benchmark.refuse_replacing(record, {"models": []}, True, repository=tmp_path)  # --force
