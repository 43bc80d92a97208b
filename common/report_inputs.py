"""What the report is built from, read and checked: the records in results/, the report's own figures
(common/reference_results.csv) and the models each exercise script declares.

A record that cannot be used is one warning line naming its file, never a traceback, whatever its
shape: a file that is not JSON (or nests too deeply to parse), a top level that is not an object, or a
required field missing or of the wrong type makes it "not run"; an optional field of the wrong type or
shape (``variant_of`` as a list, ``class_names`` holding lists, a history of strings) is left out, the
warning says which, and the rest of the record is shown. So the pages, the comparison figures, the CSV
and ``common.redraw`` can trust the types of everything they read.

Standard library only: the report never imports torch, TensorFlow or numpy.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from common import analysis, layout, scripts
from common.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_CSV = Path(__file__).resolve().parent / "reference_results.csv"

FRAMEWORKS = {"keras": "Keras", "pytorch": "PyTorch"}  # the report's order: Keras first
EXERCISES = {  # id -> (script file, section title, data set)
    "ex1": ("ex1_mnist.py", "1. Convolutional networks on MNIST", "mnist"),
    "ex2": ("ex2_cifar10.py", "2. Convolutional networks on CIFAR-10", "cifar10"),
    "ex3": ("ex3_augmentation.py", "3. Data augmentation on CIFAR-10", "cifar10"),
    "ex4": ("ex4_resnet.py", "4. Transfer learning (ResNet50) on CIFAR-10", "cifar10"),
}
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}

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


# --- the report's own figures ---------------------------------------------------------------------------

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


# --- the exercise scripts' model lists --------------------------------------------------------------------

_SCRIPTS: dict = {}  # one read and one warning per script and process


def exercise_script(root, exercise: str, framework: str) -> Optional[scripts.ScriptInfo]:
    """The script's DATASET and EPOCHS as ``common.scripts.read_script`` parses them (nothing is imported).

    None when the script is not written yet, or cannot be read (a warning says why): its models then
    come from the reference data, so a script being written never stops the report."""
    path = scripts.script_path(exercise, framework, root).resolve()
    if path not in _SCRIPTS:
        info = None
        if path.is_file():
            try:
                info = scripts.read_script(path)
            except UserError as exc:
                warn(f"{exc}; its models come from the reference data")
        _SCRIPTS[path] = info
    return _SCRIPTS[path]


def model_order(reference_names: list, script_names: Optional[list], extra: list) -> list:
    """The script's order (the report's, as its EPOCHS lists it), with the reference's other
    models placed after their predecessor in the reference, then any other record's model."""
    names = list(script_names or [])
    for i, name in enumerate(reference_names):
        if name in names:
            continue
        previous = [n for n in reference_names[:i] if n in names]
        names.insert(names.index(previous[-1]) + 1 if previous else 0, name)
    names += sorted(n for n in extra if n not in names)
    return names


# --- checking a record ---------------------------------------------------------------------------------------

def check_record(record) -> Optional[str]:
    """What is wrong with a parsed record's required fields, or None."""
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
    if record["n_test"] < 1:  # every accuracy's interval needs at least one test image
        return f"n_test {record['n_test']} is not a number of test images"
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


