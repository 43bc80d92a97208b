"""Per-epoch checkpoints, so an interrupted run resumes where it stopped, and a finished one can go on.

Layout: ``<out>/checkpoints/<exercise>/<framework>/<model>/`` (git-ignored)
holding ``meta.json`` (the run's settings, the last completed epoch, the
history so far, and the name of the state's folder) and ``epoch-<k>/``, a
folder the framework fills with its state (weights, optimiser, random-number
generators). A new state is written whole under a name no meta.json points
at, renamed into place, and only then is ``meta.json`` replaced, by one
rename (common.atomic): at every instant meta.json exists and names a
complete state, the previous one until the new one is complete. Older states
are removed after. A crash, Ctrl-C or SIGTERM at any moment leaves the
previous complete checkpoint, or the new one.

A checkpoint records the settings it was made with (its signature), among
them the precision (fp32, bf16, fp16) and the identity of its data (a digest
of the arrays trained and evaluated on). Resuming compares the two signatures
in both directions: any setting that differs, or that one of them states and
the other does not, is refused with one line naming it. A checkpoint made
before precisions were recorded was fp32, and counts as such (so does a run's
signature without one). A checkpoint lacking any other setting of this run
was made by an older version and cannot be checked: refused, saying so. With
``restart`` (``--resume-or-restart``, what the campaign passes) such a
checkpoint, or one past the epochs asked for, is started over instead, with a
note. A state that does not load into the model (another architecture, a
damaged file) is one line saying so, ``restart`` or not: the model may have
been partly loaded, so the run cannot go on.

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
import secrets
import shutil
from pathlib import Path
from typing import Callable, Optional

from common.atomic import atomic_dir, remove_stale, write_json
from common.errors import UserError, reason

SPACE_MARGIN = 1.05, 1 << 20  # the state's size times this, plus this many bytes: the file format's overhead
DEFAULTS = {"precision": "fp32"}  # what a signature without the key means: before --precision, runs were fp32


def with_defaults(signature: dict) -> dict:
    """A signature as compared: the precision stated (fp32 where it is not)."""
    return {**DEFAULTS, **signature}


def one_line(exc: BaseException) -> str:
    """An exception as one line: its type and its message's lines joined (torch's load_state_dict errors run to
    several lines: the first says which model, the next ones what does not fit), cut to a readable length."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Checkpoint:
    def __init__(self, folder, signature: dict, resume: bool, epochs: int, restart: bool = False):
        self.folder, self.signature, self.epochs = Path(folder), with_defaults(signature), epochs
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
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
            if self.restart:
                print(f"note: checkpoint {self.meta_path} does not parse ({exc}): starting over", flush=True)
                return None
            raise UserError(f"checkpoint {self.meta_path} does not parse ({exc}); delete it or run without --resume") from None
        if not isinstance(signature, dict) or not isinstance(history, dict) or type(epoch) is not int \
                or not isinstance(state_dir, str) or "/" in state_dir or "\\" in state_dir or state_dir.startswith("."):
            problem = "does not parse (its signature, epoch or state is not what a checkpoint holds)"
            if self.restart:
                print(f"note: checkpoint {self.meta_path} {problem}: starting over", flush=True)
                return None
            raise UserError(f"checkpoint {self.meta_path} {problem}; run without --resume to start over "
                            f"(this replaces it)")
        problem, advice = self.misfit(signature, epoch)
        if problem and self.restart:
            print(f"note: checkpoint {self.folder} {problem}: starting over, which replaces it", flush=True)
            return None
        if problem:
            raise UserError(f"checkpoint {self.folder} {problem}; {advice}")
        try:
            state = read_state(self.folder / state_dir)
        except Exception as exc:  # any framework error while reading or loading it: one clear line
            raise UserError(f"checkpoint {self.folder / state_dir} does not load into this model ({one_line(exc)}); "
                            f"it was saved by another version of the model or is damaged: run without --resume "
                            f"to start over (this replaces it)") from None
        print(f"resuming from the checkpoint after epoch {epoch} ({self.folder})", flush=True)
        self.resumed_after = epoch
        return epoch, history, state

    def misfit(self, signature: dict, epoch: int) -> tuple:
        """(why a checkpoint of ``signature`` after ``epoch`` cannot be continued by this run, what to do), or
        (None, None). The signatures are compared both ways, the precision defaulting to fp32 on each side."""
        saved = with_defaults(signature)
        unrecorded = [key for key in self.signature if key not in saved]
        if unrecorded:
            return (f"does not record its {', '.join(unrecorded)} (an older version made it), so it cannot be "
                    f"checked against this run's", "run without --resume to start over (this replaces it)")
        differences = [f"{key} {saved[key]!r} vs {self.signature[key]!r}" if key in self.signature else
                       f"{key} {saved[key]!r}, which this run does not state" for key in saved
                       if key not in self.signature or saved[key] != self.signature[key]]
        if differences:
            hint = f" (e.g. --precision {saved['precision']})" if saved["precision"] != self.signature["precision"] \
                else ""
            return (f"was made with other settings ({'; '.join(differences)})",
                    f"continue it with the settings it was made with{hint}, or run without --resume to start over "
                    f"(this replaces it)")
        if epoch > self.epochs:  # the run asked for is shorter than the one saved: nothing to continue
            return (f"is after epoch {epoch}, past --epochs {self.epochs}",
                    "run without --resume to start over (this replaces the checkpoint)")
        return None, None

    def save(self, epoch: int, history: dict, write_state: Callable[[Path], None], size: int = 0) -> None:
        """``write_state(folder)`` fills the epoch's folder; ``size``: about how many bytes it writes."""
        self.check_space(size)
        name = self.free_name(epoch)
        try:
            if (self.folder / name).exists():  # a killed run's, which no meta.json points at
                shutil.rmtree(self.folder / name)
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

    def current_state(self) -> Optional[str]:
        """The name of the state folder meta.json points at, if it parses."""
        try:
            state = json.loads(self.meta_path.read_text())["state"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            return None
        return state if isinstance(state, str) else None

    def free_name(self, epoch: int) -> str:
        """``epoch-<k>``, or, when meta.json points at a folder of that name (the same epoch saved again after a
        restart), another name: the folder meta.json points at is never replaced under it."""
        name = f"epoch-{epoch}"
        return name if name != self.current_state() else f"{name}-{secrets.token_hex(4)}"

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
