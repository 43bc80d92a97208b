"""What an exercise script declares: its models and settings (no heavy imports,
so ``--help`` and ``--list`` answer at once)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

# Image shape (H, W, C) of each data set; duplicated from common.data on purpose
# so this module imports nothing heavy (a test checks they agree).
INPUT_SHAPES = {"mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


@dataclass
class Exercise:
    id: str                     # "ex1" .. "ex4"
    framework: str              # "keras" | "pytorch"
    script: str                 # file name, for --help
    dataset: str                # "mnist" | "cifar10"
    description: str
    models: dict                # report name -> ModelDef, in the report's order
    epochs: int = 20
    report_states_epochs: bool = True  # False: the report gives no epochs (ex4), `epochs` is this repository's
    batch_size: int = 128
    lr: float = 1e-3
    extra_arguments: tuple = ()  # callables adding exercise-specific CLI options
    after_training: Optional[Callable] = None  # extra figures: (backend, args, split, out) -> None
    check_args: Optional[Callable] = None  # (args) -> None: validates extra options (raises UserError),
                                          # may set args.record_settings / args.reduced_notes

    @property
    def input_shape(self) -> tuple:
        return INPUT_SHAPES[self.dataset]
