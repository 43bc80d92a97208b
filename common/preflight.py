"""What a run checks before its long work: that every output can be written, and that it keeps a fuller result.

Every folder a model writes into (its figures, ten worst, record and checkpoint) is created and written
to before the data goes to the framework: a path component that is a file, or a read-only folder, stops
the run in one line, not after hours of training.

A run without --out writes into the repository, beside the committed records. There it replaces a
model's record only when it repeats the record's settings with at least as many epochs and images: a
quick or reduced run (--limit, fewer epochs, fewer images, other options) is refused in one line, to be
written elsewhere (--out DIR) or to replace the record anyway (--force). The campaign plans with the
same rule (``shortfall``).
"""
from __future__ import annotations

import json
from pathlib import Path

from common import layout
from common.atomic import check_writable
from common.cli import epochs_of
from common.errors import UserError

SAME = ("batch_size", "lr", "seed", "val_split", "deterministic")  # settings a replacing run must repeat
AT_LEAST = {"epochs": "epochs", "n_train": "training images", "n_test": "test images"}  # ... and reach these


def record_settings(record: dict) -> dict:
    """A record's settings, in the terms of ``run_settings``."""
    optimizer = record.get("optimizer") if isinstance(record.get("optimizer"), dict) else {}
    return {"epochs": record.get("epochs"), "n_train": record.get("n_train"), "n_test": record.get("n_test"),
            "limit": record.get("limit"), "batch_size": record.get("batch_size"), "lr": optimizer.get("lr"),
            "seed": record.get("seed"), "val_split": record.get("val_split"),
            "deterministic": bool(record.get("deterministic", False)),
            "settings": record.get("settings") if isinstance(record.get("settings"), dict) else {}}


def run_settings(args, epochs: int, split=None) -> dict:
    """What a run of ``args`` will record; the image counts only when its data is loaded (``split``)."""
    settings = {"epochs": epochs, "limit": args.limit, "batch_size": args.batch_size, "lr": args.lr,
                "seed": args.seed, "val_split": args.val_split,
                "deterministic": bool(getattr(args, "deterministic", False)),
                "settings": dict(getattr(args, "record_settings", {}))}
    if split is not None:
        settings.update(n_train=len(split.x_train), n_test=len(split.x_test))
    return settings


def shortfall(record: dict, run: dict) -> list:
    """How a run of settings ``run`` falls short of, or differs from, ``record``, in words ([]: it may replace
    it). Only what both of them state is compared."""
    old = record_settings(record)
    words = []
    for key, unit in AT_LEAST.items():
        if isinstance(run.get(key), int) and isinstance(old[key], int) and run[key] < old[key]:
            words.append(f"{run[key]:,} {unit[:-1] if run[key] == 1 else unit} where the record has {old[key]:,}")
    if run["limit"] is not None and (old["limit"] is None or run["limit"] < old["limit"]):
        words.append(f"--limit {run['limit']} where the record has "
                     + (f"--limit {old['limit']}" if old["limit"] else "all images"))
    for key in SAME:
        if run[key] != old[key]:
            words.append(f"--{key.replace('_', '-')} {run[key]} where the record has {old[key]}")
    for key in sorted(set(run["settings"]) & set(old["settings"])):
        if run["settings"][key] != old["settings"][key]:
            words.append(f"--{key.replace('_', '-')} {run['settings'][key]} where the record has "
                         f"{old['settings'][key]}")
    return words


def keep_fuller(record_path: Path, run: dict) -> None:
    """Refuse to replace the record at ``record_path`` with a run that falls short of it."""
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return  # none, or unreadable: nothing to keep
    missing = shortfall(record, run) if isinstance(record, dict) else []
    if missing:
        raise UserError(f"{record_path} is kept: it was made with fuller or other settings than this run "
                        f"({'; '.join(missing)}); write this run elsewhere with --out DIR, or replace the "
                        f"record with --force")


def check(args, split, outputs: dict) -> None:
    """Before training: without --out, no fuller record replaced; then every model's output folders writable.
    ``outputs``: {model: its output name} (``model7-bf16`` for a precision asked for by name)."""
    paths = {name: layout.model_outputs(args.out, args.exercise, args.framework, output)
             for name, output in outputs.items()}
    if not args.out_given and not args.force:
        for name, model_paths in paths.items():
            keep_fuller(model_paths["record"], run_settings(args, epochs_of(args, name), split))
    for name, output in outputs.items():
        folders = {path.parent for path in paths[name].values()}
        folders.add(layout.checkpoint_dir(args.out, args.exercise, args.framework, output))
        folders.add(layout.trained_model(args.out, args.exercise, args.framework, output).parent)
        for folder in sorted(folders):
            check_writable(folder)
