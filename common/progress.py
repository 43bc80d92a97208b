"""Progress inside a long epoch, shared by both training loops.

A ResNet50 epoch on a CPU runs for many minutes, and at --image-size 224 for
hours: one line per epoch would leave a user staring at nothing. A line every
INTERVAL_S seconds says how far the epoch is and how long it has left; an
epoch shorter than that prints nothing extra, so short runs and logs stay as
they were. Plain lines (no carriage returns), so logs and `nohup` files read
well. Framework-free: the loops pass the running loss as a callable, read
only when a line is printed (on a GPU, reading it waits for the device).
"""
from __future__ import annotations

import time
from typing import Callable, Optional

INTERVAL_S = 30.0


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class StepProgress:
    """Call ``step(done)`` after each training step of one epoch of ``steps`` steps."""

    def __init__(self, epoch: int, epochs: int, steps: int, interval_s: Optional[float] = None,
                 clock: Callable[[], float] = time.perf_counter, out: Callable = print):
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self.interval_s = INTERVAL_S if interval_s is None else interval_s
        self.clock, self.out = clock, out
        self.start = self.last = clock()
        self.first_done = None  # when step 1 ended: the time per step is measured from there

    def step(self, done: int, running_loss: Optional[Callable[[], float]] = None) -> None:
        now = self.clock()
        if self.first_done is None:
            # Step 1 also builds, traces or warms up (Keras traces the model then): not a rate.
            self.first_done = now
        if now - self.last < self.interval_s or not 1 < done < self.steps:
            return
        self.last = now
        per_step = (now - self.first_done) / (done - 1)
        loss = f", loss so far {running_loss():.4f}" if running_loss is not None else ""
        self.out(f"  epoch {self.epoch}/{self.epochs}: step {done}/{self.steps} ({done / self.steps:.0%}){loss}, "
                 f"{per_step:.2f} s/step, about {duration(per_step * (self.steps - done))} left in this epoch",
                 flush=True)
