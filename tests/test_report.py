"""The README's results section (common.report): framework-free, on hand-made records.

Every record written here is a TEST FIXTURE (device "test-fixture", command
"test fixture"), with made-up numbers; none comes from a real run.
"""
import csv
import json
import subprocess
from pathlib import Path

import pytest

from common import report
from tests.helpers import PYTHON, REPO

README = """# A lab

Text before the markers, kept byte for byte: | a | table | and trailing spaces   
<!-- results:begin -->
(old content)
<!-- results:end -->

## After

Text after the markers.
"""


def fixture_record(exercise, framework, model, **changes) -> dict:
    """A complete record as common.experiment.make_record writes it. TEST FIXTURE: made-up numbers."""
    record = {
        "exercise": exercise, "framework": framework, "model": model,
        "architecture": "Conv 32/3 - Flatten - Dense 10 softmax (test fixture)",
        "augmentation": None, "note": None, "reduced": [],
        "created": "2000-01-01T00:00:00+00:00", "command": "test fixture",
        "versions": {"python": "3", "numpy": "2"}, "device": "test-fixture",
        "seed": 0, "epochs": 20, "report_epochs": 20, "batch_size": 128,
        "optimizer": {"name": "Adam", "lr": 0.001}, "settings": {}, "data": "test fixture",
        "n_train": 54000, "n_val": 6000, "validation": "last 6,000 training images (0.1 of the training set)",
        "n_test": 10000, "test_set": "all 10,000 official test images", "limit": None,
        "trainable_params": 216650, "train_time_s": 12.34, "test_loss": 0.4321, "test_accuracy": 0.9227,
        "history": {"loss": [1.0], "accuracy": [0.5], "val_loss": [1.0], "val_accuracy": [0.5]},
        "class_names": [str(i) for i in range(10)], "confusion_matrix": [[0] * 10 for _ in range(10)],
        "ten_worst": [{"rank": r, "index": 1000 + r, "predicted": "7", "actual": "3", "prob_actual": 0.001 * r}
                      for r in range(1, 11)],
    }
    record.update(changes)
    return record


def write_record(out: Path, record: dict, name=None) -> Path:
    path = out / "results" / record["exercise"] / record["framework"] / f"{name or record['model']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return path


@pytest.fixture
def lab(tmp_path):
    """A temporary output root with a README and hand-made records (TEST FIXTURES)."""
    (tmp_path / "README.md").write_text(README)
    write_record(tmp_path, fixture_record("ex1", "pytorch", "model1"))
    write_record(tmp_path, fixture_record("ex1", "keras", "model1", test_accuracy=0.8765, test_loss=0.5555))
    write_record(tmp_path, fixture_record(
        "ex2", "keras", "model7", test_accuracy=0.6123, test_loss=1.1111, epochs=2, n_train=45000, n_test=1000,
        test_set="first 1,000 of the 10,000 official test images",
        reduced=["2 of the report's 20 epochs", "1,000 of 10,000 test images"]))
    malformed = tmp_path / "results" / "ex1" / "keras" / "model2.json"
    malformed.write_text('{"exercise": "ex1", "framework": "keras", "model": "mod')  # cut short
    incomplete = fixture_record("ex1", "keras", "model3")
    del incomplete["test_accuracy"]
    write_record(tmp_path, incomplete)
    plots = tmp_path / "plots" / "ex1" / "pytorch"
    plots.mkdir(parents=True)
    for kind in ("loss", "accuracy"):  # the confusion matrix is left missing on purpose
        (plots / f"model1_{kind}.png").write_bytes(b"test fixture, not a PNG")
    thumbs = tmp_path / "ten_worst" / "ex1" / "pytorch" / "model1"
    thumbs.mkdir(parents=True)
    (thumbs / "1.png").write_bytes(b"test fixture")
    return tmp_path


def rebuild(lab: Path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "common.report", "--readme", str(lab / "README.md"),
                           "--results", str(lab / "results"), *extra],
                          cwd=REPO, capture_output=True, text=True, timeout=60)


def section(text: str) -> str:
    return text.split(report.BEGIN, 1)[1].split(report.END, 1)[0]


