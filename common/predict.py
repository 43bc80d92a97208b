"""Use a trained model: re-measure it on its record's test images, or classify image files.

    python keras/predict.py ex2/model7                    # the record's test images: its accuracy again
    python pytorch/predict.py ex1/model4 digit.png        # top 3 classes of an image file
    python keras/predict.py ex2/model7 a.jpg b.png --top 5

A model is named ``exN/<model>`` as the benchmark names them (``ex2/model7-bf16`` for a run with
``--precision bf16``). Its trained model is the file the exercise script saved beside its record
(models/<ex>/<framework>/<model>.keras or .pt under --out), or --model-file. An image file (PNG or
JPEG, any size, grayscale or colour) is converted as the data set needs: resized to 28x28 grayscale
(MNIST) or 32x32 RGB (CIFAR-10), scaled to [0, 1]; MNIST's digits are light on a dark ground, so a
mostly light image (a dark digit on white paper) is inverted first.

This module is framework-free; keras/predict.py and pytorch/predict.py pass it their backend.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np

from common import data as datasets
from common import evaluation, layout
from common.entry import run_command
from common.errors import UserError
from common.parser import Parser
from common.scripts import REPO_ROOT, load_script

BACKENDS = {"keras": "keras_lab", "pytorch": "torch_lab"}
VARIANTS = ("-bf16", "-fp16")


def build_parser(framework: str) -> Parser:
    parser = Parser(prog=f"python {framework}/predict.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", metavar="exN/MODEL", help="e.g. ex2/model7, ex1/model4, ex4/MyResNet")
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="PNG or JPEG files to classify (none: re-measure the record's test images)")
    parser.add_argument("--top", type=int, default=3, metavar="K", help="classes shown per image")
    parser.add_argument("--out", default=str(REPO_ROOT), metavar="DIR",
                        help="the root the exercise script wrote results/ and models/ under (default: this repository)")
    parser.add_argument("--model-file", default=None, metavar="PATH",
                        help="the trained model (default: models/<ex>/<framework>/<model>.keras or .pt under --out)")
    parser.add_argument("--data-dir", default=None,
                        help="folder holding the data (else $LAB_DATA_DIR, then data/ in the repository)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="auto: the framework's accelerator if there is one, else the CPU")
    return parser


def find_exercise(framework: str, name: str):
    """(exercise, model name, the name its outputs carry) for ``exN/model``, or one line saying what exists."""
    exercise_id, _, output = name.partition("/")
    scripts = sorted((REPO_ROOT / framework).glob(f"{exercise_id}_*.py")) if exercise_id else []
    if not output or len(scripts) != 1:
        raise UserError(f"{name}: name a model as exN/MODEL, e.g. ex2/model7 (exercises: ex1, ex2, ex3, ex4)")
    exercise = load_script(scripts[0]).EXERCISE
    model = next((output[:-len(v)] for v in VARIANTS if output.endswith(v)), output)
    if model not in exercise.models:
        raise UserError(f"{name}: {framework}/{scripts[0].name} has no model {model}; "
                        f"its models: {', '.join(exercise.models)}")
    return exercise, model, output


def read_record(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no record at {path}: the model has not been trained under this --out") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot be read ({exc})") from None


def run_args(exercise, record: dict, options):
    """The options the model was trained with, as far as building and predicting need them."""
    from common.cli import build_parser as exercise_parser

    args = exercise_parser(exercise).parse_args([])
    settings = record.get("settings") or {}
    for key, value in settings.items():
        setattr(args, key, value)
    if hasattr(args, "weights"):
        args.weights = "none"  # the trained weights replace whatever the backbone started from
    args.precision = record.get("precision", "fp32")  # as it trained and was measured
    args.mixed_precision = "channels_last" in record.get("device", "") or record["framework"] == "keras"
    args.device, args.batch_size, args.seed = options.device, record.get("batch_size", 128), record.get("seed", 0)
    return args


def load_image(path: str, dataset: str) -> np.ndarray:
    """An image file as the data set's uint8 (H, W, C) array, or one line saying why it is not one."""
    from PIL import Image, UnidentifiedImageError

    h, w, c = datasets.SPECS[dataset]["image"]
    try:
        with Image.open(path) as image:
            image = image.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8).reshape(h, w, c)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError(f"{path}: not an image file PIL can read ({type(exc).__name__})") from None
    if dataset == "mnist" and pixels.mean() > 127:
        pixels = 255 - pixels  # a dark digit on light paper: MNIST's are light on dark
    return pixels


def main(framework: str, argv=None) -> int:
    def body() -> int:
        options = build_parser(framework).parse_args(argv)
        if not 1 <= options.top <= 10:
            raise UserError(f"--top must be between 1 and 10, got {options.top}")
        exercise, model_name, output = find_exercise(framework, options.model)
        script = f"python {framework}/{exercise.script} --models {model_name}" + \
            (f" --precision {output.rsplit('-', 1)[1]}" if output != model_name else "")
        path = Path(options.model_file) if options.model_file else \
            layout.trained_model(options.out, exercise.id, framework, output)
        if not path.is_file():
            raise UserError(f"no saved model at {path}: train it with {script}"
                            + (f" --out {options.out}" if Path(options.out).resolve() != REPO_ROOT else ""))
        record = read_record(layout.record(options.out, exercise.id, framework, output))
        images = [load_image(image, exercise.dataset) for image in options.images]  # bad files fail before loading

        backend = importlib.import_module(BACKENDS[framework])
        args = run_args(exercise, record, options)
        backend.setup(args)
        model = backend.load_model(path, exercise.builder(model_name, args))
        backend.prepare_inference(model, args)
        if not images:
            return remeasure(backend, model, exercise, record, options)
        probs = backend.predict(model, np.stack(images), args.batch_size)
        class_names = list(datasets.SPECS[exercise.dataset]["classes"])
        for image, p in zip(options.images, probs):
            best = np.argsort(-p)[:options.top]
            print(f"{image}: " + ", ".join(f"{class_names[i]} {p[i]:.4f}" for i in best))
        return 0

    return run_command(body, "nothing was written")


def remeasure(backend, model, exercise, record: dict, options) -> int:
    """The saved model on exactly the test images its record was measured on, printed as the record prints it."""
    ds = datasets.load(exercise.dataset, options.data_dir)
    limit = record.get("limit")
    x, y = (ds.x_test[:limit], ds.y_test[:limit]) if limit else (ds.x_test, ds.y_test)
    if len(x) != record["n_test"]:
        raise UserError(f"the data in {ds.source} has {len(x):,} test images, the record was measured on "
                        f"{record['n_test']:,}: give the data it was trained on (--data-dir)")
    probs = backend.predict(model, x, record.get("batch_size", 128))
    accuracy, loss = evaluation.accuracy(probs, y), evaluation.cross_entropy(probs, y)
    same = f"{accuracy:.2%}" == f"{record['test_accuracy']:.2%}"
    print(f"{record['model']}: test accuracy {accuracy:.2%}, loss {loss:.4f} on {len(x):,} test images "
          f"({record.get('test_set', 'the test set')}); the record says {record['test_accuracy']:.2%}"
          + ("" if same else " (another machine or library version can flip a few images)"))
    return 0
