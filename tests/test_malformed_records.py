"""Records of any shape reach the report and redraw as one warning line each, never a traceback.

Every record here is a TEST FIXTURE (made-up numbers, see tests/test_report.py), spoilt on purpose: a
file that is not JSON or nests 10,000 levels deep, a top level that is not an object, and every field
of a good record replaced in turn by a value of the wrong type or shape.
"""
import json
import subprocess

import pytest

from common import report_inputs
from tests.helpers import PYTHON, REPO
from tests.test_report import fixture_record, write_record

DEEP = 10_000  # levels: far past the interpreter's recursion limit, which json's parser counts against

WHOLE_FILES = {  # model name -> the file's bytes
    "deep_lists": ("[" * DEEP + "]" * DEEP).encode(),
    "deep_objects": ('{"a": ' * DEEP + "1" + "}" * DEEP).encode(),
    "top_list": b'[{"exercise": "ex1"}]',
    "top_string": b'"ex1/keras/top_string"',
    "top_number": b"3",
    "top_null": b"null",
    "empty": b"",
    "not_utf8": b"\xff\xfe{\x00",
}

WRONG_VALUES = {  # a label for the test name -> a value no field of a record should hold
    "list": ["a", "b"],
    "nested_list": [[["x"]]],
    "object": {"a": 1},
    "deep": json.loads("[" * 500 + "]" * 500),  # deep, yet within what json parses
    "string": "text",
    "negative": -1,
    "huge": 1e308,
    "bool": True,
}


def spoilt_records() -> dict:
    """name -> record: each field of a good record, replaced by each wrong value in turn."""
    fields = [name for name in fixture_record("ex1", "keras", "x") if name not in ("exercise", "framework", "model")]
    fields += ["variant_of", "precision", "host", "n_val"]  # optional fields the fixture leaves out
    spoilt = {}
    for name in fields:
        for label, value in WRONG_VALUES.items():
            model = f"{name}_{label}"
            # No history unless it is the field spoilt: the exercise's comparison figure stays small.
            record = fixture_record("ex1", "pytorch", model, history=None)
            record[name] = value
            spoilt[model] = record
    return spoilt


@pytest.fixture(scope="module")
def spoilt_lab(tmp_path_factory):
    lab = tmp_path_factory.mktemp("spoilt")
    (lab / "README.md").write_text("# Lab\n\n<!-- summary:begin -->\n<!-- summary:end -->\n")
    folder = lab / "results" / "ex1" / "keras"
    folder.mkdir(parents=True)
    for model, data in WHOLE_FILES.items():
        (folder / f"{model}.json").write_bytes(data)
    for model, record in spoilt_records().items():
        write_record(lab, record)
    # The two shapes issue 34 names, in a pair the report compares: variant_of a list, beside its model.
    write_record(lab, fixture_record("ex2", "keras", "model7"))
    write_record(lab, fixture_record("ex2", "keras", "model7-bf16", variant_of=["model7"], precision="bf16"))
    return lab


def run(module: str, lab, *args) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", module, "--results", str(lab / "results"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def assert_only_warning_lines(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert all(line.startswith("warning: ") for line in lines), [l for l in lines if not l.startswith("warning: ")]


def test_the_report_warns_about_every_shape_and_shows_the_rest(spoilt_lab):
    result = run("common.report", spoilt_lab, "--readme", spoilt_lab / "README.md")

    assert result.returncode == 0, result.stderr[-3000:]
    assert_only_warning_lines(result.stderr)
    for model in WHOLE_FILES:
        assert f"keras/{model}.json: " in result.stderr and "its row shows 'not run'" in result.stderr, model
    assert "nested too deeply" in result.stderr
    assert "model7-bf16.json: 'variant_of' is not a model's name; shown without it" in result.stderr
    page = (spoilt_lab / "REPORT.md").read_text()
    assert "#### Keras ex2 model7-bf16" in page  # the record is shown, without the field that was wrong
    assert "#### PyTorch ex1 note_list" in page and "#### PyTorch ex1 class_names_nested_list" in page


def test_redraw_warns_and_draws_the_others(spoilt_lab):
    result = run("common.redraw", spoilt_lab, "--only", "ex1/keras", "ex2")

    assert result.returncode == 1, result.stderr[-3000:]  # some records could not be drawn
    assert_only_warning_lines(result.stderr)
    assert "model7-bf16.json: cannot draw its figures: no usable history" not in result.stderr  # it has one
    assert (spoilt_lab / "plots" / "ex2" / "keras" / "model7-bf16_loss.png").is_file()
    for model in WHOLE_FILES:
        assert f"keras/{model}.json: " in result.stderr, model


@pytest.mark.parametrize("field, value, problem", [
    ("variant_of", ["model7"], "'variant_of' is not a model's name"),
    ("class_names", [["0"]] * 10, "'class_names' is not a list of strings"),
    ("history", {"loss": ["a"], "accuracy": [1], "val_loss": [1], "val_accuracy": [1]}, "'history' is not lists"),
    ("confusion_matrix", "[[1]]", "'confusion_matrix' is not a square table"),
    ("ten_worst", [["rank", 1]], "'ten_worst' holds a non-object"),
    ("test_set", ["first", "1,000"], "'test_set' is not a string"),
])
def test_a_malformed_optional_field_is_left_out_and_named(field, value, problem, tmp_path, capsys):
    write_record(tmp_path, fixture_record("ex2", "keras", "model7", **{field: value}))

    records = report_inputs.load_records(tmp_path / "results")

    kept = records.found[("ex2", "keras", "model7")]
    assert kept[field] is None and kept["test_accuracy"] == 0.9227
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and problem in warning, warning


@pytest.mark.parametrize("model, why", [("deep_lists", "nested too deeply"), ("top_list", "not a JSON object"),
                                        ("top_null", "not a JSON object"), ("empty", "unreadable"),
                                        ("not_utf8", "unreadable")])
def test_a_file_that_is_no_record_is_not_run(model, why, tmp_path, capsys):
    folder = tmp_path / "results" / "ex1" / "keras"
    folder.mkdir(parents=True)
    (folder / f"{model}.json").write_bytes(WHOLE_FILES[model])

    records = report_inputs.load_records(tmp_path / "results")

    assert records.unreadable == {("ex1", "keras", model): f"results/ex1/keras/{model}.json"}
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and why in warning, warning
