"""Per-epoch checkpoints, so an interrupted run resumes where it stopped, and a finished one can go on.

Layout: ``<out>/checkpoints/<exercise>/<framework>/<model>/`` (git-ignored)
holding ``meta.json`` (the run's settings, the last completed epoch, the
history so far) and ``epoch-<k>/``, a folder the framework fills with its
state (weights, optimiser, random-number generators). The folder is written
whole and renamed into place, then ``meta.json`` is replaced: a crash at any
moment leaves the previous complete checkpoint.

A checkpoint records the settings it was made with, the identity of its data
among them (a digest of the arrays trained and evaluated on); resuming with
other settings (another model, batch size, seed, data...) is refused with one
line, and so is a checkpoint that does not record one of them (made by an
older version: it cannot be checked). With ``restart`` (``--resume-or-restart``,
what the campaign passes) such a checkpoint, or one past the epochs asked
for, is started over instead, with a note.

Before each state is written, the free space of its disk is checked against
the state's size: a full disk stops the run with one line, before the
framework's writer (h5py crashes the process after a failed write) runs.

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

from common.atomic import atomic_dir, remove_stale, write_json
from common.errors import UserError, reason

SPACE_MARGIN = 1.05, 1 << 20  # the state's size times this, plus this many bytes: the file format's overhead


class Checkpoint:
    def __init__(self, folder, signature: dict, resume: bool, epochs: int, restart: bool = False):
        self.folder, self.signature, self.epochs = Path(folder), signature, epochs
        self.resume, self.restart = resume or restart, restart
        self.resumed_after = None  # the epoch this run continued from, for its record
        remove_stale(self.folder)  # what a killed run was writing

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
            if self.restart:
                print(f"note: checkpoint {self.meta_path} does not parse ({exc}): starting over", flush=True)
                return None
            raise UserError(f"checkpoint {self.meta_path} does not parse ({exc}); delete it or run without --resume") from None
        problem = self.misfit(signature, epoch)
        if problem and self.restart:
            print(f"note: checkpoint {self.folder} {problem}: starting over, which replaces it", flush=True)
            return None
        if problem:
            raise UserError(f"checkpoint {self.folder} {problem}; "
                            + ("run without --resume to start over (this replaces the checkpoint)"
                               if epoch > self.epochs else "delete it or run without --resume"))
        try:
            state = read_state(self.folder / state_dir)
        except Exception as exc:  # any framework error while reading: one clear line
            raise UserError(f"checkpoint {self.folder / state_dir} does not load ({type(exc).__name__}: {exc}); "
                            f"delete it or run without --resume") from None
        print(f"resuming from the checkpoint after epoch {epoch} ({self.folder})", flush=True)
        self.resumed_after = epoch
        return epoch, history, state

    def misfit(self, signature: dict, epoch: int) -> Optional[str]:
        """Why a checkpoint of ``signature`` after ``epoch`` cannot be continued by this run, or None."""
        unrecorded = [key for key in self.signature if key not in signature]
        if unrecorded:
            return (f"does not record its {', '.join(unrecorded)} (an older version made it), so it cannot be "
                    f"checked against this run's")
        differences = [f"{key} {signature[key]!r} vs {value!r}" for key, value in self.signature.items()
                       if signature[key] != value]
        if differences:
            return f"was made with other settings ({'; '.join(differences)})"
        if epoch > self.epochs:  # the run asked for is shorter than the one saved: nothing to continue
            return f"is after epoch {epoch}, past --epochs {self.epochs}"
        return None

    def save(self, epoch: int, history: dict, write_state: Callable[[Path], None], size: int = 0) -> None:
        """``write_state(folder)`` fills the epoch's folder; ``size``: about how many bytes it writes."""
        self.check_space(size)
        name = f"epoch-{epoch}"
        try:
            with atomic_dir(self.folder / name) as tmp:
                write_state(tmp)
        except UserError:
            raise
        except Exception as exc:  # a framework's writer fails in its own way (torch: a RuntimeError)
            raise UserError(f"checkpoint {self.folder / name}: cannot be written ({reason(exc)}; {self.free_mb()} "
                            f"free on its disk); an earlier checkpoint stays as it was") from None
        write_json(self.meta_path, {"epoch": epoch, "state": name, "signature": self.signature, "history": history})
        for old in self.folder.glob("epoch-*"):
            if old.name != name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)

    def check_space(self, size: int) -> None:
        """Refuse, before writing, a state its disk has no room for (the previous one is still there)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.folder).free
        except OSError as exc:
            raise UserError(f"checkpoint {self.folder}: cannot be written ({reason(exc)})") from None
        needed = int(size * SPACE_MARGIN[0]) + SPACE_MARGIN[1]
        if free < needed:
            raise UserError(f"checkpoint {self.folder}: needs about {needed / 1e6:.1f} MB, its disk has "
                            f"{self.free_mb()} free; free some space, then continue with --resume (an earlier "
                            f"checkpoint stays as it was)")

    def free_mb(self) -> str:
        try:
            return f"{shutil.disk_usage(self.folder).free / 1e6:.1f} MB"
        except OSError:
            return "unknown space"
