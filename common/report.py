"""The README's results section, rebuilt from the records in results/.

    python -m common.report            # rewrite README.md between the result markers
    python -m common.report --check    # exit 1 if README.md is out of date (CI)

Every number in the generated section comes from a record
(``results/<ex>/<framework>/<model>.json``, written by ``common.experiment``)
or, labelled as the report's, from ``common/reference_results.csv``; nothing is
typed by hand. Every model of the report gets a row, in the report's order,
whether it has been run or not: the model list of an exercise and framework is
the reference CSV merged with the script's ``EXERCISE.models`` (imported as a file: the
scripts import no framework at module level). A missing, unreadable or
malformed record is a warning naming the file and a "not run" row, never a
crash. The output holds no timestamp of the rebuild and is ordered
deterministically, so a second run changes nothing.

Framework-free (standard library only): this module never imports torch,
TensorFlow or numpy.
"""
from __future__ import annotations

import csv
import json
import math
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from common import layout
from common.atomic import write_text
from common.errors import UserError
from common.parser import Parser
from common.scripts import load_script as load_script_file

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_CSV = Path(__file__).resolve().parent / "reference_results.csv"
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"

FRAMEWORKS = {"keras": "Keras", "pytorch": "PyTorch"}  # the report's order: Keras first
EXERCISES = {  # id -> (script file, section title, data set)
    "ex1": ("ex1_mnist.py", "1. Convolutional networks on MNIST", "mnist"),
    "ex2": ("ex2_cifar10.py", "2. Convolutional networks on CIFAR-10", "cifar10"),
    "ex3": ("ex3_augmentation.py", "3. Data augmentation on CIFAR-10", "cifar10"),
    "ex4": ("ex4_resnet.py", "4. Transfer learning (ResNet50) on CIFAR-10", "cifar10"),
}
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
FRAMEWORK_MODULES = ("torch", "tensorflow", "tf_keras", "jax")

# Comparisons the report makes (or that its models allow): (exercise, framework, model) pairs.
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

# field -> accepted types; a record lacking one of these, or holding the wrong type, shows "not run".
NUMBER = (int, float)
REQUIRED = {
    "exercise": str, "framework": str, "model": str, "architecture": str, "device": str,
    "test_loss": NUMBER, "test_accuracy": NUMBER, "train_time_s": NUMBER,
    "epochs": int, "n_train": int, "n_test": int, "reduced": list,
}
TEN_WORST_FIELDS = {"rank": int, "index": int, "predicted": str, "actual": str, "prob_actual": NUMBER}


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# --- inputs: the reference figures, the scripts' registries, the records ------

def load_reference(path=REFERENCE_CSV) -> dict:
    """(exercise, framework, model) -> the report's row (numbers as floats, blanks as None), in file order."""
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["exercise"], row["framework"], row["model"])
            rows[key] = {
                "test_loss": _float(row["test_loss"]),
                "test_accuracy_pct": _float(row["test_accuracy_pct"]),
                "train_time_s": _float(row["train_time_s"]),
                "epochs": int(row["epochs"]) if row["epochs"].strip() else None,
                "notes": row["notes"].strip(),
            }
    return rows


def _float(text: str) -> Optional[float]:
    return float(text) if text.strip() else None


@dataclass
class ScriptInfo:
    """What an exercise script declares, read without running it."""
    path: Path
    exercise: object                               # common.exercise.Exercise
    models: dict = field(default_factory=dict)     # name -> the script's builder, in the report's order

    def report_epochs(self, name: str) -> int:
        return self.exercise.report_epochs(name)


_SCRIPT_CACHE: dict = {}


def script_path(root, exercise: str, framework: str) -> Path:
    return Path(root) / framework / EXERCISES[exercise][0]


def load_script(root, exercise: str, framework: str) -> Optional[ScriptInfo]:
    """Import ``<root>/<framework>/<script>`` as a file and return its EXERCISE and its models.

    None when the script does not exist yet (its models then come from the
    reference data) or cannot be imported (a warning says why).
    """
    path = script_path(root, exercise, framework).resolve()
    if path in _SCRIPT_CACHE:
        return _SCRIPT_CACHE[path]
    info = None
    if path.is_file():
        before = set(sys.modules)
        try:
            module = load_script_file(path, f"_lab_script_{framework}_{exercise}_{len(_SCRIPT_CACHE)}")
            info = ScriptInfo(path, module.EXERCISE, dict(module.EXERCISE.models))
        except Exception as exc:  # a script being written must not stop the report
            warn(f"{path}: cannot be imported ({type(exc).__name__}: {exc}); "
                 f"its models come from the reference data")
        heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & set(FRAMEWORK_MODULES))
        if heavy:
            warn(f"{path} imports {', '.join(heavy)} at module level: scripts must import their framework "
                 f"only to train (DESIGN.md)")
    _SCRIPT_CACHE[path] = info
    return info


