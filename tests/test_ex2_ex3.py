"""Exercises 2 and 3 (CIFAR-10, data augmentation), both frameworks, from a framework-free process.

The scripts run as subprocesses on tiny synthetic data (each script imports its
framework; the in-process checks of the augmentation figures are in
tests/keras and tests/torch).
"""
import pytest

from tests.helpers import expected_files, read_record, run_script
from tests.parameter_counts import MODEL7 as MODEL7_PARAMS
from tests.parameter_counts import PARAMS

CIFAR10_SCRIPTS = [path for path in PARAMS if "/ex2" in path or "/ex3" in path]


def list_output(script) -> dict:
    """--list as {model: (params, the rest of the line)}."""
    result = run_script(script, "--list")
    assert result.returncode == 0, result.stderr
    rows = [line.split(maxsplit=2) for line in result.stdout.splitlines()[1:]]
    return {name: (int(params.replace(",", "")), rest) for name, params, rest in rows}


@pytest.mark.parametrize("script", CIFAR10_SCRIPTS)
def test_list_shows_every_model_with_the_reports_parameter_count(script):
    listed = list_output(script)
    assert {name: params for name, (params, _) in listed.items()} == PARAMS[script]


def test_keras_model7_and_pytorch_praisynet_have_equal_parameters():
    keras_model7 = list_output("keras/ex2_cifar10.py")["model7"]
    praisynet = list_output("pytorch/ex3_augmentation.py")["PraisyNet"]
    assert keras_model7[0] == praisynet[0] == MODEL7_PARAMS
    assert keras_model7[1].split("  [")[0] == praisynet[1].split("  [")[0]  # the same layers, too


def test_epochs_and_augmentations_follow_the_report():
    listed = {**list_output("keras/ex3_augmentation.py"), **list_output("pytorch/ex3_augmentation.py")}
    assert "[20 epochs]" in listed["model8"][1] and "[20 epochs]" in listed["model9"][1]
    assert "[100 epochs]" in listed["model10"][1] and "[100 epochs]" in listed["PraisyNetDA"][1]
    assert "[20 epochs]" in listed["PraisyNet"][1] and "+ augmentation" not in listed["PraisyNet"][1]
    assert "augmentation (flip, shift 0.1, rotation 10 deg, zoom 0.2)" in listed["model8"][1]
    assert "augmentation (flip, shift 0.1)" in listed["model9"][1] and "augmentation (flip, shift 0.1)" in listed["model10"][1]
    assert "augmentation (flip, rotation 10 deg, scale 0.2-1.2, shear 10 deg)" in listed["PraisyNetDA"][1]


# script, models run, {model: expected augmentation in the record}, extra figures expected
END_TO_END = [
    ("keras/ex2_cifar10.py", {"model6": None}, []),
    ("pytorch/ex2_cifar10.py", {"model5": None}, []),
    ("keras/ex3_augmentation.py", {"model8": "flip, shift 0.1, rotation 10 deg, zoom 0.2",
                                   "model10": "flip, shift 0.1"},
     ["dataset_og.png", "model8_dataset_augmented.png", "model9_dataset_augmented.png"]),
    ("pytorch/ex3_augmentation.py", {"PraisyNetDA": "flip, rotation 10 deg, scale 0.2-1.2, shear 10 deg"},
     ["dataset_augmented.png"]),
]


@pytest.mark.parametrize("script, models, figures", END_TO_END, ids=[row[0] for row in END_TO_END])
def test_end_to_end_on_tiny_data(script, models, figures, tiny_data, tmp_path):
    framework, name = script.split("/")
    exercise = name[:3]
    result = run_script(script, "--models", *models, "--limit", "200", "--epochs", "1", "--out", tmp_path,
                        data_dir=tiny_data)
    assert result.returncode == 0, result.stderr
    for model, augmentation in models.items():
        for path in expected_files(tmp_path, exercise, framework, model):
            assert path.exists() and path.stat().st_size > 0, path
        record = read_record(tmp_path, exercise, framework, model)
        assert (record["exercise"], record["framework"], record["model"]) == (exercise, framework, model)
        assert record["n_test"] == 100 and record["n_train"] == 180
        assert record["trainable_params"] == PARAMS[script][model]
        assert record["augmentation"] == augmentation
        assert record["class_names"][:2] == ["Plane", "Car"]
        assert record["epochs"] == 1 and f"1 of the report's {record['report_epochs']} epochs" in record["reduced"]
    plots = tmp_path / "plots" / exercise / framework
    model_plots = {f"{model}_{kind}.png" for model in models for kind in ("loss", "accuracy", "confusion_matrix")}
    assert {p.name for p in plots.iterdir()} == model_plots | set(figures)
    for figure in figures:
        assert (plots / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure
    assert not list(tmp_path.rglob("*.tmp")), "temporary files left behind"