def subsection(text: str, exercise: str, framework: str) -> str:
    """The part of the generated text under '#### <exercise title> (<Framework>)'."""
    title = f"#### {report.EXERCISES[exercise][1]} ({report.FRAMEWORKS[framework]})"
    return text.split(title, 1)[1].split("\n#### ", 1)[0]


def row(text: str, first_cell: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")
            or line.startswith(f"| {first_cell} †")]
    assert rows, f"no row for {first_cell}"
    return rows[0]


def test_rebuild_is_idempotent_and_keeps_the_text_outside_the_markers(lab):
    first = rebuild(lab)
    assert first.returncode == 0, first.stderr
    text = (lab / "README.md").read_text()
    before, after = README.split(report.BEGIN)[0], README.split(report.END)[1]
    assert text.startswith(before + report.BEGIN + "\n") and text.endswith(report.END + after)
    assert "(old content)" not in text

    second = rebuild(lab)
    assert second.returncode == 0 and "already up to date" in second.stdout
    assert (lab / "README.md").read_text() == text
    assert rebuild(lab, "--check").returncode == 0

    (lab / "README.md").write_text(text.replace("92.27%", "99.99%"))
    check = rebuild(lab, "--check")
    assert check.returncode == 1 and "out of date" in check.stderr
    assert "99.99%" in (lab / "README.md").read_text()  # --check writes nothing


def test_missing_markers_is_one_error_line_and_nothing_written(lab):
    (lab / "README.md").write_text("# no markers here\n")
    result = rebuild(lab)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "results:begin" in lines[0], result.stderr
    assert (lab / "README.md").read_text() == "# no markers here\n"


def test_malformed_and_incomplete_records_warn_and_show_not_run(lab):
    result = rebuild(lab)
    assert result.returncode == 0, result.stderr
    assert "model2.json" in result.stderr and "unreadable" in result.stderr
    assert "model3.json" in result.stderr and "missing field 'test_accuracy'" in result.stderr
    keras_ex1 = subsection((lab / "README.md").read_text(), "ex1", "keras")
    assert "not run (record unreadable)" in row(keras_ex1, "model2")
    assert "not run (record unreadable)" in row(keras_ex1, "model3")
    assert "87.65%" in row(keras_ex1, "model1")  # the good record beside them is kept
    assert "not run" in row(keras_ex1, "model4")  # no record at all


def test_every_model_of_the_report_has_a_row_in_its_section(lab):
    assert rebuild(lab).returncode == 0
    text = section((lab / "README.md").read_text())
    with open(REPO / "common" / "reference_results.csv", newline="") as f:
        reference = list(csv.DictReader(f))
    assert len(reference) == 28
    for ref in reference:
        part = subsection(text, ref["exercise"], ref["framework"])
        assert row(part, ref["model"]), ref
    # In the report's order within a section (the script's registry order): model1 before model2 ...
    pytorch_ex1 = subsection(text, "ex1", "pytorch")
    assert pytorch_ex1.index("| model1 ") < pytorch_ex1.index("| old_model1 ") < pytorch_ex1.index("| model4 ")


def test_reference_numbers_appear_labelled_as_the_reports(lab):
    assert rebuild(lab).returncode == 0
    text = section((lab / "README.md").read_text())
    assert "Report's accuracy" in text and "Report's loss" in text
    with open(REPO / "common" / "reference_results.csv", newline="") as f:
        for ref in csv.DictReader(f):
            if ref["test_accuracy_pct"]:
                part = subsection(text, ref["exercise"], ref["framework"])
                assert f"{float(ref['test_accuracy_pct']):.2f}%" in row(part.split("Against the report")[1],
                                                                      ref["model"])
    # The fixture's 92.27% against the report's 91.74% (PyTorch ex1 model1).
    against = subsection(text, "ex1", "pytorch").split("Against the report")[1]
    assert "| model1 | 0.4321 | 0.2996 | +0.1325 | 92.27% | 91.74% | +0.53 pts | 12.34s | 92.76s |" in against


