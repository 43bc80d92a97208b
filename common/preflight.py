"""What a run checks before its long work: that every output can be written, and that it keeps a committed record.

Every folder a model writes into (its figures, ten worst, record, checkpoint, trained model and, with
--tensorboard, its event files) is created and written to before the data goes to the framework: a path
component that is a file, or a read-only folder, stops the run in one line, not after hours of training.

The repository's records (``results/`` of this repository) are replaced only by the same experiment,
wherever --out points: left out (the default), given as ``.``, as an absolute path or through a link to
the repository, the record's real path is what counts. The same experiment means: the same data (the
digest of the arrays trained and tested on, ``data_sha256``), the same precision (a record that does not
state one was fp32), the same settings (batch size, learning rate, seed, validation split, determinism,
the exercise's own options such as ex4's --weights), and at least as many epochs, training images and test
images (no --limit, or a larger one). Anything else is refused in one line, before training: write the run
elsewhere (--out DIR), or replace the record anyway (--force). A record that does not state its data's
digest (written before records held one) cannot be shown to be the same experiment, and is kept too. A
record elsewhere (a scratch --out) is replaced by any run. The campaign plans with the same rule
(``shortfall``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from common import layout
from common.atomic import check_writable
from common.cli import epochs_of
from common.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
SAME = ("batch_size", "lr", "seed", "val_split", "deterministic")  # settings a replacing run must repeat
AT_LEAST = {"epochs": "epochs", "n_train": "training images", "n_test": "test images"}  # ... and reach these
PRECISION_OF_OLD_RECORDS = "fp32"  # records made before --precision existed were fp32


def protected(record_path, repository=REPO_ROOT) -> bool:
    """Whether ``record_path`` is one of the repository's records, whatever path names it (``.``, absolute, a link)."""
    results = (Path(repository) / "results").resolve()
    resolved = Path(record_path).resolve()
    return results in resolved.parents


def record_settings(record: dict) -> dict:
    """A record's settings, in the terms of ``run_settings`` (None where the record does not state one)."""
    optimizer = record.get("optimizer") if isinstance(record.get("optimizer"), dict) else {}
    return {"epochs": record.get("epochs"), "n_train": record.get("n_train"), "n_test": record.get("n_test"),
            "limit": record.get("limit"), "batch_size": record.get("batch_size"), "lr": optimizer.get("lr"),
            "seed": record.get("seed"), "val_split": record.get("val_split"),
            "deterministic": bool(record.get("deterministic", False)),
            "settings": record.get("settings") if isinstance(record.get("settings"), dict) else {},
            "precision": record.get("precision") or PRECISION_OF_OLD_RECORDS,
            "data_sha256": record.get("data_sha256")}


def run_settings(args, epochs: int, split=None, precision: Optional[str] = None) -> dict:
    """What a run of ``args`` will record, as far as it is known before training: the image counts and the
    data's digest once its data is loaded (``split``), the precision once it is chosen (``precision``: fp32,
    bf16 or fp16; ``auto`` is chosen by the framework, after it loads)."""
    settings = {"epochs": epochs, "limit": args.limit, "batch_size": args.batch_size, "lr": args.lr,
                "seed": args.seed, "val_split": args.val_split,
                "deterministic": bool(getattr(args, "deterministic", False)),
                "settings": dict(getattr(args, "record_settings", None) or {})}
    if split is not None:
        settings.update(n_train=len(split.x_train), n_test=len(split.x_test), data_sha256=split.digest)
    if precision is not None and precision != "auto":
        settings["precision"] = precision
    return settings


def known_precision(args) -> Optional[str]:
    """The precision a run of ``args`` trains in, if it is known before the framework loads (not ``auto``)."""
    if getattr(args, "mixed_precision", True) is False:
        return "fp32"
    requested = getattr(args, "precision", None)
    return requested if requested in ("fp32", "bf16", "fp16") else None


def _short(digest) -> str:
    return f"{digest[:15]}..." if isinstance(digest, str) and len(digest) > 18 else repr(digest)