@dataclass
class Records:
    found: dict = field(default_factory=dict)      # (ex, fw, model) -> record
    unreadable: dict = field(default_factory=dict)  # (ex, fw, model) -> relative path of the bad file


def check_record(record) -> Optional[str]:
    """What is wrong with a parsed record, or None."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    for name, types in REQUIRED.items():
        if name not in record:
            return f"missing field '{name}'"
        value = record[name]
        if isinstance(value, bool) or not isinstance(value, types):
            return f"field '{name}' is {type(value).__name__}, not {_type_names(types)}"
    if not all(isinstance(note, str) for note in record["reduced"]):
        return "field 'reduced' is not a list of strings"
    if not 0 <= record["test_accuracy"] <= 1:
        return f"test_accuracy {record['test_accuracy']} is not a fraction in [0, 1]"
    for name in ("test_loss", "train_time_s"):
        if not math.isfinite(record[name]):
            return f"field '{name}' is {record[name]}"
    return None


def _type_names(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def check_ten_worst(rows) -> Optional[str]:
    if not isinstance(rows, list):
        return "field 'ten_worst' is not a list"
    for row in rows:
        if not isinstance(row, dict):
            return "field 'ten_worst' holds a non-object"
        for name, types in TEN_WORST_FIELDS.items():
            if isinstance(row.get(name), bool) or not isinstance(row.get(name), types):
                return f"a ten_worst entry lacks a valid '{name}'"
    return None


def load_records(results_dir) -> Records:
    """Every results/<ex>/<framework>/<model>.json; bad ones are warned about and kept as 'unreadable'."""
    results_dir = Path(results_dir)
    records = Records()
    if not results_dir.is_dir():
        return records
    for path in sorted(results_dir.rglob("*.json")):
        relative = path.relative_to(results_dir)
        shown = results_dir.name + "/" + relative.as_posix()
        if relative.parts[0] == "benchmarks":  # the performance section's data, rendered by common.benchmark_table
            continue
        if len(relative.parts) != 3 or relative.parts[0] not in EXERCISES or relative.parts[1] not in FRAMEWORKS:
            warn(f"{path}: not at results/<ex1..ex4>/<keras|pytorch>/<model>.json; ignored")
            continue
        key = (relative.parts[0], relative.parts[1], path.stem)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problem = f"unreadable ({type(exc).__name__}: {exc})"
        else:
            problem = check_record(record)
            if problem is None and (record["exercise"], record["framework"], record["model"]) != key:
                problem = (f"says it is {record['exercise']}/{record['framework']}/{record['model']}, "
                           f"but its path says {'/'.join(key)}")
            if problem is None and "ten_worst" in record:
                bad_table = check_ten_worst(record["ten_worst"])
                if bad_table:
                    warn(f"{path}: {bad_table}; its ten-worst table is left out")
                    record = {**record, "ten_worst": None}
        if problem is not None:
            warn(f"{path}: {problem}; its row shows 'not run'")
            records.unreadable[key] = shown
            continue
        records.found[key] = record
    return records


def model_order(reference_names: list, script_names: Optional[list], extra: list) -> list:
    """The script's order (the report's, as its registry lists it), with the reference's other
    models placed after their predecessor in the reference, then any other record's model."""
    names = list(script_names or [])
    for i, name in enumerate(reference_names):
        if name in names:
            continue
        previous = [n for n in reference_names[:i] if n in names]
        names.insert(names.index(previous[-1]) + 1 if previous else 0, name)
    names += sorted(n for n in extra if n not in names)
    return names


# --- formatting ---------------------------------------------------------------

def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def pct(record) -> str:
    return f"{record['test_accuracy'] * 100:.2f}%"


def delta(run: float, ref: float, digits: int, unit: str = "") -> str:
    value = round(run, digits) - round(ref, digits)
    if abs(value) < 0.5 * 10 ** -digits:
        return f"±{0:.{digits}f}{unit}"
    return f"{value:+.{digits}f}{unit}"