def test_reduced_settings_are_marked_in_every_row_they_affect(lab):
    assert rebuild(lab).returncode == 0
    text = section((lab / "README.md").read_text())
    keras_ex2 = subsection(text, "ex2", "keras")
    model7 = row(keras_ex2, "model7")
    assert model7.startswith("| model7 †1 |") and "2 / 20" in model7 and "45,000 / 1,000" in model7
    assert "- †1: 2 of the report's 20 epochs; 1,000 of 10,000 test images" in keras_ex2
    assert row(keras_ex2.split("Against the report")[1], "model7").startswith("| model7 †1 |")
    # ... and in the comparisons that use it, with the note under that table.
    comparisons = text.split("### Comparisons")[1]
    augmentation = comparisons.split("#### With and without data augmentation")[1].split("####")[0]
    assert "Keras ex2 model7 †1" in augmentation
    assert "- †1: 2 of the report's 20 epochs; 1,000 of 10,000 test images" in augmentation
    assert "first 1,000 of the 10,000 official test images (1 record)" in text
    # A run at the report's settings carries no marker.
    assert row(subsection(text, "ex1", "pytorch"), "model1").startswith("| model1 |")


def test_comparisons_pair_the_reports_models(lab):
    assert rebuild(lab).returncode == 0
    comparisons = section((lab / "README.md").read_text()).split("### Comparisons")[1]
    frameworks = comparisons.split("#### Keras against PyTorch")[1].split("####")[0]
    assert "| Keras ex1 model1 | PyTorch ex1 model1 | 216,650 / 216,650 | 87.65% / 91.96% | 92.27% / 91.74% |" \
        in frameworks
    assert "| Keras ex2 model7 †1 | PyTorch ex3 PraisyNet |" in frameworks
    augmentation = comparisons.split("#### With and without data augmentation")[1].split("####")[0]
    for pair in ("Keras ex2 model7 †1 | Keras ex3 model8", "Keras ex2 model7 †1 | Keras ex3 model10",
                 "PyTorch ex3 PraisyNet | PyTorch ex3 PraisyNetDA", "Keras ex4 MyResNet | Keras ex4 MyResNetDA",
                 "PyTorch ex4 MyResNet | PyTorch ex4 MyResNetDA"):
        assert pair in augmentation
    lab3 = comparisons.split("#### The previous lab's best dense model")[1]
    assert "| Keras ex1 lab3 | Keras ex1 model1 | not run / 97.59% | 87.65% / 91.96% |" in lab3
    assert "| Keras ex2 lab3 | Keras ex2 model1 | not run / 44.50% | not run / 33.35% | — / -11.15 pts |" in lab3


def test_epoch_times_come_from_the_records_history(lab):
    history = {"loss": [1.0] * 4, "accuracy": [0.5] * 4, "val_loss": [1.0] * 4, "val_accuracy": [0.5] * 4}
    write_record(lab, fixture_record("ex1", "pytorch", "model2", epochs=4,
                                     history={**history, "seconds": [30.4, 11.6, 12.2, 12.9]}))
    write_record(lab, fixture_record("ex1", "pytorch", "model3", history={**history, "seconds": [1.0, "slow"]}))
    assert rebuild(lab).returncode == 0
    pytorch_ex1 = subsection(section((lab / "README.md").read_text()), "ex1", "pytorch")
    assert "Per epoch: median (range)" in pytorch_ex1
    assert "| 12.34s | 13 s (12-30 s) | test-fixture |" in row(pytorch_ex1, "model2")  # median of four: 12.55
    assert "| 12.34s | — | test-fixture |" in row(pytorch_ex1, "model1")  # no "seconds" in its history
    assert "| 12.34s | — | test-fixture |" in row(pytorch_ex1, "model3")  # not all numbers: no cell, no crash


