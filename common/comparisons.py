"""The comparisons the report makes, and their figures: which records are set against which, and the
validation curves drawn from their histories into ``plots/comparisons/<name>_comparison.png``.

Five kinds, each a table in REPORT.md and figures in both pages:

- the models of each exercise (one figure per exercise and framework);
- the previous lab's dense model (lab3) against the first CNN (report section 1.3);
- with and without data augmentation (the network without it, against each variant with it);
- Keras against PyTorch on the same architecture;
- fp32 against mixed precision (a record with ``variant_of``, against the model's own).

A figure is drawn only when at least two of its records have a usable history. Each PNG carries, in a
text chunk, a digest of the data it shows (titles, labels, every point), so ``python -m common.report``
redraws only the figures whose records changed, and ``--check`` compares digests without drawing: the
pixels themselves depend on the matplotlib and FreeType versions, the digest does not. ``python -m
common.redraw`` redraws them all (a change to how they are drawn). Standard library only until a figure
is drawn: matplotlib is imported then.
"""
from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from common.errors import UserError, reason
from common.report_inputs import DATASET_NAMES, EXERCISES, FRAMEWORKS, Context

# Part of every figure's digest: change it together with figures.plot_comparison, so that the next
# `python -m common.report` redraws the committed figures (as `python -m common.redraw` always does).
FIGURE_STYLE = 1
SUFFIX = "_comparison.png"

KINDS = {  # kind -> its heading, in the pages' order
    "frameworks": "Keras against PyTorch, same architecture",
    "augmentation": "With and without data augmentation",
    "precision": "fp32 against mixed precision",
    "lab3": "The previous lab's best dense model against the first CNN (report section 1.3)",
    "models": "The models of each exercise",
}

# The pairs the report compares: (exercise, framework, model) keys.
KERAS_VS_PYTORCH = [  # the same architecture in both frameworks
    (("ex1", "keras", "model1"), ("ex1", "pytorch", "model1")),
    (("ex2", "keras", "model1"), ("ex2", "pytorch", "model1")),
    (("ex2", "keras", "model7"), ("ex3", "pytorch", "PraisyNet")),
    (("ex4", "keras", "MyResNet"), ("ex4", "pytorch", "MyResNet")),
]
AUGMENTATION = [  # (without, with)
    (("ex2", "keras", "model7"), ("ex3", "keras", "model8")),
    (("ex2", "keras", "model7"), ("ex3", "keras", "model9")),
    (("ex2", "keras", "model7"), ("ex3", "keras", "model10")),
    (("ex3", "pytorch", "PraisyNet"), ("ex3", "pytorch", "PraisyNetDA")),
    (("ex4", "keras", "MyResNet"), ("ex4", "keras", "MyResNetDA")),
    (("ex4", "pytorch", "MyResNet"), ("ex4", "pytorch", "MyResNetDA")),
]
# Report section 1.3 (Keras, MNIST and CIFAR-10): the previous lab's best dense model against model1.
LAB3 = [(("ex1", "keras", "lab3"), ("ex1", "keras", "model1")),
        (("ex2", "keras", "lab3"), ("ex2", "keras", "model1"))]


def title(key) -> str:
    """"Keras ex1 model1": names a model everywhere, and as a heading gives it a unique anchor."""
    ex, fw, model = key
    return f"{FRAMEWORKS[fw]} {ex} {model}"


def pairs(ctx: Context, kind: str) -> list:
    """The (a, b) pairs of a kind's table ("models" has none: it is a figure per exercise)."""
    if kind == "frameworks":
        return list(KERAS_VS_PYTORCH)
    if kind == "augmentation":
        return list(AUGMENTATION)
    if kind == "precision":  # a record of a precision named on the command line (model7-bf16) against the model's
        return [((ex, fw, record["variant_of"]), (ex, fw, model))
                for (ex, fw, model), record in sorted(ctx.records.found.items()) if record.get("variant_of")]
    if kind == "lab3":  # the report's two, and any other exercise whose models include a lab3
        return LAB3 + [((ex, fw, "lab3"), (ex, fw, "model1")) for fw in FRAMEWORKS for ex in EXERCISES
                       if ((ex, fw, "lab3"), (ex, fw, "model1")) not in LAB3 and "lab3" in ctx.models(ex, fw)]
    return []


# --- the figures ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    key: tuple
    label: str
    val_accuracy: tuple  # fractions, one per epoch
    val_loss: tuple


@dataclass(frozen=True)
class Comparison:
    kind: str
    name: str      # the file name without ".png"; ends in "_comparison"
    title: str
    lines: tuple   # Line, in the legend's order

    @property
    def keys(self) -> list:
        return [line.key for line in self.lines]

    @property
    def filename(self) -> str:
        return self.name + ".png"

    @property
    def comment(self) -> str:
        """What the PNG says of itself: the digest of everything drawn, so a change in the data is seen."""
        data = [FIGURE_STYLE, self.title, [[line.label, line.val_accuracy, line.val_loss] for line in self.lines]]
        digest = hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()
        return f"drawn by python -m common.report from the records' histories; data sha256 {digest}"

    def series(self) -> list:
        """What figures.plot_comparison takes: [(label, val_accuracy, val_loss)]."""
        return [(line.label, list(line.val_accuracy), list(line.val_loss)) for line in self.lines]


