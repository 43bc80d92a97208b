"""TensorBoard event files of per-epoch scalars, written without TensorFlow.

    board = EpochBoard(folder)                     # folder/train/ and folder/validation/
    board.add(epoch, loss, accuracy, val_loss, val_accuracy)
    board.close()

What ``keras.callbacks.TensorBoard`` writes for each epoch, in the same form: a
``train/`` and a ``validation/`` run, tags ``epoch_loss`` and
``epoch_accuracy``, step = epoch - 1 (Keras counts epochs from 0), each value a
float32 scalar tensor of the "scalars" plugin. So the curves of both frameworks
overlay in ``tensorboard --logdir DIR``.

Why not ``torch.utils.tensorboard``: it imports TensorFlow whenever TensorFlow
is installed (through ``tensorboard.compat.tf``), and TensorFlow with torch's
triton in one process segfaults. This module uses only the ``tensorboard``
package's protocol buffers and its record writer (``RecordWriter``, the
TFRecord framing with its masked CRC32C) around an ordinary file, and never
touches ``tensorboard.compat.tf``: no TensorFlow, real or stub, is imported.
Framework-free: PyTorch's loop calls it; Keras keeps its own callback.

``check_folder`` is the check made before training, with the run's other
outputs: a --tensorboard folder that is a file, or read-only, stops the run in
one line instead of failing after it. A write that fails during training (a
full disk) is a warning, once; the run goes on without its event files.
"""
from __future__ import annotations

import itertools
import os
import socket
import struct
import sys
import time
from pathlib import Path

from common.atomic import check_writable
from common.errors import UserError, reason

RUNS = ("train", "validation")  # the sub-folders keras.callbacks.TensorBoard writes
TAGS = ("epoch_loss", "epoch_accuracy")
_NUMBER = itertools.count()  # several writers in one process, one second: distinct file names


def check_folder(folder) -> None:
    """Stop now, in one line, if event files cannot be written under ``folder`` (a file in the way, read-only), or
    if the tensorboard package that writes them is not installed."""
    check_writable(folder, "--tensorboard: ")
    _proto()


def _proto():
    """The tensorboard package's protocol buffers and record writer (imported when first needed: the package
    is only required with --tensorboard)."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
        from tensorboard.summary.writer.record_writer import RecordWriter
    except ImportError as exc:
        raise UserError(f"--tensorboard needs the tensorboard package ({reason(exc)}): pip install tensorboard") \
            from None
    return event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2, RecordWriter


class EventFile:
    """One event file in ``folder``, named as TensorFlow names them; scalars appended and flushed one by one."""

    def __init__(self, folder):
        self.event_pb2, self.summary_pb2, self.tensor_pb2, self.shape_pb2, self.types_pb2, record_writer = _proto()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                              f"{os.getpid()}.{next(_NUMBER)}.v2")
        self.file = open(self.path, "wb")
        self.writer = record_writer(self.file)
        self._write(self.event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))

    def _write(self, event) -> None:
        self.writer.write(event.SerializeToString())
        self.writer.flush()

    def scalar(self, tag: str, value: float, step: int) -> None:
        tensor = self.tensor_pb2.TensorProto(dtype=self.types_pb2.DT_FLOAT,
                                             tensor_shape=self.shape_pb2.TensorShapeProto(),
                                             tensor_content=struct.pack("<f", float(value)))
        metadata = self.summary_pb2.SummaryMetadata(
            plugin_data=self.summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
        summary = self.summary_pb2.Summary(value=[self.summary_pb2.Summary.Value(tag=tag, tensor=tensor,
                                                                                 metadata=metadata)])
        self._write(self.event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def close(self) -> None:
        self.writer.close()


class EpochBoard:
    """Per-epoch loss and accuracy of a training and a validation run, as keras.callbacks.TensorBoard writes them,
    under ``folder``/train/ and ``folder``/validation/."""

    def __init__(self, folder):
        self.folder, self.files, self.failed = Path(folder), {}, False
        try:
            self.files = {run: EventFile(self.folder / run) for run in RUNS}
        except OSError as exc:
            self._warn(exc)

    def add(self, epoch: int, loss: float, accuracy: float, val_loss: float, val_accuracy: float) -> None:
        """The metrics of epoch ``epoch`` (counted from 1; written at step epoch - 1, as Keras does)."""
        if self.failed:
            return
        values = {"train": (loss, accuracy), "validation": (val_loss, val_accuracy)}
        try:
            for run, file in self.files.items():
                for tag, value in zip(TAGS, values[run]):
                    file.scalar(tag, value, epoch - 1)
        except OSError as exc:
            self._warn(exc)

    def close(self) -> None:
        for file in self.files.values():
            try:
                file.close()
            except OSError as exc:
                self._warn(exc)

    def _warn(self, exc: OSError) -> None:
        if not self.failed:
            print(f"warning: --tensorboard: cannot write the event files in {self.folder} ({reason(exc)}); "
                  f"training goes on without them", file=sys.stderr, flush=True)
        self.failed = True
