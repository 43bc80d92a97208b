"""Per-epoch checkpoints, so an interrupted run resumes where it stopped, and a finished one can go on.

Layout: ``<out>/checkpoints/<exercise>/<framework>/<model>/`` (git-ignored)
holding ``meta.json`` (the run's settings, the last completed epoch, the
history so far) and ``epoch-<k>/``, a folder the framework fills with its
state (weights, optimiser, random-number generators). The folder is written
whole and renamed into place, then ``meta.json`` is replaced: a crash at any
moment leaves the previous complete checkpoint.

A checkpoint records the settings it was made with; resuming with other
settings (another model, batch size, seed, data...) is refused with one line.

The last checkpoint stays after the run's record is written, so a capped run
can be lengthened later: ``--epochs 20 --resume`` after a 3-epoch run trains
epochs 4-20 only, and ends as a 20-epoch run would have. Deleting
``checkpoints/`` only loses that option.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Optional

from common.atomic import atomic_dir, write_json
from common.errors import UserError


class Checkpoint:
    def __init__(self, folder, signature: dict, resume: bool, epochs: int):
        self.folder, self.signature, self.resume, self.epochs = Path(folder), signature, resume, epochs
        self.resumed_after = None  # the epoch this run continued from, for its record

    @property
    def meta_path(self) -> Path:
        return self.folder / "meta.json"

    def load(self, read_state: Callable[[Path], object]) -> Optional[tuple]:
        """(epoch, history, state) of the last completed epoch, or None to start from scratch."""
        if not self.resume:
            if self.meta_path.exists():
                print(f"note: a checkpoint exists in {self.folder}; starting over, which replaces it "
                      f"(--resume would continue it)", flush=True)
            return None
        if not self.meta_path.exists():
            print(f"no checkpoint in {self.folder}: starting from epoch 1", flush=True)
            return None
        try:
            meta = json.loads(self.meta_path.read_text())
            epoch, history, signature, state_dir = meta["epoch"], meta["history"], meta["signature"], meta["state"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"checkpoint {self.meta_path} does not parse ({exc}); delete it or run without --resume") from None
        differences = [f"{key} {signature.get(key)!r} vs {value!r}" for key, value in self.signature.items()
                       if signature.get(key) != value]
        if differences:
            raise UserError(f"checkpoint {self.folder} was made with other settings ({'; '.join(differences)}); "
                            f"delete it or run without --resume")
        if epoch > self.epochs:  # the run asked for is shorter than the one saved: nothing to continue
            raise UserError(f"checkpoint {self.folder} is after epoch {epoch}, past --epochs {self.epochs}; "
                            f"run without --resume to start over (this replaces the checkpoint)")
        try:
            state = read_state(self.folder / state_dir)
        except Exception as exc:  # any framework error while reading: one clear line
            raise UserError(f"checkpoint {self.folder / state_dir} does not load ({type(exc).__name__}: {exc}); "
                            f"delete it or run without --resume") from None
        print(f"resuming from the checkpoint after epoch {epoch} ({self.folder})", flush=True)
        self.resumed_after = epoch
        return epoch, history, state

    def save(self, epoch: int, history: dict, write_state: Callable[[Path], None]) -> None:
        name = f"epoch-{epoch}"
        with atomic_dir(self.folder / name) as tmp:
            write_state(tmp)
        write_json(self.meta_path, {"epoch": epoch, "state": name, "signature": self.signature, "history": history})
        for old in self.folder.glob("epoch-*"):
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
