"""What an exercise script declares besides its models' code: its id, data set and settings.

Framework-free, so ``--help``, the campaign, the report and the benchmark read
an exercise without loading TensorFlow or torch. The models themselves are
the script's own builder functions, written in Keras or PyTorch code; each
imports its framework when it is called.
"""
from __future__ import annotations

from dataclasses import dataclass, field
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
    models: dict                # report name -> builder returning the framework's model, in the report's order
    epochs: int = 20
    longer: dict = field(default_factory=dict)   # name -> epochs, where the report trained longer (100)
    notes: dict = field(default_factory=dict)    # name -> a note for the record and the README
    augment: dict = field(default_factory=dict)  # PyTorch: name -> the batched transform its training applies
    builders_take_args: bool = False  # ex4: a builder reads the command line (weights, frozen, image size)
    describe: Optional[Callable] = None  # ex4: (args) -> the architecture text, for models built by code
    report_states_epochs: bool = True  # False: the report gives no epochs (ex4), `epochs` is this repository's
    benchmark_by_default: bool = True  # False: ResNet50 takes minutes per measurement on a CPU
    batch_size: int = 128
    lr: float = 1e-3
    extra_arguments: tuple = ()  # callables adding exercise-specific CLI options
    after_training: Optional[Callable] = None  # extra figures: (backend, args, split, out) -> None
    check_args: Optional[Callable] = None  # (args) -> None: validates extra options (raises UserError),
                                          # may set args.record_settings / args.reduced_notes

    @property
    def input_shape(self) -> tuple:
        return INPUT_SHAPES[self.dataset]

    def report_epochs(self, name: str) -> int:
        return self.longer.get(name, self.epochs)

    def builder(self, name: str, args) -> Callable[[], object]:
        """A call that builds model ``name`` for these options (ex4's builders read them)."""
        build = self.models[name]
        return (lambda: build(args)) if self.builders_take_args else build
