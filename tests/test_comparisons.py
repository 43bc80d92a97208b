"""The comparison figures (common.comparisons, figures.plot_comparison): each is drawn from the right records.

The records of the first tests are TEST FIXTURES (made-up histories, see tests/test_report.py); the last
ones read the committed records and figures.
"""
import pytest

from common import comparisons, figures, report_inputs
from tests.helpers import REPO
from tests.test_report import fixture_record, write_record


def curve(start: float, epochs: int) -> dict:
    """A made-up history whose every value is distinct per record: TEST FIXTURE."""
    return {"loss": [2 - start - 0.01 * i for i in range(epochs)],
            "accuracy": [start + 0.01 * i for i in range(epochs)],
            "val_loss": [2.5 - start - 0.02 * i for i in range(epochs)],
            "val_accuracy": [start + 0.02 * i for i in range(epochs)]}


RECORDS = {  # key -> (first validation accuracy, epochs, other fields)
    ("ex1", "keras", "model1"): (0.10, 5, {}),
    ("ex1", "keras", "lab3"): (0.20, 5, {}),
    ("ex1", "pytorch", "model1"): (0.30, 5, {}),
    ("ex2", "keras", "model7"): (0.40, 5, {}),
    ("ex2", "keras", "model7-bf16"): (0.45, 5, {"variant_of": "model7", "precision": "bf16"}),
    ("ex3", "keras", "model8"): (0.50, 5, {"augmentation": "flip, shift 0.1, rotation 10 deg, zoom 0.2"}),
    ("ex3", "keras", "model10"): (0.60, 40, {"augmentation": "flip, shift 0.1"}),
}


@pytest.fixture
def ctx(tmp_path):
    for (ex, fw, model), (start, epochs, extra) in RECORDS.items():
        write_record(tmp_path, fixture_record(ex, fw, model, epochs=epochs, history=curve(start, epochs), **extra))
    return report_inputs.context(tmp_path / "results", tmp_path, REPO)


def test_each_kind_compares_the_right_records(ctx):
    found = {c.name: c.keys for c in comparisons.every(ctx)}
    assert found == {
        "ex1_model1_keras_vs_pytorch_comparison": [("ex1", "keras", "model1"), ("ex1", "pytorch", "model1")],
        # model7 against every model of the report trained on its layers with augmentation (model9 has no record)
        "ex2_keras_model7_augmentation_comparison": [("ex2", "keras", "model7"), ("ex3", "keras", "model8"),
                                                     ("ex3", "keras", "model10")],
        "ex2_keras_model7_precision_comparison": [("ex2", "keras", "model7"), ("ex2", "keras", "model7-bf16")],
        "ex1_keras_lab3_vs_model1_comparison": [("ex1", "keras", "lab3"), ("ex1", "keras", "model1")],
        # the models of an exercise, in the report's order; the bf16 variant has its own figure
        "ex1_keras_models_comparison": [("ex1", "keras", "model1"), ("ex1", "keras", "lab3")],
        "ex3_keras_models_comparison": [("ex3", "keras", "model8"), ("ex3", "keras", "model10")],
    }
    assert all("comparison" in c.filename for c in comparisons.every(ctx))


def test_each_line_is_its_records_validation_history(ctx):
    for comparison in comparisons.every(ctx):
        for line in comparison.lines:
            history = ctx.record(line.key)["history"]
            assert list(line.val_accuracy) == history["val_accuracy"] and list(line.val_loss) == history["val_loss"]
            assert line.val_accuracy[-1] == history["val_accuracy"][-1]
            assert line.label.startswith(comparisons.title(line.key))
            assert f"test {ctx.record(line.key)['test_accuracy'] * 100:.2f}%" in line.label
    augmentation = {c.kind: c for c in comparisons.every(ctx)}["augmentation"]
    assert [line.label.split(": test")[0] for line in augmentation.lines] == [
        "Keras ex2 model7 (no augmentation)", "Keras ex3 model8 (flip, shift 0.1, rotation 10 deg, zoom 0.2)",
        "Keras ex3 model10 (flip, shift 0.1)"]


