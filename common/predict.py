"""Use a trained model: re-measure it on its record's test images, or classify image files.

    python keras/predict.py ex2/model7                    # the record's test images: its accuracy again
    python pytorch/predict.py ex1/model4 digit.png        # top 3 classes of an image file
    python keras/predict.py ex2/model7 a.jpg b.png --top 5

A model is named ``exN/<model>`` as the benchmark names them (``ex2/model7-bf16`` for a run with
``--precision bf16``). Its trained model is the file the exercise script saved beside its record
(models/<ex>/<framework>/<model>.keras or .pt under --out), or --model-file.

An image file (PNG, JPEG, ... any size and mode) is converted as the data set needs, and each line of
the output says which conversions its image went through:

- 16-bit (and 32-bit or floating-point) grey is scaled to 8 bits over its whole range, not clipped;
  palette, CMYK and other modes become RGB; of an animated image the first frame is used.
- Transparency is composited, not dropped. For MNIST, whose digits are light on a black ground, the
  transparent part becomes the ground and the drawing the digit, whatever the drawing's colour: a dark
  drawing is put on white (and then inverted, below), a light one on black. So a black digit on a
  transparent background becomes a white digit on black, as MNIST's are (dropping the alpha channel made
  it all black). For CIFAR-10 the transparent part becomes white, as image viewers show it.
- Colour becomes grey (MNIST: ITU-R 601 luma, as PIL's "L"), grey becomes RGB (CIFAR-10).
- The image is resized to 28x28 (MNIST) or 32x32 (CIFAR-10), bilinear, the aspect ratio not kept.
- MNIST: a mostly light image (a dark digit on white paper) is inverted.

An image over MAX_PIXELS pixels is too large to be a photo or a drawing (a decompression bomb, a scan at
an absurd resolution): refused in one line before it is decoded.

Re-measuring rebuilds the record's test images from the data (--data-dir, else as the script finds it)
with the record's --limit and --val-split, and compares the digest of those arrays with the record's
``data_sha256``: on other data it says so ("other data"), as the numbers then need not agree. A record
of any other shape than a record (not JSON, a list, a missing key, a value of the wrong type, nested too
deep) is one line naming what is wrong.

This module is framework-free; keras/predict.py and pytorch/predict.py pass it their framework, and the
framework's lab module is imported only once the options, the record and the images are good.
"""
from __future__ import annotations

import argparse
import inspect
import json
import warnings
from pathlib import Path

import numpy as np

from common import data as datasets
from common import evaluation, layout
from common.entry import run_command
from common.errors import UserError
from common.parser import Parser
from common.scripts import REPO_ROOT, SCRIPTS, load_script, read_script, script_path

VARIANTS = ("-bf16", "-fp16")
MAX_PIXELS = 50_000_000  # more than any camera's photo: larger is not an image to classify


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


# --- the model's name, its script, its builder ----------------------------------------------------------

def find_script(framework: str, name: str, root=REPO_ROOT) -> tuple:
    """(the script's ScriptInfo, model name, the name its outputs carry) for ``exN/model``, or one line saying
    what exists. Only ex1..ex4 name a script (``keras/lab3`` is not one: the lab modules are no exercise)."""
    exercise, _, output = name.partition("/")
    if exercise not in SCRIPTS or not output or "/" in output:
        raise UserError(f"{name}: name a model as exN/MODEL, e.g. ex2/model7 (exercises: {', '.join(SCRIPTS)})")
    info = read_script(script_path(exercise, framework, root))
    model = next((output[:-len(v)] for v in VARIANTS if output.endswith(v)), output)
    if model not in info.epochs:
        raise UserError(f"{name}: {framework}/{info.path.name} has no model {model}; "
                        f"its models: {', '.join(info.models)}")
    return info, model, output


def model_builder(module, model: str):
    """The function of the script ``module`` that builds ``model``: from its MODELS dict ({model: builder}, as
    its main() trains them), else the module-level function of the model's name."""
    table = getattr(module, "MODELS", None)
    build = table.get(model) if isinstance(table, dict) else getattr(module, model, None)
    if not callable(build):
        raise UserError(f"{Path(module.__file__).name}: no function builds {model} (expected MODELS[{model!r}] or "
                        f"a function {model}())")
    return build