def seconds(value: float) -> str:
    return f"{value:.2f}s"


def epoch_seconds(record: dict) -> str:
    """The measured seconds per epoch, from the record's history: "median (fastest-slowest)", or "—".

    The median is the typical epoch; the range shows what a shared CPU or a
    warm-up epoch did to the total, which the training time alone hides.
    """
    history = record.get("history")
    times = history.get("seconds") if isinstance(history, dict) else None
    if not (isinstance(times, list) and times
            and all(isinstance(t, NUMBER) and not isinstance(t, bool) and math.isfinite(t) for t in times)):
        return "—"
    return f"{statistics.median(times):.0f} s ({min(times):.0f}-{max(times):.0f} s)"


def table(header: list, rows: list, align: Optional[list] = None) -> list:
    align = align or [":---:"] * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(c) if not str(c).startswith("<") else str(c) for c in row) + " |"
              for row in rows]
    return lines


class Notes:
    """Footnote markers (†1, †2, ...) for runs whose settings differ from the report's."""

    def __init__(self):
        self.notes: list = []

    def mark(self, record) -> str:
        if not record or not record.get("reduced"):
            return ""
        text = "; ".join(record["reduced"])
        if text not in self.notes:
            self.notes.append(text)
        return f" †{self.notes.index(text) + 1}"

    def render(self) -> list:
        if not self.notes:
            return []
        lines = ["Settings that differ from the report's:", ""]
        lines += [f"- †{i}: {text}" for i, text in enumerate(self.notes, start=1)]
        return lines + [""]


@dataclass
class Context:
    results: Path
    readme_dir: Path
    root: Path
    reference: dict
    records: Records

    def record(self, key) -> Optional[dict]:
        return self.records.found.get(key)

    def link(self, path: Path) -> Optional[str]:
        """Path relative to the README, or None when the file is not there."""
        if not path.is_file():
            return None
        return Path(os.path.relpath(path, self.readme_dir)).as_posix()

    @property
    def out(self) -> Path:
        return self.results.parent

    def figure(self, ex, fw, model, kind) -> Path:
        return layout.figure(self.out, ex, fw, model, kind)

    def thumbnail(self, ex, fw, model, rank) -> Path:
        return layout.ten_worst_dir(self.out, ex, fw, model) / f"{rank}.png"

    def models(self, ex, fw) -> list:
        script = load_script(self.root, ex, fw)
        reference = [m for (e, f, m) in self.reference if (e, f) == (ex, fw)]
        extra = [m for (e, f, m) in list(self.records.found) + list(self.records.unreadable) if (e, f) == (ex, fw)]
        return model_order(reference, list(script.models) if script else None, extra)


def not_run(ctx: Context, key) -> str:
    return "not run (record unreadable)" if key in ctx.records.unreadable else "not run"


def architecture(ctx: Context, key) -> str:
    record = ctx.record(key)
    if record:
        text = record["architecture"]
        if record.get("note"):
            text += f" ({record['note']})"
        return text
    ref = ctx.reference.get(key)
    return ref["notes"] if ref and ref["notes"] else "—"


def report_epochs(ctx: Context, key) -> str:
    ref = ctx.reference.get(key)
    if ref is None:
        return "not in the report"
    return str(ref["epochs"]) if ref["epochs"] is not None else "not given"


def ref_value(ctx: Context, key, name: str, fmt) -> str:
    ref = ctx.reference.get(key)
    if ref is None:
        return "not in the report"
    return fmt(ref[name]) if ref[name] is not None else "not given"


# --- sections -------------------------------------------------------------------