def shortfall(record: dict, run: dict) -> list:
    """How a run of settings ``run`` falls short of, or differs from, ``record``, in words ([]: it may replace
    it). The data's digest and the precision are compared when the run states them (a record without a
    precision was fp32; one without a digest cannot be compared: a word says so); the settings of the
    record's ``settings`` must be repeated."""
    old = record_settings(record)
    words = []
    if "data_sha256" in run:
        if not old["data_sha256"]:
            words.append("the record does not state its data's digest (data_sha256: an older version wrote it), "
                         "so this run cannot be shown to use the same data")
        elif run["data_sha256"] != old["data_sha256"]:
            words.append(f"other data (digest {_short(run['data_sha256'])} where the record has "
                         f"{_short(old['data_sha256'])})")
    if run.get("precision") is not None and run["precision"] != old["precision"]:
        words.append(f"--precision {run['precision']} where the record has {old['precision']}")
    for key, unit in AT_LEAST.items():
        new, was = run.get(key), old[key]
        if isinstance(new, int) and not isinstance(was, int):
            words.append(f"the record does not state its {unit}")
        elif isinstance(new, int) and new < was:
            words.append(f"{new:,} {unit[:-1] if new == 1 else unit} where the record has {was:,}")
    if run["limit"] is not None and (old["limit"] is None or not isinstance(old["limit"], int)
                                     or run["limit"] < old["limit"]):
        words.append(f"--limit {run['limit']} where the record has "
                     + (f"--limit {old['limit']}" if old["limit"] else "all images"))
    for key in SAME:
        if run[key] != old[key]:
            words.append(f"--{key.replace('_', '-')} {run[key]} where the record has {old[key]}")
    settings = run.get("settings") or {}
    for key in sorted(old["settings"]):
        if settings.get(key, "(not given)") != old["settings"][key]:
            words.append(f"--{key.replace('_', '-')} {settings.get(key, '(not given)')} where the record has "
                         f"{old['settings'][key]}")
    return words


def refuse_replacing(record_path, new: dict, force: bool, repository=REPO_ROOT) -> None:
    """Stop, in one line, a run that would replace one of the repository's records (``protected``) without being
    the same experiment (``shortfall``), unless ``force``. ``new``: the run's ``run_settings``, with its data
    (``split``) and its precision, so call it once both are known and before training."""
    record_path = Path(record_path)
    if force or not protected(record_path, repository) or not record_path.exists():
        return
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UserError(f"{record_path} is kept: it does not parse as a record ({type(exc).__name__}); "
                        f"write this run elsewhere with --out DIR, or replace it with --force") from None
    if not isinstance(record, dict):
        raise UserError(f"{record_path} is kept: it is not a record (a JSON {type(record).__name__}); "
                        f"write this run elsewhere with --out DIR, or replace it with --force")
    words = shortfall(record, new)
    if words:
        raise UserError(f"{record_path} is kept: only the same experiment replaces it, and this run differs or "
                        f"falls short ({'; '.join(words)}); write this run elsewhere with --out DIR, or replace "
                        f"the record with --force")


def keep_fuller(record_path: Path, run: dict, force: bool = False) -> None:
    """The rule of ``refuse_replacing`` (kept under its former name)."""
    refuse_replacing(record_path, run, force)


def check_outputs(out, exercise: str, framework: str, output: str, tensorboard=None) -> None:
    """Every folder model ``output``'s run writes into is writable (one line naming the first that is not):
    its figures, ten worst, record, checkpoint, trained model, and its --tensorboard folder if given."""
    paths = layout.model_outputs(out, exercise, framework, output)
    folders = {path.parent for path in paths.values()}
    folders.add(layout.checkpoint_dir(out, exercise, framework, output))
    folders.add(layout.trained_model(out, exercise, framework, output).parent)
    for folder in sorted(folders):
        check_writable(folder)
    if tensorboard is not None:
        from common.tensorboard_events import check_folder
        check_folder(Path(tensorboard) / exercise / framework / output)


def check(args, split, outputs: dict, precision: Optional[str] = None) -> None:
    """Before training: no record of the repository replaced by another experiment (with the precision when it
    is known: ``precision``, or --precision when it is not auto), then every model's output folders writable,
    its --tensorboard folder among them. ``outputs``: {model: its output name} (``model7-bf16`` for a precision
    asked for by name). With --precision auto, call ``refuse_replacing`` again once the framework has chosen."""
    precision = precision or known_precision(args)
    for name, output in outputs.items():
        refuse_replacing(layout.record(args.out, args.exercise, args.framework, output),
                         run_settings(args, epochs_of(args, name), split, precision), args.force)
    for output in outputs.values():
        check_outputs(args.out, args.exercise, args.framework, output, getattr(args, "tensorboard", None))