def test_figures_and_ten_worst_link_relative_paths(lab):
    assert rebuild(lab).returncode == 0
    pytorch_ex1 = subsection(section((lab / "README.md").read_text()), "ex1", "pytorch")
    assert '<img src="plots/ex1/pytorch/model1_loss.png" height="150" />' in pytorch_ex1
    assert "figure missing" in row(pytorch_ex1.split("Loss plot")[1], "model1")  # its confusion matrix
    worst = pytorch_ex1.split("<details>")[1].split("</details>")[0]
    assert "<summary>Ten worst classified test images: PyTorch ex1 model1" in worst
    assert '| 1 | 1001 | 7 | 3 | 0.0010 | <img src="ten_worst/ex1/pytorch/model1/1.png" /> |' in worst
    assert worst.index("| 10 | 1010 |") < worst.index("| 1 | 1001 |")  # the report lists rank 10 first
    assert "| 2 | 1002 | 7 | 3 | 0.0020 | image missing |" in worst


def test_figure_paths_follow_the_layout_the_runs_write(tmp_path):
    from common import layout
    ctx = report.Context(tmp_path / "results", tmp_path, REPO, {}, report.Records())
    paths = layout.model_outputs(tmp_path, "ex2", "keras", "model7")
    for kind in ("loss", "accuracy", "confusion_matrix"):
        assert ctx.figure("ex2", "keras", "model7", kind) == paths[kind] == tmp_path / "plots/ex2/keras" / f"model7_{kind}.png"
    assert ctx.thumbnail("ex2", "keras", "model7", 3) == paths["ten_worst"] / "3.png"
    assert ctx.out / "results" / "ex2" / "keras" / "model7.json" == paths["record"]


def test_record_at_the_wrong_path_or_with_bad_values_is_not_run(lab):
    write_record(lab, fixture_record("ex1", "keras", "model5"), name="model4")  # content says model5
    write_record(lab, fixture_record("ex1", "pytorch", "model2", test_accuracy=91.5))  # a percentage
    result = rebuild(lab)
    assert result.returncode == 0
    assert "model4.json: says it is ex1/keras/model5" in result.stderr
    assert "model2.json: test_accuracy 91.5 is not a fraction" in result.stderr
    text = section((lab / "README.md").read_text())
    assert "not run (record unreadable)" in row(subsection(text, "ex1", "keras"), "model4")
    assert "not run (record unreadable)" in row(subsection(text, "ex1", "pytorch"), "model2")


def test_scripts_not_written_yet_fall_back_to_the_reference(lab, tmp_path_factory):
    empty_root = tmp_path_factory.mktemp("no_scripts")
    result = rebuild(lab, "--root", str(empty_root))
    assert result.returncode == 0, result.stderr
    text = section((lab / "README.md").read_text())
    keras_ex4 = subsection(text, "ex4", "keras")
    assert "`keras/ex4_resnet.py` is not written yet" in keras_ex4
    assert "ResNet50 ImageNet weights fine-tuned" in row(keras_ex4, "MyResNet")
    assert "not run" in row(keras_ex4, "MyResNetDA")


def test_model_order_merges_the_reference_into_the_registry():
    assert report.model_order(["lab3", "model1", "model2"], ["model1", "model2", "lab3"], []) == \
        ["model1", "model2", "lab3"]
    assert report.model_order(["model1", "old_model1", "model2"], ["model1", "model2", "extra"], ["zz", "aa"]) == \
        ["model1", "old_model1", "model2", "extra", "aa", "zz"]
    assert report.model_order(["a", "b"], None, ["c"]) == ["a", "b", "c"]


def test_the_report_imports_no_framework():
    code = ("import sys; from common import report, campaign; report.render('results', '.', '.'); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'tensorflow', 'keras')); "
            "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([PYTHON, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr



def test_a_script_that_cannot_be_imported_is_a_warning(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("broken_scripts")
    (root / "keras").mkdir()
    (root / "keras" / "ex2_cifar10.py").write_text("MODELS = {  # being written\n")
    result = rebuild(lab, "--root", str(root))
    assert result.returncode == 0, result.stderr
    assert "ex2_cifar10.py: cannot be imported (SyntaxError" in result.stderr
    keras_ex2 = subsection(section((lab / "README.md").read_text()), "ex2", "keras")
    for model in ("model1", "model5", "model6", "lab3"):
        assert "not run" in row(keras_ex2, model)
    assert "61.23%" in row(keras_ex2, "model7")  # its record is shown all the same