def exercise_section(ctx: Context, ex: str, fw: str) -> list:
    names = ctx.models(ex, fw)
    title = EXERCISES[ex][1]
    lines = [f"#### {title} ({FRAMEWORKS[fw]})", ""]
    script = script_path(ctx.root, ex, fw)
    if not script.is_file():
        lines += [f"`{fw}/{script.name}` is not written yet: the models below are the report's.", ""]
    if not names:
        return lines + ["No model of the report in this exercise.", ""]
    notes = Notes()

    rows = []
    for name in names:
        key = (ex, fw, name)
        record = ctx.record(key)
        ident = f"{name}{notes.mark(record)}"
        if record is None:
            rows.append([ident, architecture(ctx, key), f"— / {report_epochs(ctx, key)}", not_run(ctx, key),
                         "", "", "", "", ""])
            continue
        rows.append([ident, architecture(ctx, key), f"{record['epochs']} / {report_epochs(ctx, key)}",
                     f"{record['test_loss']:.4f}", pct(record), seconds(record["train_time_s"]),
                     epoch_seconds(record), record["device"], f"{record['n_train']:,} / {record['n_test']:,}"])
    lines += table(["ID", "Architecture", "Epochs (run / report's)", "Loss", "Accuracy", "Training time",
                    "Per epoch: median (range)", "Device", "Train / test images"], rows,
                   [":---:", ":---", ":---:", ":---:", ":---:", ":---:", ":---:", ":---:", ":---:"])
    lines.append("")

    rows = []
    for name in names:
        key = (ex, fw, name)
        record = ctx.record(key)
        ref = ctx.reference.get(key) or {}
        loss_ref = ref_value(ctx, key, "test_loss", lambda v: f"{v:.4f}")
        acc_ref = ref_value(ctx, key, "test_accuracy_pct", lambda v: f"{v:.2f}%")
        time_ref = ref_value(ctx, key, "train_time_s", seconds)
        if record is None:
            rows.append([name, not_run(ctx, key), loss_ref, "", "", acc_ref, "", "", time_ref])
            continue
        d_loss = delta(record["test_loss"], ref["test_loss"], 4) if ref.get("test_loss") is not None else "—"
        d_acc = (delta(record["test_accuracy"] * 100, ref["test_accuracy_pct"], 2, " pts")
                 if ref.get("test_accuracy_pct") is not None else "—")
        rows.append([f"{name}{notes.mark(record)}", f"{record['test_loss']:.4f}", loss_ref, d_loss, pct(record),
                     acc_ref, d_acc, seconds(record["train_time_s"]), time_ref])
    lines += ["Against the report's figures (the report's columns are its own numbers, "
              "on its hardware and settings):", ""]
    lines += table(["ID", "Loss", "Report's loss", "Δ loss", "Accuracy", "Report's accuracy", "Δ accuracy",
                    "Training time", "Report's time"], rows)
    lines.append("")
    lines += notes.render()

    rows = []
    for name in names:
        key = (ex, fw, name)
        if ctx.record(key) is None:
            continue
        cells = []
        for kind in ("loss", "accuracy", "confusion_matrix"):
            link = ctx.link(ctx.figure(ex, fw, name, kind))
            cells.append(f'<a href="{link}"><img src="{link}" height="150" /></a>' if link else "figure missing")
        rows.append([f"{name}{notes.mark(ctx.record(key))}", *cells])
    if rows:
        lines += table(["ID", "Loss plot", "Accuracy plot", "Confusion matrix"], rows)
        lines.append("")
    lines += other_figures(ctx, ex, fw, names)

    for name in names:
        lines += ten_worst(ctx, (ex, fw, name), notes)
    return lines


def other_figures(ctx: Context, ex, fw, names) -> list:
    """Figures of the exercise that belong to no model's three (e.g. augmented samples)."""
    folder = ctx.out / "plots" / ex / fw
    if not folder.is_dir():
        return []
    own = {f"{n}_{kind}.png" for n in names for kind in ("loss", "accuracy", "confusion_matrix")}
    extra = sorted(p for p in folder.glob("*.png") if not p.name.startswith(".") and p.name not in own)
    if not extra:
        return []
    rows = [[p.stem, f'<img src="{ctx.link(p)}" height="100" />'] for p in extra]
    return ["Other figures of this exercise:", ""] + table(["Figure", "Image"], rows) + [""]