def line(ctx: Context, key, role: str = "") -> Optional[Line]:
    """A record's validation curves, labelled with its name, its role in the comparison and its test
    accuracy; None without a record or a usable history (report_inputs leaves a malformed one out)."""
    record = ctx.record(key)
    if record is None or record.get("history") is None:
        return None
    history = record["history"]
    label = f"{title(key)}{f' ({role})' if role else ''}: test {record['test_accuracy'] * 100:.2f}%"
    return Line(key, label, tuple(history["val_accuracy"]), tuple(history["val_loss"]))


def _comparison(kind: str, name: str, heading: str, lines) -> list:
    """[the Comparison] when at least two of its lines exist, else []: one curve compares nothing."""
    lines = tuple(line for line in lines if line is not None)
    return [Comparison(kind, name + "_comparison", heading, lines)] if len(lines) >= 2 else []


def _grouped(pair_list: list) -> dict:
    """{a: [b, ...]}: the pairs sharing their first model, in order (model7 against model8, 9 and 10)."""
    groups: dict = {}
    for a, b in pair_list:
        groups.setdefault(a, []).append(b)
    return groups


def of_kind(ctx: Context, kind: str) -> list:
    """The figures of one kind the records allow, in the pages' order."""
    found = []
    if kind == "models":
        for fw in FRAMEWORKS:
            for ex in EXERCISES:
                keys = [(ex, fw, m) for m in ctx.models(ex, fw)
                        if ctx.record((ex, fw, m)) and not ctx.record((ex, fw, m)).get("variant_of")]
                found += _comparison(kind, f"{ex}_{fw}_models", f"{EXERCISES[ex][1]} ({FRAMEWORKS[fw]}): "
                                     f"every model", [line(ctx, key) for key in keys])
    elif kind == "frameworks":
        for a, b in pairs(ctx, kind):
            dataset = DATASET_NAMES[EXERCISES[a[0]][2]]
            found += _comparison(kind, f"{a[0]}_{a[2]}_keras_vs_pytorch",
                                 f"Keras against PyTorch, same architecture, {dataset}: {title(a)} and {title(b)}",
                                 [line(ctx, a), line(ctx, b)])
    elif kind == "augmentation":
        for without, augmented in _grouped(pairs(ctx, kind)).items():
            ex, fw, model = without
            lines = [line(ctx, without, "no augmentation")] + [
                line(ctx, key, (ctx.record(key) or {}).get("augmentation") or "augmented") for key in augmented]
            found += _comparison(kind, f"{ex}_{fw}_{model}_augmentation",
                                 f"Without and with data augmentation: {title(without)} against "
                                 + ", ".join(f"{key[0]} {key[2]}" for key in augmented), lines)
    elif kind == "precision":
        for base, variants in _grouped(pairs(ctx, kind)).items():
            ex, fw, model = base
            lines = [line(ctx, key, (ctx.record(key) or {}).get("precision") or "fp32") for key in [base] + variants]
            found += _comparison(kind, f"{ex}_{fw}_{model}_precision",
                                 f"fp32 against mixed precision: {title(base)}", lines)
    elif kind == "lab3":
        for a, b in pairs(ctx, kind):
            ex, fw, _ = a
            found += _comparison(kind, f"{ex}_{fw}_lab3_vs_model1",
                                 f"The previous lab's dense model against the first CNN: {FRAMEWORKS[fw]}, "
                                 f"{DATASET_NAMES[EXERCISES[ex][2]]}", [line(ctx, a, "dense"), line(ctx, b)])
    return found


def every(ctx: Context) -> list:
    return [comparison for kind in KINDS for comparison in of_kind(ctx, kind)]


# --- on disk --------------------------------------------------------------------------------------------------

def folder(out) -> Path:
    return Path(out) / "plots" / "comparisons"


def png_comment(path: Path) -> Optional[str]:
    """The "Comment" text chunk of a PNG, or None (no file, not a PNG, no such chunk)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"tEXt":
            keyword, _, text = data[at + 8:at + 8 + length].partition(b"\0")
            if keyword == b"Comment":
                return text.decode("latin-1")
        if kind == b"IEND":
            break
        at += 12 + length  # length, type, data, CRC
    return None


def update(ctx: Context, check: bool = False, redraw: bool = False, keys: Optional[set] = None) -> list:
    """Bring plots/comparisons/ up to date with the records; the paths changed (or, with check, to change).

    A figure is drawn when its file is missing or its digest differs (every figure with ``redraw``; with
    ``keys``, only figures showing one of those records). Figures of comparisons the records no longer
    make are deleted (not when ``keys`` limits the update)."""
    target = folder(ctx.out)
    wanted = {comparison.filename: comparison for comparison in every(ctx)}
    changed = []
    for filename, comparison in wanted.items():
        path = target / filename
        if keys is not None and not set(comparison.keys) & set(keys):
            continue
        if redraw or png_comment(path) != comparison.comment:
            changed.append(path)
            if not check:
                from common import figures  # matplotlib: only once there is something to draw
                figures.plot_comparison(comparison.series(), comparison.title, path, comment=comparison.comment)
    if keys is None and target.is_dir():
        for path in sorted(target.glob("*" + SUFFIX)):
            if path.name not in wanted:
                changed.append(path)
                if not check:
                    try:
                        path.unlink()
                    except OSError as exc:
                        raise UserError(f"{path}: cannot be deleted ({reason(exc)})") from None
    return changed