def _text(value) -> bool:
    return isinstance(value, str)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _texts(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# Optional field -> (its check, what it should be): the fields the pages, the figures and the CSV read
# besides the required ones. Absent or null is fine (older records lack some); anything else that fails
# its check is left out of the record, with a warning.
OPTIONAL = {
    "note": (_text, "a string"),
    "augmentation": (_text, "a string"),
    "variant_of": (lambda v: _text(v) and bool(v), "a model's name"),
    "precision": (_text, "a string"),
    "test_set": (_text, "a string"),
    "validation": (_text, "a string"),
    "report_epochs": (_count, "a whole number"),
    "trainable_params": (_count, "a whole number"),
    "n_val": (lambda v: _count(v) and v > 0, "a number of images"),
    "host": (lambda v: isinstance(v, dict), "an object"),
    "history": (analysis.valid_history, "lists of finite numbers of one length (loss, accuracy, val_loss, "
                                        "val_accuracy)"),
    "class_names": (_texts, "a list of strings"),
}


def usable_fields(record: dict) -> tuple:
    """(the record without its malformed optional fields, [what was wrong with each])."""
    kept, problems = dict(record), []
    for name, (valid, expected) in OPTIONAL.items():
        if kept.get(name) is not None and not valid(kept[name]):
            problems.append(f"'{name}' is not {expected}")
            kept[name] = None
    # These two depend on the class names kept above.
    if kept.get("confusion_matrix") is not None and not analysis.valid_matrix(kept["confusion_matrix"],
                                                                               kept.get("class_names")):
        problems.append("'confusion_matrix' is not a square table of counts, one row per class name")
        kept["confusion_matrix"] = None
    if kept.get("ten_worst") is not None and check_ten_worst(kept["ten_worst"]):
        problems.append(check_ten_worst(kept["ten_worst"]).replace("field ", ""))
        kept["ten_worst"] = None
    return kept, problems


@dataclass
class Records:
    found: dict = field(default_factory=dict)      # (ex, fw, model) -> record
    unreadable: dict = field(default_factory=dict)  # (ex, fw, model) -> relative path of the bad file


def read_json(path: Path):
    """(the parsed file, None) or (None, why it cannot be read)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except RecursionError:  # json parses nested lists recursively: 10,000 levels exhaust the stack
        return None, "unreadable (JSON nested too deeply)"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"unreadable ({type(exc).__name__}: {exc})"


def load_records(results_dir) -> Records:
    """Every results/<ex>/<framework>/<model>.json; bad ones are warned about and kept as 'unreadable'."""
    results_dir = Path(results_dir)
    records = Records()
    if not results_dir.is_dir():
        return records
    for path in sorted(results_dir.rglob("*.json")):
        relative = path.relative_to(results_dir)
        if relative.parts[0] == "benchmarks":  # the performance section's data, rendered by common.benchmark_table
            continue
        if len(relative.parts) != 3 or relative.parts[0] not in EXERCISES or relative.parts[1] not in FRAMEWORKS:
            warn(f"{path}: not at results/<ex1..ex4>/<keras|pytorch>/<model>.json; ignored")
            continue
        key = (relative.parts[0], relative.parts[1], path.stem)
        record, problem = read_json(path)
        if problem is None:
            problem = check_record(record)
        if problem is None and (record["exercise"], record["framework"], record["model"]) != key:
            problem = (f"says it is {record['exercise']}/{record['framework']}/{record['model']}, "
                       f"but its path says {'/'.join(key)}")
        if problem is not None:
            warn(f"{path}: {problem}; its row shows 'not run'")
            records.unreadable[key] = results_dir.name + "/" + relative.as_posix()
            continue
        record, problems = usable_fields(record)
        if problems:
            warn(f"{path}: {'; '.join(problems)}; shown without {'it' if len(problems) == 1 else 'them'}")
        records.found[key] = record
    return records


# --- everything together -------------------------------------------------------------------------------------

@dataclass
class Context:
    results: Path
    page_dir: Path  # links in the pages are relative to this folder
    root: Path      # the repository holding keras/ and pytorch/
    reference: dict
    records: Records

    def record(self, key) -> Optional[dict]:
        return self.records.found.get(key)

    def link(self, path: Path) -> Optional[str]:
        """Path relative to the pages, or None when the file is not there."""
        if not Path(path).is_file():
            return None
        return Path(os.path.relpath(path, self.page_dir)).as_posix()

    @property
    def out(self) -> Path:
        return self.results.parent

    def figure(self, ex, fw, model, kind) -> Path:
        return layout.figure(self.out, ex, fw, model, kind)

    def thumbnail(self, ex, fw, model, rank) -> Path:
        return layout.ten_worst_dir(self.out, ex, fw, model) / f"{rank}.png"

    def script(self, ex, fw) -> Optional[scripts.ScriptInfo]:
        return exercise_script(self.root, ex, fw)

    def models(self, ex, fw) -> list:
        script = self.script(ex, fw)
        reference = [m for (e, f, m) in self.reference if (e, f) == (ex, fw)]
        extra = [m for (e, f, m) in list(self.records.found) + list(self.records.unreadable) if (e, f) == (ex, fw)]
        return model_order(reference, script.models if script else None, extra)

    def all_keys(self) -> list:
        """Every model of every exercise, in the report's order: Keras first, then by exercise."""
        return [(ex, fw, m) for fw in FRAMEWORKS for ex in EXERCISES for m in self.models(ex, fw)]

    def report_accuracy(self, key) -> Optional[float]:
        """The report's test accuracy as a fraction, or None."""
        value = (self.reference.get(key) or {}).get("test_accuracy_pct")
        return value / 100 if value is not None else None


def context(results, page_dir, root=REPO_ROOT, reference_csv=REFERENCE_CSV) -> Context:
    return Context(Path(results), Path(page_dir), Path(root), load_reference(reference_csv), load_records(results))