def drawn(monkeypatch, comparison, tmp_path):
    """The matplotlib figure plot_comparison builds for ``comparison``, caught before it is saved."""
    caught = {}
    monkeypatch.setattr(figures, "_save", lambda fig, path, metadata=None: caught.update(fig=fig, metadata=metadata))
    figures.plot_comparison(comparison.series(), comparison.title, tmp_path / "x.png", comment=comparison.comment)
    return caught


def test_the_figure_draws_exactly_those_lines(ctx, monkeypatch, tmp_path):
    for comparison in comparisons.every(ctx):
        caught = drawn(monkeypatch, comparison, tmp_path)
        accuracy_axes, loss_axes = caught["fig"].axes
        assert len(accuracy_axes.lines) == len(loss_axes.lines) == len(comparison.lines)
        for line, acc, loss in zip(comparison.lines, accuracy_axes.lines, loss_axes.lines):
            history = ctx.record(line.key)["history"]
            epochs = len(history["val_accuracy"])
            assert list(acc.get_xdata()) == list(range(1, epochs + 1)) == list(loss.get_xdata())
            assert acc.get_ydata()[-1] == pytest.approx(history["val_accuracy"][-1] * 100)  # drawn in percent
            assert list(loss.get_ydata()) == history["val_loss"]
            assert acc.get_label() == line.label and acc.get_color() == loss.get_color()
        legend = [text.get_text() for text in caught["fig"].legends[0].get_texts()]
        assert legend == [line.label for line in comparison.lines]
        assert accuracy_axes.get_xlabel() == loss_axes.get_xlabel() == "epoch"
        assert "validation accuracy" in accuracy_axes.get_ylabel() and "validation loss" in loss_axes.get_ylabel()
        assert caught["metadata"] == {"Software": None, "Comment": comparison.comment}


def test_figures_are_drawn_once_and_again_only_when_their_data_changes(tmp_path):
    for framework, start in (("keras", 0.1), ("pytorch", 0.3)):
        write_record(tmp_path, fixture_record("ex1", framework, "model1", epochs=5, history=curve(start, 5)))
    ctx = report_inputs.context(tmp_path / "results", tmp_path, REPO)
    path = comparisons.folder(tmp_path) / "ex1_model1_keras_vs_pytorch_comparison.png"

    assert comparisons.update(ctx) == [path]
    [comparison] = comparisons.every(ctx)
    assert comparisons.png_comment(path) == comparison.comment
    assert b"Matplotlib version" not in path.read_bytes()  # nothing that changes with the version, or the time
    before = path.read_bytes()
    assert comparisons.update(ctx) == [] and comparisons.update(ctx, check=True) == []
    assert comparisons.update(ctx, redraw=True) == [path] and path.read_bytes() == before  # same data, same bytes

    write_record(tmp_path, fixture_record("ex1", "pytorch", "model1", epochs=5, history=curve(0.35, 5)))
    changed = report_inputs.context(tmp_path / "results", tmp_path, REPO)
    assert comparisons.update(changed, check=True) == [path]


def test_an_update_limited_to_some_records_touches_only_their_figures(ctx):
    folder = comparisons.folder(ctx.out)
    limited = comparisons.update(ctx, check=True, keys={("ex3", "keras", "model10")})
    assert limited == [folder / "ex2_keras_model7_augmentation_comparison.png",
                       folder / "ex3_keras_models_comparison.png"]


# --- the committed figures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def committed():
    return report_inputs.context(REPO / "results", REPO, REPO)


def test_every_committed_comparison_figure_shows_the_committed_records(committed):
    made = comparisons.every(committed)
    assert {c.kind for c in made} == set(comparisons.KINDS)
    for comparison in made:
        path = comparisons.folder(REPO) / comparison.filename
        # The digest of its data: drawn from exactly these histories (python -m common.report --check says the same).
        assert comparisons.png_comment(path) == comparison.comment, f"{path}: run python -m common.report"
        for line in comparison.lines:
            assert line.val_accuracy[-1] == committed.record(line.key)["history"]["val_accuracy"][-1]
    pairs = [pair for pair in comparisons.KERAS_VS_PYTORCH if all(committed.record(key) for key in pair)]
    assert [c.keys for c in made if c.kind == "frameworks"] == [list(pair) for pair in pairs]
