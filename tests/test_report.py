"""The report's pages (common.report): README.md's generated blocks and REPORT.md, on hand-made records.

Every record written here is a TEST FIXTURE (device "test-fixture", command
"test fixture"), with made-up numbers; none comes from a real run.
"""
import contextlib
import csv
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from common import analysis, markdown, report
from tests.helpers import PYTHON, REPO, assert_one_line_error, read_only

README = """# A lab

Text before the markers, kept byte for byte: | a | table | and trailing spaces   
<!-- summary:begin -->
(old summary)
<!-- summary:end -->

## Comparisons

<!-- comparisons:begin -->
(old figures)
<!-- comparisons:end -->

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
    """``python -m common.report`` on the lab, run in this process (a subprocess per call would spend most
    of the tests' time starting Python and matplotlib): its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = report.main(["--readme", str(lab / "README.md"), "--results", str(lab / "results"), *map(str, extra)])
    return subprocess.CompletedProcess("common.report", code, out.getvalue(), err.getvalue())


def run_cli(lab: Path, *extra) -> subprocess.CompletedProcess:
    """The same, as a user runs it: a process of its own."""
    return subprocess.run([PYTHON, "-m", "common.report", "--readme", str(lab / "README.md"),
                           "--results", str(lab / "results"), *map(str, extra)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def report_page(lab: Path) -> str:
    return (lab / "REPORT.md").read_text()


def subsection(text: str, exercise: str, framework: str) -> str:
    """The part of the report under '### <exercise title> (<Framework>)'."""
    title = f"### {report.EXERCISES[exercise][1]} ({report.FRAMEWORKS[framework]})"
    return text.split(title, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]


def comparison(text: str, heading: str) -> str:
    """The part of the report's comparisons under '### <heading>'."""
    return text.split("\n## Comparisons")[1].split(f"### {heading}")[1].split("\n### ")[0]


def model_section(text: str, heading: str) -> str:
    return text.split(f"#### {heading}\n")[1].split("\n#### ")[0].split("\n### ")[0]


def row(text: str, first_cell: str) -> str:
    rows = [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")
            or line.startswith(f"| {first_cell} †")]
    assert rows, f"no row for {first_cell}"
    return rows[0]


def test_rebuild_writes_every_output_and_is_idempotent(lab):
    first = rebuild(lab)
    assert first.returncode == 0, first.stderr
    text = (lab / "README.md").read_text()
    before, after = README.split("<!-- summary:begin -->")[0], README.split("<!-- comparisons:end -->")[1]
    assert text.startswith(before + "<!-- summary:begin -->\n") and text.endswith("<!-- comparisons:end -->" + after)
    assert "(old summary)" not in text and "(old figures)" not in text
    assert text.split("## Comparisons")[0].count("\n## Comparisons") == 0  # the hand-written heading kept once
    figure = lab / "plots" / "comparisons" / "ex1_model1_keras_vs_pytorch_comparison.png"
    outputs = [lab / "REPORT.md", lab / "results" / "summary.csv", figure]
    assert all(path.is_file() for path in outputs)
    assert "plots/comparisons/ex1_model1_keras_vs_pytorch_comparison.png" in text

    snapshot = {path: path.read_bytes() for path in outputs + [lab / "README.md"]}
    second = rebuild(lab)
    assert second.returncode == 0 and "already up to date" in second.stdout, second.stdout
    assert {path: path.read_bytes() for path in snapshot} == snapshot
    assert rebuild(lab, "--check").returncode == 0


@pytest.mark.parametrize("spoil", ["report", "csv", "figure deleted", "history changed", "stale figure"])
def test_check_finds_each_output_out_of_date_and_writes_nothing(lab, spoil):
    assert rebuild(lab).returncode == 0
    figures = lab / "plots" / "comparisons"
    expected = {"report": lab / "REPORT.md", "csv": lab / "results" / "summary.csv",
                "figure deleted": figures / "ex1_model1_keras_vs_pytorch_comparison.png",
                "history changed": figures / "ex1_model1_keras_vs_pytorch_comparison.png",
                "stale figure": figures / "ex9_gone_comparison.png"}[spoil]
    if spoil in ("report", "csv"):
        expected.write_text(expected.read_text().replace("92.27", "99.99"))
    elif spoil == "figure deleted":
        expected.unlink()
    elif spoil == "history changed":  # the same accuracy and loss: only the curves, so only the figure, differ
        history = {"loss": [1.0, 0.9], "accuracy": [0.5, 0.6], "val_loss": [1.0, 0.8], "val_accuracy": [0.5, 0.7]}
        write_record(lab, fixture_record("ex1", "pytorch", "model1", history=history))
    else:
        expected.write_bytes(b"a figure of a comparison the records no longer make")
    before = {path: path.read_bytes() for path in lab.rglob("*") if path.is_file()}

    check = rebuild(lab, "--check")

    assert check.returncode == 1 and "out of date" in check.stderr and str(expected) in check.stderr, check.stderr
    assert {path: path.read_bytes() for path in lab.rglob("*") if path.is_file()} == before  # nothing written
    assert rebuild(lab).returncode == 0 and rebuild(lab, "--check").returncode == 0
    assert expected.exists() == (spoil != "stale figure")  # a figure no comparison makes is deleted


def test_missing_markers_is_one_error_line_and_nothing_written(lab):
    (lab / "README.md").write_text("# no markers here\n")
    result = run_cli(lab)
    assert_one_line_error(result, "holds none of the generated blocks' markers", "summary:begin")
    assert (lab / "README.md").read_text() == "# no markers here\n"
    assert not (lab / "REPORT.md").exists() and not (lab / "plots" / "comparisons").exists()


def test_a_readme_holding_the_results_block_gets_the_whole_report(lab):
    """A scratch README (the campaign's --readme) may hold the report itself between the results markers."""
    (lab / "README.md").write_text(f"# Scratch\n\n{report.BEGIN}\n{report.END}\n\nafter\n")
    assert rebuild(lab).returncode == 0
    text = (lab / "README.md").read_text()
    assert text.startswith("# Scratch\n\n") and text.endswith(f"{report.END}\n\nafter\n")
    assert "92.27% [91.73, 92.78]" in row(subsection(text, "ex1", "pytorch"), "model1")


def test_malformed_and_incomplete_records_warn_and_show_not_run(lab):
    result = rebuild(lab)
    assert result.returncode == 0, result.stderr
    assert "model2.json" in result.stderr and "unreadable" in result.stderr
    assert "model3.json" in result.stderr and "missing field 'test_accuracy'" in result.stderr
    keras_ex1 = subsection(report_page(lab), "ex1", "keras")
    assert "not run (record unreadable)" in row(keras_ex1, "model2")
    assert "not run (record unreadable)" in row(keras_ex1, "model3")
    assert "87.65%" in row(keras_ex1, "model1")  # the good record beside them is kept
    assert "not run" in row(keras_ex1, "model4")  # no record at all


def test_every_model_of_the_report_has_a_row_in_its_section(lab):
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    with open(REPO / "common" / "reference_results.csv", newline="") as f:
        reference = list(csv.DictReader(f))
    assert len(reference) == 28
    for ref in reference:
        part = subsection(text, ref["exercise"], ref["framework"])
        assert row(part, ref["model"]), ref
    # In the report's order within a section (the script's EPOCHS order): model1 before model2 ...
    pytorch_ex1 = subsection(text, "ex1", "pytorch")
    assert pytorch_ex1.index("| model1 ") < pytorch_ex1.index("| old_model1 ") < pytorch_ex1.index("| model4 ")


def test_reference_numbers_appear_labelled_as_the_reports(lab):
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    assert "Report's accuracy" in text and "Report's loss" in text
    with open(REPO / "common" / "reference_results.csv", newline="") as f:
        for ref in csv.DictReader(f):
            if ref["test_accuracy_pct"]:
                part = subsection(text, ref["exercise"], ref["framework"])
                assert f"{float(ref['test_accuracy_pct']):.2f}%" in row(part.split("Against the report")[1],
                                                                      ref["model"])
    # The fixture's 92.27% against the report's 91.74% (PyTorch ex1 model1).
    against = subsection(text, "ex1", "pytorch").split("Against the report")[1]
    # 9,227 of 10,000: Wilson [91.73%, 92.78%]; minus the report's fixed 91.74%: [-0.01, +1.04], so within the noise.
    assert ("| model1 | 0.4321 | 0.2996 | +0.1325 | 92.27% [91.73, 92.78] | 91.74% | +0.53 pts [-0.01, +1.04] | yes "
            "| 12.34s | 92.76s |") in against


def test_reduced_settings_are_marked_in_every_row_they_affect(lab):
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    keras_ex2 = subsection(text, "ex2", "keras")
    model7 = row(keras_ex2, "model7")
    assert model7.startswith("| model7 †1 |") and "2 / 20" in model7 and "45,000 / 1,000" in model7
    assert "- †1: 2 of the report's 20 epochs; 1,000 of 10,000 test images" in keras_ex2
    assert row(keras_ex2.split("Against the report")[1], "model7").startswith("| model7 †1 |")
    # ... and in the comparisons that use it, with the note under that table.
    augmentation = comparison(text, "With and without data augmentation")
    assert "Keras ex2 model7 †1" in augmentation
    assert "- †1: 2 of the report's 20 epochs; 1,000 of 10,000 test images" in augmentation
    assert "first 1,000 of the 10,000 official test images (1 record)" in text
    # A run at the report's settings carries no marker.
    assert row(subsection(text, "ex1", "pytorch"), "model1").startswith("| model1 |")


def test_comparisons_pair_the_reports_models(lab):
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    frameworks = comparison(text, "Keras against PyTorch, same architecture")
    # 8,765 and 9,227 of 10,000: PyTorch - Keras = +4.62 pts, Newcombe's interval [+3.79, +5.45].
    assert ("| Keras ex1 model1 | PyTorch ex1 model1 | 216,650 / 216,650 | 20 / 20 | 87.65% [86.99, 88.28] / 91.96% "
            "| 92.27% [91.73, 92.78] / 91.74% | +4.62 pts [+3.79, +5.45] | **no** | -0.22 pts |") in frameworks
    assert "| Keras ex2 model7 †1 | PyTorch ex3 PraisyNet |" in frameworks
    # Under the table, the figure of the pair whose two records have a history.
    link = "plots/comparisons/ex1_model1_keras_vs_pytorch_comparison.png"
    assert f'<a href="{link}"><img src="{link}" width="800"' in frameworks
    augmentation = comparison(text, "With and without data augmentation")
    for pair in ("Keras ex2 model7 †1 | Keras ex3 model8", "Keras ex2 model7 †1 | Keras ex3 model10",
                 "PyTorch ex3 PraisyNet | PyTorch ex3 PraisyNetDA", "Keras ex4 MyResNet | Keras ex4 MyResNetDA",
                 "PyTorch ex4 MyResNet | PyTorch ex4 MyResNetDA"):
        assert pair in augmentation
    assert "<img" not in augmentation  # no pair there has two records
    lab3 = comparison(text, "The previous lab's best dense model")
    assert ("| Keras ex1 lab3 | Keras ex1 model1 | — / 20 | not run / 97.59% | 87.65% [86.99, 88.28] / 91.96% |"
            in lab3)
    assert ("| Keras ex2 lab3 | Keras ex2 model1 | — / — | not run / 44.50% | not run / 33.35% | — | — "
            "| -11.15 pts |") in lab3


def test_epoch_times_come_from_the_records_history(lab):
    history = {"loss": [1.0] * 4, "accuracy": [0.5] * 4, "val_loss": [1.0] * 4, "val_accuracy": [0.5] * 4}
    write_record(lab, fixture_record("ex1", "pytorch", "model2", epochs=4,
                                     history={**history, "seconds": [30.4, 11.6, 12.2, 12.9]}))
    write_record(lab, fixture_record("ex1", "pytorch", "model3", history={**history, "seconds": [1.0, "slow"]}))
    assert rebuild(lab).returncode == 0
    pytorch_ex1 = subsection(report_page(lab), "ex1", "pytorch")
    assert "Per epoch: median (range)" in pytorch_ex1
    assert "| 12.34s | 13 s (12-30 s) | test-fixture |" in row(pytorch_ex1, "model2")  # median of four: 12.55
    assert "| 12.34s | — | test-fixture |" in row(pytorch_ex1, "model1")  # no "seconds" in its history
    assert "| 12.34s | — | test-fixture |" in row(pytorch_ex1, "model3")  # not all numbers: no cell, no crash


def test_figures_and_ten_worst_link_relative_paths(lab):
    assert rebuild(lab).returncode == 0
    pytorch_ex1 = subsection(report_page(lab), "ex1", "pytorch")
    model1 = model_section(pytorch_ex1, "PyTorch ex1 model1")
    link = "plots/ex1/pytorch/model1_loss.png"
    assert f'<a href="{link}"><img src="{link}" height="240" /></a>' in model1  # linked to its full size
    assert "figure missing" in model1  # its confusion matrix
    worst = pytorch_ex1.split("<details>")[1].split("</details>")[0]
    assert "<summary>Ten worst classified test images: PyTorch ex1 model1" in worst
    assert '| 1 | 1001 | 7 | 3 | 0.0010 | <img src="ten_worst/ex1/pytorch/model1/1.png" /> |' in worst
    assert worst.index("| 10 | 1010 |") < worst.index("| 1 | 1001 |")  # the report lists rank 10 first
    assert "| 2 | 1002 | 7 | 3 | 0.0020 | image missing |" in worst


def test_links_are_relative_to_the_report_page_wherever_it_is(lab):
    elsewhere = lab / "pages" / "REPORT.md"
    elsewhere.parent.mkdir()
    assert rebuild(lab, "--report", elsewhere).returncode == 0
    text = elsewhere.read_text()
    assert 'src="../plots/ex1/pytorch/model1_loss.png"' in text and "[README.md](../README.md)" in text
    assert "[model1](pages/REPORT.md#pytorch-ex1-model1)" in (lab / "README.md").read_text()


def test_figure_paths_follow_the_layout_the_runs_write(tmp_path):
    from common import layout
    ctx = report.Context(tmp_path / "results", tmp_path, REPO, {}, report.Records())
    paths = layout.model_outputs(tmp_path, "ex2", "keras", "model7")
    for kind in ("loss", "accuracy", "confusion_matrix"):
        expected = tmp_path / "plots/ex2/keras" / f"model7_{kind}.png"
        assert ctx.figure("ex2", "keras", "model7", kind) == paths[kind] == expected
    assert ctx.thumbnail("ex2", "keras", "model7", 3) == paths["ten_worst"] / "3.png"
    assert ctx.out / "results" / "ex2" / "keras" / "model7.json" == paths["record"]


def test_record_at_the_wrong_path_or_with_bad_values_is_not_run(lab):
    write_record(lab, fixture_record("ex1", "keras", "model5"), name="model4")  # content says model5
    write_record(lab, fixture_record("ex1", "pytorch", "model2", test_accuracy=91.5))  # a percentage
    result = rebuild(lab)
    assert result.returncode == 0
    assert "model4.json: says it is ex1/keras/model5" in result.stderr
    assert "model2.json: test_accuracy 91.5 is not a fraction" in result.stderr
    text = report_page(lab)
    assert "not run (record unreadable)" in row(subsection(text, "ex1", "keras"), "model4")
    assert "not run (record unreadable)" in row(subsection(text, "ex1", "pytorch"), "model2")


def test_scripts_not_written_yet_fall_back_to_the_reference(lab, tmp_path_factory):
    empty_root = tmp_path_factory.mktemp("no_scripts")
    result = rebuild(lab, "--root", empty_root)
    assert result.returncode == 0, result.stderr
    keras_ex4 = subsection(report_page(lab), "ex4", "keras")
    assert "`keras/ex4_resnet.py` is not written yet" in keras_ex4
    assert "ResNet50 ImageNet weights fine-tuned" in row(keras_ex4, "MyResNet")
    assert "not run" in row(keras_ex4, "MyResNetDA")


def test_model_order_merges_the_reference_into_the_scripts_order():
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


def test_a_script_that_cannot_be_read_is_a_warning(lab, tmp_path_factory):
    root = tmp_path_factory.mktemp("broken_scripts")
    (root / "keras").mkdir()
    (root / "keras" / "ex2_cifar10.py").write_text("EPOCHS = {  # being written\n")
    result = rebuild(lab, "--root", root)
    assert result.returncode == 0, result.stderr
    assert "ex2_cifar10.py: cannot read the exercise script (SyntaxError" in result.stderr
    assert "its models come from the reference data" in result.stderr
    keras_ex2 = subsection(report_page(lab), "ex2", "keras")
    for model in ("model1", "model5", "model6", "lab3"):
        assert "not run" in row(keras_ex2, model)
    assert "61.23%" in row(keras_ex2, "model7")  # its record is shown all the same


# --- the analysis (common.analysis): hand-computed cases --------------------------------------------------

def test_wilson_interval_against_hand_computed_values():
    # 750 of 1,000: p = 0.75, z = 1.96: centre 0.749043, half-width 0.026803.
    low, high = analysis.wilson_interval(750, 1000)
    assert (round(low, 4), round(high, 4)) == (0.7222, 0.7758)
    assert analysis.wilson_interval(0, 10)[0] == pytest.approx(0, abs=1e-12)  # stays in [0, 1]
    assert analysis.wilson_interval(10, 10)[1] == pytest.approx(1, abs=1e-12)
    assert analysis.wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)  # z^2 / (n + z^2)


def test_wilson_interval_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for successes, n in ((750, 1000), (9217, 10000), (3, 1000), (1000, 1000)):
        expected = stats.binomtest(successes, n).proportion_ci(method="wilson")
        assert analysis.wilson_interval(successes, n) == pytest.approx((expected.low, expected.high), abs=1e-9)


@pytest.mark.parametrize("a, b, expected", [
    ((48, 80), (56, 70), (0.2, 0.0524, 0.3339)),  # Newcombe (1998), table II, example (a), method 10
    ((3, 10), (9, 10), (0.6, 0.1705, 0.8090)),    # example (b)
])
def test_newcombe_interval_matches_the_published_examples(a, b, expected):
    difference, low, high = analysis.newcombe_difference(*a, *b)
    assert (round(difference, 4), round(low, 4), round(high, 4)) == expected


def test_difference_from_a_fixed_value_shifts_the_runs_interval():
    difference, low, high = analysis.difference_from_fixed(750, 1000, 0.76)
    assert difference == pytest.approx(-0.01)
    assert (round(low, 4), round(high, 4)) == (-0.0378, 0.0158)  # [0.7222, 0.7758] - 0.76
    assert analysis.within_noise(low, high)
    assert not analysis.within_noise(*analysis.difference_from_fixed(750, 1000, 0.70)[1:])
    assert analysis.difference_text(difference, low, high) == "-1.00 pts [-3.78, +1.58]"


def test_top_confusions_are_the_largest_off_diagonal_cells_in_the_reports_form():
    names = [str(i) for i in range(4)]
    matrix = [[90, 2, 0, 8],   # row: actual, column: predicted
              [0, 95, 5, 0],
              [1, 5, 80, 14],
              [42, 0, 3, 60]]
    top = analysis.top_confusions(matrix, names, count=4)
    assert top == [("3", "0", 42), ("2", "3", 14), ("0", "3", 8), ("1", "2", 5)]  # 2 as 1 (5) ties, comes later
    assert [analysis.confusion_phrase(*t) for t in top[:1]] == ["3 as 0 (42)"]
    assert analysis.top_confusions([[5, 0], [0, 5]], ["a", "b"]) == []  # nothing misclassified


def worst(*pairs) -> list:
    """Ten-worst rows from (actual, predicted) pairs, rank 1 first."""
    return [{"rank": i, "index": 100 + i, "actual": a, "predicted": p, "prob_actual": 0.01}
            for i, (a, p) in enumerate(pairs, start=1)]


def test_recurring_confusions_count_both_directions_as_the_report_does():
    names = [str(i) for i in range(10)]
    rows = worst(("4", "9"), ("9", "4"), ("5", "3"), ("4", "9"), ("3", "5"), ("2", "7"), ("8", "1"))
    recurring = analysis.recurring_confusions(rows, names)
    assert [analysis.pair_phrase(*r) for r in recurring] == ["4 and 9 (3)", "3 and 5 (2)"]
    top = [("9", "4", 42), ("7", "9", 30)]
    assert analysis.also_most_confused(recurring, top) == [("4", "9", 3)]
    other = [{**row, "index": index} for row, index in zip(worst(("0", "6"), ("9", "4")), (7, 102))]
    assert analysis.shared_images(rows[:2], {"model2": other, "model3": worst()}) == [(102, ["model2"])]


def history(val_loss, loss=None, accuracy=None, val_accuracy=None) -> dict:
    n = len(val_loss)
    return {"val_loss": val_loss, "loss": loss or [1.0 - 0.05 * i for i in range(n)],
            "accuracy": accuracy or [0.5 + 0.02 * i for i in range(n)],
            "val_accuracy": val_accuracy or [0.5 + 0.01 * i for i in range(n)]}


def test_a_history_that_overfits_from_a_known_epoch():
    # Validation loss lowest at epoch 5, rising after it; training loss falling throughout.
    result = analysis.fit(history([5, 4, 3, 2, 1, 2, 3, 4, 5, 6]))
    assert result.verdict == "overfits" and result.onset == 6
    assert (result.lowest_val_loss_epoch, result.smoothed_low_epoch) == (5, 5)
    # Running median of 5: 2 at epochs 4-6, ends at median(4, 5, 6) = 5: 150% higher.
    assert (result.smoothed_low, result.smoothed_end) == (2, 5)
    assert "**overfits from epoch 6**" in analysis.fit_phrase(result) and "150% higher" in analysis.fit_phrase(result)
    assert result.best_val_accuracy_epoch == 10


def test_a_single_spike_does_not_make_an_overfit():
    spiky = [1.0, 0.9, 0.8, 0.7, 0.65, 280.0, 0.6, 0.55, 0.5, 0.45]  # shaped like Keras ex4 MyResNet's epoch 15
    result = analysis.fit(history(spiky))
    assert result.verdict == "underfits" and result.still_improving  # lowest at the last epoch


def test_underfits_when_training_accuracy_stays_below_validation():
    flat = history([1.0] * 8, accuracy=[0.80] * 8, val_accuracy=[0.90] * 8)
    result = analysis.fit(flat, n_val=1000)
    assert result.verdict == "underfits" and result.below_validation and not result.still_improving
    assert "training accuracy 80.0% against validation 90.0%" in analysis.fit_phrase(result)
    assert analysis.fit(flat).verdict == "neither"  # without the validation size, no interval to compare with


def test_neither_and_too_short():
    steady = history([1.0, 0.8, 0.7, 0.7, 0.71, 0.7, 0.7, 0.7, 0.7, 0.71],
                     accuracy=[0.9] * 10, val_accuracy=[0.9] * 10)
    assert analysis.fit(steady, n_val=1000).verdict == "neither"
    short = analysis.fit(history([1.0, 0.9]))
    assert short.verdict == "too short" and "too few epochs (2)" in analysis.fit_phrase(short)


def test_time_outside_epochs():
    assert analysis.time_outside_epochs({"train_time_s": 134.0, "history": {"seconds": [50.0, 50.0]}}) == 0.34
    assert analysis.time_outside_epochs({"train_time_s": 1.0, "history": {"loss": [1.0]}}) is None


# --- the front page's blocks, and the report's analysis -------------------------------------------------

FULL_README = """# A lab

Intro.

<!-- contents:begin -->
<!-- contents:end -->

## Running

<!-- run-table:begin -->
<!-- run-table:end -->

```bash
# a comment in a code block, not a heading
```

<!-- summary:begin -->
<!-- summary:end -->

## Comparisons

<!-- comparisons:begin -->
<!-- comparisons:end -->

## After
"""

MATRIX = [[0] * 10 for _ in range(10)]  # TEST FIXTURE: 42 nines read as fours, 30 sevens as nines, 7 threes as fives
MATRIX[9][4], MATRIX[7][9], MATRIX[3][5] = 42, 30, 7
for i in range(10):
    MATRIX[i][i] = 900


@pytest.fixture
def full_lab(lab):
    (lab / "README.md").write_text(FULL_README)
    n = 10
    write_record(lab, fixture_record(
        "ex1", "pytorch", "model3", epochs=n, train_time_s=13.4, confusion_matrix=MATRIX,
        history={**history([5, 4, 3, 2, 1, 2, 3, 4, 5, 6]), "seconds": [1.0] * n},
        ten_worst=worst(("4", "9"), ("9", "4"), ("5", "3"), ("4", "9"), ("3", "5"), ("2", "7"), ("8", "1"),
                        ("0", "6"), ("6", "0"), ("1", "7"))))
    return lab


def test_each_model_has_the_reports_analysis(full_lab):
    assert rebuild(full_lab).returncode == 0
    model3 = model_section(report_page(full_lab), "PyTorch ex1 model3")
    assert "most confused (actual as predicted): 9 as 4 (42), 7 as 9 (30), 3 as 5 (7)" in model3
    assert "confusions that recur among them: 4 and 9 (3), 0 and 6 (2), 3 and 5 (2)" in model3
    assert "4 and 9, 3 and 5 are also among the most confused pairs" in model3
    assert "**overfits from epoch 6**" in model3 and "lowest validation loss 1 at epoch 5 (of 10)" in model3
    # 9,227 of 10,000 for both model1 and model3 (the fixture's accuracy): the same, within the noise.
    assert "against model1, the most accurate: +0.00 pts [-0.74, +0.74], within the noise" in model3
    # Wilson [91.73%, 92.78%] (9,227 of 10,000) minus the report's fixed 98.55%.
    assert "the report's 98.55%: -6.28 pts [-6.82, -5.77], beyond the noise" in model3


def test_front_page_blocks_link_to_the_report(full_lab):
    assert rebuild(full_lab).returncode == 0
    readme = (full_lab / "README.md").read_text()
    summary = readme.split("<!-- summary:begin -->")[1].split("<!-- summary:end -->")[0]
    assert "Wilson score interval" in summary and "Newcombe's hybrid score" in summary and "fixed values" in summary
    assert ("| PyTorch | ex1 MNIST | [model1](REPORT.md#pytorch-ex1-model1) | 10,000 | 92.27% [91.73, 92.78] | 91.74% "
            "| +0.53 pts [-0.01, +1.04] | yes |") in summary
    assert "| Keras | ex2 CIFAR-10 | [model7](REPORT.md#keras-ex2-model7) †1 | 1,000 |" in summary
    assert "| Keras | ex1 MNIST | model4 | — | not run | 98.13% | — | — |" in summary

    run_table = readme.split("<!-- run-table:begin -->")[1].split("<!-- run-table:end -->")[0]
    # PyTorch ex1: model1's 12.34 s; model3 is left out, at 10 of its report_epochs' 20.
    assert "`python pytorch/ex1_mnist.py`: 12 s (1 of 6 models)" in run_table  # model3 ran 10 of 20 epochs
    assert "test-fixture" in run_table

    figures = readme.split("<!-- comparisons:begin -->")[1].split("<!-- comparisons:end -->")[0]
    assert "[REPORT.md](REPORT.md#keras-against-pytorch-same-architecture)" in figures
    assert 'src="plots/comparisons/ex1_model1_keras_vs_pytorch_comparison.png"' in figures
    # PyTorch ex1 model1 and model3 both have a history: the exercise's figure, folded away.
    assert figures.index("<details>") < figures.index("ex1_pytorch_models_comparison.png") < figures.index("</details>")

    contents = readme.split("<!-- contents:begin -->")[1].split("<!-- contents:end -->")[0]
    assert "- [Results at a glance](#results-at-a-glance)" in contents
    assert "  - [Keras against PyTorch, same architecture](#keras-against-pytorch-same-architecture)" in contents
    assert "a comment in a code block" not in contents

    assert rebuild(full_lab).returncode == 0 and (full_lab / "README.md").read_text() == readme  # idempotent
    assert rebuild(full_lab, "--check").returncode == 0


def test_every_link_of_the_front_page_to_the_report_has_its_anchor(full_lab):
    assert rebuild(full_lab).returncode == 0
    anchors = set(headings_anchors(report_page(full_lab)))
    links = re.findall(r"\]\(REPORT\.md#([^)]+)\)", (full_lab / "README.md").read_text())
    assert len(links) > 5 and set(links) <= anchors, set(links) - anchors


def headings_anchors(text: str) -> list:
    """Every heading's anchor, as GitHub makes them (markdown.contents' links)."""
    return [line.split("](#", 1)[1].rstrip(")") for line in markdown.contents(text, levels=range(1, 7))]


def test_report_page_lists_its_contents(full_lab):
    assert rebuild(full_lab).returncode == 0
    text = report_page(full_lab)
    contents = text.split("**Contents**")[1].split("<!--")[0]
    assert "  - [1. Convolutional networks on MNIST (PyTorch)](#1-convolutional-networks-on-mnist-pytorch)" in contents
    assert "- [Comparisons](#comparisons)" in contents
    assert "#### " not in contents and "pytorch-ex1-model1)" not in contents  # models are linked from the summary
    assert "[model3](#pytorch-ex1-model3)" in text  # the report's own summary links within the page


def test_anchors_follow_githubs_rule_with_numbered_repeats():
    text = "## Keras\n\n### PyTorch\n\n## Keras\n\n```\n## Keras\n```\n\n#### The lab's best (section 1.3)\n"
    assert markdown.contents(text) == [
        "- [Keras](#keras)", "  - [PyTorch](#pytorch)", "- [Keras](#keras-1)",
        "    - [The lab's best (section 1.3)](#the-labs-best-section-13)"]


def test_training_time_is_defined_and_its_overhead_named(full_lab):
    assert rebuild(full_lab).returncode == 0
    text = report_page(full_lab)
    assert "*Training time* is a record's `train_time_s`" in text
    # 13.4 s against 10 epochs of 1 s: 34% outside the epochs.
    assert "over 1% of the epochs' sum in 1 of 4 records: PyTorch ex1 model3 34%." in text


def test_comparisons_say_what_they_compare(lab):
    for model, epochs, augmentation in (("model9", 20, "flip, shift 0.1"), ("model10", 100, "flip, shift 0.1")):
        write_record(lab, fixture_record("ex3", "keras", model, epochs=epochs, augmentation=augmentation,
                                         n_test=1000, test_accuracy=0.7))
    write_record(lab, fixture_record("ex2", "keras", "model7", n_test=1000, test_accuracy=0.6))
    write_record(lab, fixture_record("ex4", "keras", "MyResNet", trainable_params=23_555_082))
    write_record(lab, fixture_record("ex4", "pytorch", "MyResNet", trainable_params=23_528_522))
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    augmentation = comparison(text, "With and without data augmentation")
    assert "| Keras ex2 model7 | Keras ex3 model10 | flip, shift 0.1 | 20 / 100 |" in augmentation
    assert ("- Keras ex3 model10 is trained for 100 epochs, Keras ex2 model7 for 20: this row compares them as they "
            "are, as the report does (100 against 20). At 20 epochs each, Keras ex2 model7 against Keras ex3 model9 "
            "(the same network and augmentation): +10.00 pts") in augmentation
    frameworks = comparison(text, "Keras against PyTorch, same architecture")
    assert "Keras ex4 MyResNet and PyTorch ex4 MyResNet differ by 26,560 trainable parameters: the biases" in frameworks


def test_the_report_counts_records_that_are_not_the_reports_models(lab):
    write_record(lab, fixture_record("ex1", "pytorch", "lab3", note="dense stand-in (test fixture)"))
    assert rebuild(lab).returncode == 0
    text = report_page(lab)
    assert "4 records in all: 1 of a model the report does not have: PyTorch ex1 lab3 (dense stand-in" in text
    assert "The report gives no accuracy for PyTorch ex1 old_model1: softmax layer" in text


def test_results_without_records_are_refused_and_the_readme_kept(lab, tmp_path_factory):
    """A mistyped --results used to rewrite the README as '0 of the report's 28 models have a record'."""
    before = (lab / "README.md").read_text()
    empty = tmp_path_factory.mktemp("empty")
    for results in (empty, empty / "no-such-folder"):
        result = run_cli(lab, "--results", results)
        assert_one_line_error(result, f"{results}: no records there", "README.md left as it was")
        assert (lab / "README.md").read_text() == before and not (lab / "REPORT.md").exists()


def test_outputs_that_cannot_be_written_are_one_line(lab):
    for bad in ("model2", "model3"):  # the fixture's bad records, whose warnings are not the point here
        (lab / "results" / "ex1" / "keras" / f"{bad}.json").unlink()
    before = (lab / "README.md").read_text()
    with read_only(lab):
        result = run_cli(lab)
    assert_one_line_error(result, "cannot be written (Read-only file system)", "nothing was replaced")
    assert result.returncode == 2
    assert (lab / "README.md").read_text() == before
