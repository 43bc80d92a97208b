"""Where every output lives under an output root (``--out``, by default the repository).

    plots/<ex>/<framework>/<model>_{loss,accuracy,confusion_matrix}.png   (and the exercise's own figures)
    ten_worst/<ex>/<framework>/<model>/{1..10}.png, ten_worst.csv
    results/<ex>/<framework>/<model>.json                                 one record per run
    models/<ex>/<framework>/<model>.keras | .pt                          the trained model (git-ignored)
    checkpoints/<ex>/<framework>/<model>/                                 resume state (git-ignored), and
                                                                          the lock of the run writing the model

The one place these paths are spelled: the runs, the report, the campaign and the tests ask here.
"""
from __future__ import annotations

from pathlib import Path

FIGURE_KINDS = ("loss", "accuracy", "confusion_matrix")


def results_dir(out) -> Path:
    return Path(out) / "results"


def record(out, exercise: str, framework: str, model: str) -> Path:
    return results_dir(out) / exercise / framework / f"{model}.json"


def plots_dir(out, exercise: str, framework: str) -> Path:
    return Path(out) / "plots" / exercise / framework


def figure(out, exercise: str, framework: str, model: str, kind: str) -> Path:
    return plots_dir(out, exercise, framework) / f"{model}_{kind}.png"


def ten_worst_dir(out, exercise: str, framework: str, model: str) -> Path:
    return Path(out) / "ten_worst" / exercise / framework / model


def checkpoint_dir(out, exercise: str, framework: str, model: str) -> Path:
    return Path(out) / "checkpoints" / exercise / framework / model


MODEL_SUFFIX = {"keras": ".keras", "pytorch": ".pt"}  # Keras' own format; a PyTorch state_dict


def trained_model(out, exercise: str, framework: str, model: str) -> Path:
    return Path(out) / "models" / exercise / framework / f"{model}{MODEL_SUFFIX[framework]}"


def lock(out, exercise: str, framework: str, model: str) -> Path:
    return checkpoint_dir(out, exercise, framework, model) / "lock"


def model_outputs(out, exercise: str, framework: str, model: str) -> dict:
    """Everything one model's run writes besides its checkpoint, by kind."""
    paths = {kind: figure(out, exercise, framework, model, kind) for kind in FIGURE_KINDS}
    paths["ten_worst"] = ten_worst_dir(out, exercise, framework, model)
    paths["record"] = record(out, exercise, framework, model)
    return paths