def builder(info, model: str, args):
    """A call that builds ``model`` as the script does, for options ``args`` (ex4's builders take them)."""
    build = model_builder(load_script(info.path), model)
    required = [p for p in inspect.signature(build).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (lambda: build(args)) if required else build


# --- the record ---------------------------------------------------------------------------------------------

NUMBER = (int, float)
# key: (types, required, what it must be, in words)
RECORD_KEYS = {
    "model": (str, True, "a name"),
    "test_accuracy": (NUMBER, True, "a number"),
    "n_test": (int, True, "a whole number"),
    "batch_size": (int, True, "a whole number"),
    "framework": (str, False, "a name"),
    "settings": (dict, False, "an object"),
    "precision": (str, False, "fp32, bf16 or fp16"),
    "device": (str, False, "a text"),
    "seed": (int, False, "a whole number"),
    "limit": ((int, type(None)), False, "a whole number or null"),
    "val_split": (NUMBER, False, "a number"),
    "test_set": (str, False, "a text"),
    "data_sha256": ((str, type(None)), False, "a digest or null"),
}


def check_record(record, path) -> dict:
    """``record`` if it holds what predict uses, of the right types; else one line naming the first fault."""
    if not isinstance(record, dict):
        raise UserError(f"{path}: not a record (a JSON {type(record).__name__}, not an object)")
    for key, (types, required, what) in RECORD_KEYS.items():
        if key not in record:
            if required:
                raise UserError(f"{path}: not a complete record (it has no {key!r})")
            continue
        value = record[key]
        if not isinstance(value, types) or isinstance(value, bool):  # (a bool is an int to Python)
            raise UserError(f"{path}: its {key!r} is {type(value).__name__} {_shown(value)}, not {what}")
    if record.get("precision", "fp32") not in ("fp32", "bf16", "fp16"):
        raise UserError(f"{path}: its 'precision' is {_shown(record['precision'])}, not fp32, bf16 or fp16")
    if record["n_test"] < 1 or record["batch_size"] < 1 or not 0 <= record.get("val_split", 0.1) < 1 \
            or (record.get("limit") is not None and record["limit"] < 1):
        raise UserError(f"{path}: its n_test, batch_size, limit or val_split is out of range")
    return record


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"no record at {path}: the model has not been trained under this --out") from None
    except RecursionError:
        raise UserError(f"{path}: cannot be read (JSON nested too deep to be a record)") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UserError(f"{path}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from None
    return check_record(record, path)


def run_args(record: dict, framework: str, options) -> argparse.Namespace:
    """The options the model was trained with, as far as building it and predicting need them: the record's
    own settings (ex4's --weights, --freeze-backbone, --image-size), its precision, batch size and seed."""
    settings = record.get("settings") or {}
    args = argparse.Namespace(**{key: value for key, value in settings.items() if key.isidentifier()})
    if "weights" in settings:
        args.weights = "none"  # the trained weights replace whatever the backbone started from
    args.precision = record.get("precision", "fp32")  # as it trained and was measured
    # PyTorch trains in channels_last on CPUs and CUDA GPUs (the record's device says so): re-measured the same way.
    args.plain_layout = framework == "pytorch" and "channels_last" not in record.get("device", "")
    args.device, args.batch_size, args.seed = options.device, record["batch_size"], record.get("seed", 0)
    args.deterministic = False
    args.limit, args.val_split = record.get("limit"), record.get("val_split", 0.1)
    args.record_settings, args.reduced_notes = dict(settings), {}
    return args


# --- image files --------------------------------------------------------------------------------------------

def _grey_levels(image) -> tuple:
    """A 16-bit, 32-bit or floating-point grey image as 0..255 floats, scaled over its whole range; what was done."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode.startswith("I;16"):
        return values * (255 / 65535), "16-bit grey scaled to 8 bits"
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if image.mode == "F" and low >= 0 and high <= 1:
        return values * 255, "floating-point grey in [0, 1] scaled to 8 bits"
    if image.mode == "I" and low >= 0 and high <= 65535:
        scale = 255 if high <= 255 else 65535
        return values * (255 / scale), f"{8 if scale == 255 else 16}-bit grey (stored as 32-bit integers)" + \
            ("" if scale == 255 else " scaled to 8 bits")
    if high == low:
        return np.zeros_like(values), f"{image.mode} grey of one value ({low:g}) made black"
    return (values - low) * (255 / (high - low)), f"{image.mode} grey scaled from its range {low:g}..{high:g} to 8 bits"


def _decode(image) -> tuple:
    """(0..255 float pixels (H, W, C), alpha 0..1 (H, W) or None, the conversions said)."""
    said = []
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
        said.append(f"first of {image.n_frames} frames")
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        values, what = _grey_levels(image)
        return values[..., None], None, [*said, what]
    if mode == "1":
        said.append("black-and-white")
        image, mode = image.convert("L"), "L"
    if mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
        said.append("palette colours")
    elif mode in ("LA", "La", "RGBA", "RGBa"):
        image = image.convert("LA" if mode.startswith("L") else "RGBA")
    elif mode not in ("L", "RGB"):
        said.append(f"{mode} to RGB")
        image = image.convert("RGB")
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if image.mode in ("LA", "RGBA"):
        return pixels[..., :-1], pixels[..., -1] / 255, said
    return pixels, None, said


def _composite(pixels, alpha, dataset: str) -> tuple:
    """Transparent parts onto a background (see the module's docstring); (pixels, what was done)."""
    if alpha is None:
        return pixels, None
    if alpha.min() >= 1:
        return pixels, "alpha channel opaque throughout: dropped"
    if dataset == "mnist":
        tone = pixels.mean(axis=-1)
        drawing = float((tone * alpha).sum() / alpha.sum()) if alpha.sum() > 0 else 0.0
        background, why = (255.0, "the drawing is dark") if drawing < 128 else (0.0, "the drawing is light")
        what = f"transparency composited on {'white' if background else 'black'} ({why})"
    else:
        background, what = 255.0, "transparency composited on white"
    if alpha.max() <= 0:
        what += "; the image is fully transparent"
    return pixels * alpha[..., None] + background * (1 - alpha[..., None]), what


def load_image(path, dataset: str) -> tuple:
    """(an image file as the data set's uint8 (H, W, C) array, the conversions it went through, in words),
    or one line saying why it is not an image to classify."""
    from PIL import Image, UnidentifiedImageError

    h, w, c = datasets.SPECS[dataset]["image"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # PIL's warning: over 89 MP
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise UserError(f"{path}: {width}x{height} pixels ({width * height / 1e6:,.0f} megapixels) is "
                                    f"too large to be a photo or a drawing to classify (the limit is "
                                    f"{MAX_PIXELS / 1e6:.0f} megapixels): scale it down first")
                pixels, alpha, said = _decode(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UserError(f"{path}: too large to be a photo or a drawing to classify (PIL: {str(exc).split('. ')[0]});"
                        f" scale it down first") from None
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: a folder, not an image file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"{path}: not an image file PIL can read ({type(exc).__name__})") from None
    pixels, composited = _composite(pixels, alpha, dataset)
    if composited:
        said.append(composited)
    if c == 1 and pixels.shape[-1] == 3:
        pixels = pixels @ np.array([0.299, 0.587, 0.114])[:, None]
        said.append("colour to grey")
    elif c == 3 and pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
        said.append("grey to RGB")
    image = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if (width, height) != (w, h):
        channels = image[..., 0] if c == 1 else image
        image = np.asarray(Image.fromarray(channels).resize((w, h), Image.BILINEAR), dtype=np.uint8)
        said.append(f"resized from {width}x{height} to {w}x{h}"
                    + ("" if width * h == height * w else " (aspect ratio not kept)"))
    image = image.reshape(h, w, c)
    if dataset == "mnist" and image.mean() > 127:
        image = 255 - image  # a dark digit on light paper: MNIST's are light on dark
        said.append("inverted (mostly light; MNIST's digits are light on dark)")
    return image, said


# --- the command --------------------------------------------------------------------------------------------

def main(framework: str, load_lab, argv=None) -> int:
    """``load_lab()``: the framework's lab module (keras_lab, torch_lab), imported by the framework's predict.py."""
    def body() -> int:
        options = build_parser(framework).parse_args(argv)
        if not 1 <= options.top <= 10:
            raise UserError(f"--top must be between 1 and 10, got {options.top}")
        info, model_name, output = find_script(framework, options.model)
        script = f"python {framework}/{info.path.name} --models {model_name}" + \
            (f" --precision {output.rsplit('-', 1)[1]}" if output != model_name else "")
        path = Path(options.model_file) if options.model_file else \
            layout.trained_model(options.out, info.exercise, framework, output)
        if not path.is_file():
            raise UserError(f"no saved model at {path}: train it with {script}"
                            + (f" --out {options.out}" if Path(options.out).resolve() != REPO_ROOT else ""))
        record_path = layout.record(options.out, info.exercise, framework, output)
        record = read_record(record_path)
        if record.get("framework", framework) != framework:
            raise UserError(f"{record_path}: a record of {record['framework']}, not {framework}")
        images = [load_image(image, info.dataset) for image in options.images]  # bad files fail before loading

        backend = load_lab()  # the framework loads only now, once the options, the record and the images are good
        args = run_args(record, framework, options)
        backend.setup(args)
        model = backend.load_model(path, builder(info, model_name, args))
        if framework == "pytorch":
            backend.prepare_inference(model, args)  # the memory layout it trained in
        if not images:
            return remeasure(backend, model, record, info.dataset, options)
        probs = backend.predict(model, np.stack([pixels for pixels, _ in images]), args.batch_size)
        class_names = list(datasets.SPECS[info.dataset]["classes"])
        for image, (_, said), p in zip(options.images, images, probs):
            best = np.argsort(-p)[:options.top]
            print(f"{image} ({'; '.join(said) or 'used as it is'}): "
                  + ", ".join(f"{class_names[i]} {p[i]:.4f}" for i in best))
        return 0

    return run_command(body, "nothing was written")


def remeasure(backend, model, record: dict, dataset: str, options) -> int:
    """The saved model on exactly the test images its record was measured on, printed as the record prints it;
    on other data than the record's (its digest differs), said so."""
    from common.experiment import make_split  # the run's own split: the same arrays, the same digest

    ds = datasets.load(dataset, options.data_dir)
    split = make_split(ds, record.get("limit"), record.get("val_split", 0.1))
    x, y = split.x_test, split.y_test
    recorded = record.get("data_sha256")
    other = bool(recorded) and split.digest != recorded
    where = f"other data: the record was measured on data of digest {recorded[:15]}..., {ds.source} gives " \
            f"{split.digest[:15]}..." if other else ""
    if len(x) != record["n_test"]:
        raise UserError(f"the data in {ds.source} has {len(x):,} test images, the record was measured on "
                        f"{record['n_test']:,}" + (f" ({where})" if other else "")
                        + ": give the data it was trained on (--data-dir)")
    probs = backend.predict(model, x, record["batch_size"])
    accuracy, loss = evaluation.accuracy(probs, y), evaluation.cross_entropy(probs, y)
    same = f"{accuracy:.2%}" == f"{record['test_accuracy']:.2%}"
    if other:
        why = f" ({where}; the numbers need not agree: give the data it was trained on with --data-dir)"
    elif not recorded:
        why = "" if same else (" (the record does not state its data's digest, so the data cannot be checked; "
                               "other data, or another machine or library version, can change the answers)")
    else:
        why = "" if same else " (the same data: another machine or library version can flip a few images)"
    print(f"{record['model']}: test accuracy {accuracy:.2%}, loss {loss:.4f} on {len(x):,} test images "
          f"({record.get('test_set', 'the test set')}); the record says {record['test_accuracy']:.2%}{why}")
    return 0