def ten_worst(ctx: Context, key, notes: Notes) -> list:
    record = ctx.record(key)
    if record is None or not record.get("ten_worst"):
        return []
    ex, fw, name = key
    rows = []
    for row in sorted(record["ten_worst"], key=lambda r: -r["rank"]):  # the report lists rank 10 first
        link = ctx.link(ctx.thumbnail(ex, fw, name, row["rank"]))
        p = row["prob_actual"]
        rows.append([row["rank"], row["index"], row["predicted"], row["actual"],
                     f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}", f'<img src="{link}" />' if link else "image missing"])
    summary = (f"Ten worst classified test images: {FRAMEWORKS[fw]} {ex} {name}{notes.mark(record)} "
               f"(of {record['n_test']:,} test images; 1 = the lowest probability of the actual class)")
    return (["<details>", f"<summary>{summary}</summary>", ""]
            + table(["Rank", "Image idx.", "Pred. cat.", "Act. cat.", "Prob. act.", "Image"], rows)
            + ["", "</details>", ""])


def pair_section(ctx: Context, title: str, intro: str, pairs: list, labels: tuple, extra=None) -> list:
    """A comparison table of (a, b) model pairs: accuracy and time, each as run / report's
    (the loss of every model is in its exercise's tables)."""
    pairs = [(a, b) for a, b in pairs if _known(ctx, a) or _known(ctx, b)]
    if not pairs:
        return []
    notes = Notes()

    def name(key):
        return f"{FRAMEWORKS[key[1]]} {key[0]} {key[2]}{notes.mark(ctx.record(key))}"

    def both(key, run, ref_name, ref_fmt):
        record = ctx.record(key)
        return f"{run(record) if record else not_run(ctx, key)} / {ref_value(ctx, key, ref_name, ref_fmt)}"

    def acc_delta(a, b):
        ra, rb = ctx.record(a), ctx.record(b)
        run = delta(rb["test_accuracy"] * 100, ra["test_accuracy"] * 100, 2, " pts") if ra and rb else "—"
        fa, fb = ctx.reference.get(a) or {}, ctx.reference.get(b) or {}
        ref = (delta(fb["test_accuracy_pct"], fa["test_accuracy_pct"], 2, " pts")
               if fa.get("test_accuracy_pct") is not None and fb.get("test_accuracy_pct") is not None else "—")
        return f"{run} / {ref}"

    header = [labels[0], labels[1]] + ([extra[0]] if extra else []) + [
        f"{labels[0]}: accuracy (run / report's)", f"{labels[1]}: accuracy (run / report's)",
        f"Δ accuracy, {labels[1]} − {labels[0]} (run / report's)",
        f"{labels[0]}: time (run / report's)", f"{labels[1]}: time (run / report's)"]
    rows = []
    for a, b in pairs:
        acc = (pct, "test_accuracy_pct", lambda v: f"{v:.2f}%")
        time = (lambda r: seconds(r["train_time_s"]), "train_time_s", seconds)
        rows.append([name(a), name(b)] + ([extra[1](a, b)] if extra else []) + [
            both(a, *acc), both(b, *acc), acc_delta(a, b),
            both(a, *time), both(b, *time)])
    return [f"#### {title}", "", intro, ""] + table(header, rows) + [""] + notes.render()


def _known(ctx: Context, key) -> bool:
    return key in ctx.reference or key in ctx.records.found or key in ctx.records.unreadable


def params_cell(ctx: Context, a, b) -> str:
    values = []
    for key in (a, b):
        record = ctx.record(key)
        values.append(f"{record['trainable_params']:,}" if record and isinstance(record.get("trainable_params"), int)
                       else "—")
    return " / ".join(values)


def augmentation_cell(ctx: Context, a, b) -> str:
    record = ctx.record(b)
    if record and record.get("augmentation"):
        return str(record["augmentation"])
    ref = ctx.reference.get(b)
    return f"report: {ref['notes']}" if ref and ref["notes"] else "—"


def test_sets(ctx: Context) -> list:
    """Which test images the records were measured on, per data set, as the records say."""
    sets: dict = {}
    for (ex, fw, model), record in sorted(ctx.records.found.items()):
        if isinstance(record.get("test_set"), str):
            dataset = EXERCISES[ex][2]
            sets.setdefault(dataset, {}).setdefault(record["test_set"], []).append(record)
    if not sets:
        return []
    lines = ["Test images the records were measured on:", ""]
    for dataset in ("mnist", "cifar10"):
        for text, records in sorted(sets.get(dataset, {}).items()):
            plural = "s" if len(records) != 1 else ""
            lines.append(f"- {DATASET_NAMES[dataset]}: {text} ({len(records)} record{plural})")
    return lines + [""]


def render(results, readme_dir, root=REPO_ROOT, reference_csv=REFERENCE_CSV) -> str:
    ctx = Context(Path(results), Path(readme_dir), Path(root), load_reference(reference_csv),
                  load_records(results))
    all_keys = []
    for fw in FRAMEWORKS:
        for ex in EXERCISES:
            all_keys += [(ex, fw, m) for m in ctx.models(ex, fw)]
    report_keys = [k for k in all_keys if k in ctx.reference]
    done = [k for k in report_keys if k in ctx.records.found]
    per_fw = ", ".join(f"{FRAMEWORKS[fw]} {sum(k[1] == fw for k in done)} of {sum(k[1] == fw for k in report_keys)}"
                       for fw in FRAMEWORKS)
    results_rel = Path(os.path.relpath(ctx.results, ctx.readme_dir)).as_posix()
    lines = [
        "<!-- Generated by `python -m common.report` from the records in results/ and the report's figures in "
        "common/reference_results.csv: edit those, not this section. -->",
        "",
        f"**{len(done)} of the report's {len(report_keys)} models {'has' if len(done) == 1 else 'have'} a record** "
        f"in `{results_rel}/` ({per_fw})"
        + ("; the others show \"not run\"" if len(done) < len(report_keys) else "")
        + ". Columns and cells marked *report's* are the original report's figures "
        "(its own hardware and settings, validated on the test set); every other number comes from a "
        "record. **†n** marks a run whose settings differ from the report's; the note under the table says how. "
        "Each row states its train and test image counts.",
        "",
    ]
    lines += test_sets(ctx)
    for fw in FRAMEWORKS:
        lines += [f"### {FRAMEWORKS[fw]}", ""]
        for ex in EXERCISES:
            lines += exercise_section(ctx, ex, fw)
    lines += ["### Comparisons", ""]
    lines += pair_section(ctx, "Keras against PyTorch, same architecture",
                          "The same architecture in both frameworks; the trainable-parameter counts are the records'.",
                          KERAS_VS_PYTORCH, ("Keras", "PyTorch"),
                          ("Trainable params (Keras / PyTorch)", lambda a, b: params_cell(ctx, a, b)))
    lines += pair_section(ctx, "With and without data augmentation",
                          "The same network trained without, then with augmented training batches.",
                          AUGMENTATION, ("Without", "With"),
                          ("Augmentation", lambda a, b: augmentation_cell(ctx, a, b)))
    lab3 = LAB3 + [((ex, fw, "lab3"), (ex, fw, "model1")) for fw in FRAMEWORKS for ex in EXERCISES
                   if ((ex, fw, "lab3"), (ex, fw, "model1")) not in LAB3 and "lab3" in ctx.models(ex, fw)]
    lines += pair_section(ctx, "The previous lab's best dense model against the first CNN (report section 1.3)",
                          "The report gives lab3's accuracy and time but not its architecture; the run here is "
                          "the scripts' dense stand-in (see its architecture above).",
                          lab3, ("lab3", "model1"))
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


# --- the README -------------------------------------------------------------------

def splice(text: str, body: str, name: str = "README.md") -> str:
    """Replace what lies between the markers; everything else is kept byte for byte."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise UserError(f"{name} needs exactly one '{BEGIN}' line followed by one '{END}' line; "
                        f"nothing was written")
    start = text.index(BEGIN) + len(BEGIN)
    return text[:start] + "\n" + body + text[text.index(END):]


def rebuild(readme, results, root=REPO_ROOT, check=False) -> bool:
    """Rebuild (or with check=True only compare) the README; True if it was (or would be) changed."""
    readme = Path(readme)
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{readme}: cannot be read ({exc.strerror or exc})") from None
    splice(text, "", readme.name)  # markers first: fail before reading any record
    new = splice(text, render(results, readme.resolve().parent, root), readme.name)
    if new == text:
        return False
    if not check:
        write_text(readme, new)
    return True


def main(argv=None) -> int:
    parser = Parser(prog="python -m common.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", default=str(REPO_ROOT / "README.md"), help="README to rewrite between "
                        f"the {BEGIN} and {END} lines")
    parser.add_argument("--results", default=str(REPO_ROOT / "results"),
                        help="folder of <ex>/<framework>/<model>.json records (figures are looked for beside it)")
    parser.add_argument("--root", default=str(REPO_ROOT), help="repository holding keras/ and pytorch/ scripts")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the README is out of date")
    try:
        args = parser.parse_args(argv)
        changed = rebuild(args.readme, args.results, args.root, check=args.check)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print(f"{args.readme} is out of date: run  python -m common.report", file=sys.stderr)
            return 1
        print(f"{args.readme} is up to date")
        return 0
    print(f"{args.readme}: results section {'rebuilt' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
