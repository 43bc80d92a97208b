"""The report's figures, drawn with matplotlib and written atomically."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay  # noqa: E402

from common.atomic import atomic_path  # noqa: E402


def _save(fig, path, metadata=None) -> None:
    """``metadata``: the PNG's text chunks (None as a value leaves matplotlib's default out)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight", metadata=metadata)
    plt.close(fig)


SPIKE_FACTOR = 10  # a loss this many times most of the others squeezes them into the bottom tenth of the axis


def needs_log_scale(values) -> bool:
    """True when a few spikes would squash the rest of a positive curve into a flat line:
    the largest value is over SPIKE_FACTOR times the upper quartile.

    E.g. Keras ex4 MyResNet's validation loss: about 1 at most epochs but 280 at epoch 15.
    A curve that merely falls from 0.4 to 0.005 (training loss going to zero) stays linear.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values) or values.min() <= 0:  # a log axis cannot show 0
        return False
    return bool(values.max() > SPIKE_FACTOR * np.percentile(values, 75))


def plot_history(history: dict, metric: str, title: str, path, val_label: str = "validation") -> None:
    """Train and validation curves of one metric ('loss' or 'accuracy') per epoch."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", ms=3, label="train")
    ax.plot(epochs, history[f"val_{metric}"], "o-", ms=3, label=val_label)
    ax.set_xlabel("epoch")
    log = metric == "loss" and needs_log_scale(list(history[metric]) + list(history[f"val_{metric}"]))
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(f"{metric} (log scale)" if log else metric)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    _save(fig, path)


COMPARISON_FONT = 12  # points: shown 800 pixels wide (of 1,100), text is still about 13 pixels tall
MARKERS_UP_TO = 30     # epochs: beyond that, markers would blur into the line


def plot_comparison(series, title: str, path, comment: str = "") -> None:
    """The validation accuracy (left, in percent) and loss (right) per epoch of several runs, one line
    each in the same colour on both panels, and one legend under both.

    ``series``: [(label, val_accuracy, val_loss)], accuracies as fractions. The loss goes on a log axis
    when a spike would flatten the other curves (needs_log_scale). The PNG holds ``comment`` and no
    matplotlib version, so the same data on the same matplotlib gives the same bytes.
    """
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    longest = max(len(accuracy) for _, accuracy, _ in series)
    for i, (label, accuracy, loss) in enumerate(series):
        epochs = np.arange(1, len(accuracy) + 1)
        # Ten colours, then the same colours dashed: every line stays distinguishable.
        style = dict(color=f"C{i % 10}", linestyle="-" if i < 10 else "--", linewidth=1.8,
                     marker="o" if longest <= MARKERS_UP_TO else None, markersize=3.5)
        acc_ax.plot(epochs, np.asarray(accuracy, dtype=float) * 100, label=label, **style)
        loss_ax.plot(epochs, loss, **style)
    log = needs_log_scale([v for _, _, loss in series for v in loss])
    if log:
        loss_ax.set_yscale("log")
    loss_name = "validation loss" + (" (log scale)" if log else "")
    for ax, name in ((acc_ax, "validation accuracy (%)"), (loss_ax, loss_name)):
        ax.set_xlabel("epoch", fontsize=COMPARISON_FONT)
        ax.set_ylabel(name, fontsize=COMPARISON_FONT)
        ax.tick_params(labelsize=COMPARISON_FONT - 1)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))  # epochs 5, 10, 15, ...
        ax.set_xlim(0.5, longest + 0.5)
    fig.suptitle(title, fontsize=COMPARISON_FONT + 1)
    fig.tight_layout()
    fig.legend(*acc_ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=1 if len(series) < 3 else 2, fontsize=COMPARISON_FONT - 1, frameon=False)
    _save(fig, path, metadata={"Software": None, "Comment": comment})


CONFUSION_FONT = 13  # points: at the README's 450-pixel height a count is still about 12 pixels tall


def plot_confusion_matrix(matrix: np.ndarray, class_names, title: str, path) -> None:
    """Counts of (actual, predicted) on the test set, large enough to read every count."""
    fig, ax = plt.subplots(figsize=(8, 7))
    ConfusionMatrixDisplay(matrix, display_labels=class_names).plot(
        ax=ax, cmap="Blues", colorbar=False, values_format="d", xticks_rotation=45,
        text_kw={"fontsize": CONFUSION_FONT})
    ax.tick_params(labelsize=CONFUSION_FONT - 1)
    ax.set_xlabel(ax.get_xlabel(), fontsize=CONFUSION_FONT)
    ax.set_ylabel(ax.get_ylabel(), fontsize=CONFUSION_FONT)
    ax.set_title(title, fontsize=CONFUSION_FONT)
    _save(fig, path)


def _as_displayable(image: np.ndarray) -> np.ndarray:
    return image[..., 0] if image.shape[-1] == 1 else image


def save_image(image: np.ndarray, path, scale: int = 3) -> None:
    """One uint8 (H, W, C) image, enlarged by pixel repetition so it stays sharp."""
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    with atomic_path(path) as tmp:
        plt.imsave(tmp, _as_displayable(big), cmap="gray", format="png", vmin=0, vmax=255)


def save_grid(images: np.ndarray, path, titles=None, columns: int = 8, row_labels=None,
              cell_inches: float = 1.6) -> None:
    """A grid of uint8 (N, H, W, C) images, e.g. originals next to augmentations.

    ``titles`` go above the images, ``row_labels`` (e.g. "original", "augmented")
    to the left of each row. Each image is ``cell_inches`` wide: at 1.6 a row is
    about 150 pixels tall, taller than the report showed its grids (100 and 180
    pixels for one and four rows).
    """
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * cell_inches, rows * cell_inches * 1.1),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.flat, images)):
        ax.imshow(_as_displayable(image), cmap="gray", vmin=0, vmax=255)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    for row, label in enumerate(row_labels or []):
        # axis("off") hides a y label, so the label is text just left of the row's first image
        axes[row, 0].text(-0.1, 0.5, label, transform=axes[row, 0].transAxes, ha="right", va="center",
                          fontsize=12, rotation=90)
    _save(fig, path)
