"""The report's per-model analysis, computed from a record: intervals, confusions, over- and underfitting.

Pure functions on plain Python values (standard library only), so the README
generator (common.report) stays framework-free and tests can check each one
against hand-computed cases. The report's words are kept where it has them:
"9 as 4 (42)" for a confused pair (actual as predicted, count), "4 and 9 (3)"
for a confusion that recurs among the ten worst images, in either direction.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Optional

Z95 = statistics.NormalDist().inv_cdf(0.975)  # two-sided 95%: 1.95996...

# Accuracy and its uncertainty ---------------------------------------------------


def correct_count(record: dict) -> int:
    """Test images classified correctly: the record keeps the accuracy and the number of images."""
    return round(record["test_accuracy"] * record["n_test"])


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple:
    """Wilson score interval of a proportion (Wilson 1927).

    Chosen over the normal approximation because it stays inside [0, 1] and
    keeps its coverage near 0% and 100%, where MNIST accuracies sit.
    """
    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(successes_a: int, n_a: int, successes_b: int, n_b: int, z: float = Z95) -> tuple:
    """b's proportion minus a's, with Newcombe's hybrid score interval (Newcombe 1998, method 10):
    (difference, lower, upper), built from the two Wilson intervals.

    It treats the two samples as independent. Two models tested on the same
    images are paired, and a paired interval (McNemar's) would usually be narrower, but
    a record keeps no per-image predictions; this interval errs on the wide side.
    """
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = wilson_interval(successes_a, n_a, z)
    low_b, high_b = wilson_interval(successes_b, n_b, z)
    difference = p_b - p_a
    lower = difference - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    upper = difference + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    return difference, lower, upper


def difference_from_fixed(successes: int, n: int, value: float, z: float = Z95) -> tuple:
    """This run's proportion minus a fixed value (the report's figure), with the run's Wilson interval
    shifted by it: (difference, lower, upper)."""
    low, high = wilson_interval(successes, n, z)
    return successes / n - value, low - value, high - value


def within_noise(lower: float, upper: float) -> bool:
    """A difference whose 95% interval holds zero cannot be told from chance."""
    return lower <= 0 <= upper


# The confusion matrix ---------------------------------------------------------

TOP_CONFUSIONS = 5  # the report lists three to five pairs per model; five shows the whole head


def top_confusions(matrix: list, class_names: list, count: int = TOP_CONFUSIONS) -> list:
    """The largest off-diagonal cells as (actual, predicted, images), largest first.

    Rows are the actual classes and columns the predicted ones (common.evaluation);
    equal counts keep the matrix order, so the list is the same on every rebuild.
    """
    cells = [(matrix[i][j], i, j) for i in range(len(matrix)) for j in range(len(matrix[i]))
             if i != j and matrix[i][j] > 0]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [(class_names[i], class_names[j], n) for n, i, j in cells[:count]]


def confusion_phrase(actual: str, predicted: str, images: int) -> str:
    return f"{actual} as {predicted} ({images})"


# The ten worst images ------------------------------------------------------------


def recurring_confusions(ten_worst: list, class_names: list) -> list:
    """Class pairs confused more than once among the ten worst, either way round, as the report
    counts them: (class, class, times), most frequent first, each pair in class order."""
    order = {name: i for i, name in enumerate(class_names)}
    pairs = Counter(tuple(sorted((row["actual"], row["predicted"]), key=lambda c: order.get(c, len(order))))
                    for row in ten_worst)
    recurring = [(a, b, n) for (a, b), n in pairs.items() if n > 1]
    recurring.sort(key=lambda pair: (-pair[2], order.get(pair[0], 0), order.get(pair[1], 0)))
    return recurring


def pair_phrase(a: str, b: str, times: int) -> str:
    return f"{a} and {b} ({times})"


def also_most_confused(recurring: list, top: list) -> list:
    """The recurring pairs that are also among the most confused cells of the matrix, in at least one
    direction: the report's cross-check of its two lists."""
    top_pairs = {frozenset((actual, predicted)) for actual, predicted, _ in top}
    return [(a, b, n) for a, b, n in recurring if frozenset((a, b)) in top_pairs]


def shared_images(own: list, others: dict) -> list:
    """Test images of this model's ten worst that are also among other models' ten worst:
    (index, [other model names]), in this model's rank order (worst first)."""
    shared = []
    for row in sorted(own, key=lambda r: r["rank"]):
        names = [name for name, rows in others.items() if any(r["index"] == row["index"] for r in rows)]
        if names:
            shared.append((row["index"], names))
    return shared


# The training history --------------------------------------------------------------

SMOOTHING = 5  # epochs in the running median: one spike or one lucky epoch decides nothing
RISE = 0.03    # a smoothed validation loss this far above its lowest is a rise, not noise
TAIL = 3       # a rise counts once it lasts this many epochs; a lowest point later than that is "still improving"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class Fit:
    """What the training history says: the best epochs and whether the model over- or underfits."""
    epochs: int
    best_val_accuracy_epoch: int
    best_val_accuracy: float
    lowest_val_loss_epoch: int
    lowest_val_loss: float
    verdict: str                           # "overfits", "underfits", "neither" or "too short"
    onset: Optional[int] = None            # overfits: the first epoch after the smoothed lowest validation loss
    smoothed_low_epoch: Optional[int] = None
    smoothed_low: Optional[float] = None   # validation loss, running median, at smoothed_low_epoch
    smoothed_end: Optional[float] = None   # ... and at the last epoch
    train_loss_at_low: Optional[float] = None
    train_loss_end: Optional[float] = None
    train_accuracy_end: Optional[float] = None
    val_accuracy_end: Optional[float] = None
    below_validation: bool = False  # training accuracy ends under the validation accuracy's 95% interval
    still_improving: bool = False   # the validation loss is lowest within the last TAIL epochs

    @property
    def rise(self) -> float:
        """How far the smoothed validation loss ends above its lowest, as a fraction."""
        return self.smoothed_end / self.smoothed_low - 1


def valid_history(history) -> bool:
    """Four lists of finite numbers of one length, at least one epoch."""
    if not isinstance(history, dict):
        return False
    series = [history.get(name) for name in METRICS]
    if not all(isinstance(values, list) and values for values in series):
        return False
    if len({len(values) for values in series}) != 1:
        return False
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for values in series for v in values)


def running_median(values: list, width: int = SMOOTHING) -> list:
    """Centred running median; the window shrinks at both ends."""
    half = width // 2
    return [statistics.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))]


def first_min(values: list) -> int:
    return min(range(len(values)), key=lambda i: (values[i], i))


def first_max(values: list) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))


def fit(history: dict, n_val: Optional[int] = None) -> Fit:
    """Best epochs (1-based) and the verdict, from a valid history (see valid_history).

    Overfits: the smoothed validation loss is lowest at some epoch at least TAIL
    epochs before the end, and ends RISE or more above that lowest value while the
    smoothed training loss ends below its value there. Underfits (when it does not
    overfit): the validation loss, raw or smoothed, is still lowest in the last TAIL
    epochs (training stopped while it was still learning), or the smoothed training
    accuracy ends below the 95% interval of the validation accuracy, on n_val images
    (the model does worse on the images it learns from than on others; without
    n_val this test is left out).
    """
    n = len(history["loss"])
    best_acc, low_loss = first_max(history["val_accuracy"]), first_min(history["val_loss"])
    basics = dict(epochs=n, best_val_accuracy_epoch=best_acc + 1,
                  best_val_accuracy=history["val_accuracy"][best_acc],
                  lowest_val_loss_epoch=low_loss + 1, lowest_val_loss=history["val_loss"][low_loss])
    if n <= TAIL:
        return Fit(verdict="too short", **basics)
    val_loss, train_loss = running_median(history["val_loss"]), running_median(history["loss"])
    train_acc, val_acc = running_median(history["accuracy"]), running_median(history["val_accuracy"])
    # The smoothed curve decides the level, the raw one the epoch among equal smoothed values:
    # the running median of a V-shaped curve is flat around its bottom.
    low = min(range(n), key=lambda i: (val_loss[i], history["val_loss"][i], i))
    still_improving = n - (max(low, low_loss) + 1) < TAIL
    below = n_val is not None and train_acc[-1] < wilson_interval(round(val_acc[-1] * n_val), n_val)[0]
    overfits = (not still_improving and val_loss[-1] >= val_loss[low] * (1 + RISE)
                and train_loss[-1] < train_loss[low])
    underfits = not overfits and (still_improving or below)
    return Fit(verdict="overfits" if overfits else "underfits" if underfits else "neither",
               onset=low + 2 if overfits else None, smoothed_low_epoch=low + 1, smoothed_low=val_loss[low],
               smoothed_end=val_loss[-1], train_loss_at_low=train_loss[low], train_loss_end=train_loss[-1],
               train_accuracy_end=train_acc[-1], val_accuracy_end=val_acc[-1], below_validation=below,
               still_improving=still_improving, **basics)


def best_epochs_phrase(result: Fit) -> str:
    return (f"best validation accuracy {result.best_val_accuracy * 100:.2f}% at epoch "
            f"{result.best_val_accuracy_epoch}, lowest validation loss {result.lowest_val_loss:.4g} at epoch "
            f"{result.lowest_val_loss_epoch} (of {result.epochs})")


def fit_phrase(result: Fit, augmented: bool = False) -> str:
    """The verdict in words, with the numbers it rests on."""
    if result.verdict == "too short":
        return f"too few epochs ({result.epochs}) to tell over- from underfitting"
    smoothed = f"running median of {SMOOTHING} epochs"
    accuracies = (f"training accuracy {result.train_accuracy_end * 100:.1f}% against validation "
                  f"{result.val_accuracy_end * 100:.1f}% at the end ({smoothed})")
    if result.verdict == "overfits":
        return (f"**overfits from epoch {result.onset}**: the validation loss ({smoothed}) is lowest at epoch "
                f"{result.smoothed_low_epoch} ({result.smoothed_low:.4g}) and ends {result.rise * 100:.0f}% higher "
                f"({result.smoothed_end:.4g}), while the training loss falls from {result.train_loss_at_low:.4g} "
                f"to {result.train_loss_end:.4g}")
    if result.verdict == "underfits":
        reasons = []
        if result.still_improving:
            where = (f"lowest at epoch {result.lowest_val_loss_epoch}"
                     if result.epochs - result.lowest_val_loss_epoch < TAIL else
                     f"lowest at epoch {result.smoothed_low_epoch} in the {smoothed}")
            reasons.append(f"the validation loss is still falling at the end ({where} of {result.epochs}): "
                           f"more epochs may help")
        if result.below_validation:
            reasons.append(accuracies + (", on augmented training images" if augmented else "")
                           + ", below the validation accuracy's 95% interval")
        return "**underfits**: " + "; ".join(reasons)
    if result.rise >= RISE:  # the validation loss rose, but the training loss did not fall with it
        return (f"neither over- nor underfits: the validation loss ({smoothed}) ends {result.rise * 100:.0f}% above "
                f"its lowest (epoch {result.smoothed_low_epoch}), but the training loss does not fall meanwhile "
                f"({result.train_loss_at_low:.4g} to {result.train_loss_end:.4g}); {accuracies}")
    return (f"neither over- nor underfits: after epoch {result.smoothed_low_epoch} the validation loss "
            f"({smoothed}) stays within {RISE * 100:.0f}% of its lowest (ends {result.rise * 100:+.1f}%); "
            f"{accuracies}")


# Time ------------------------------------------------------------------------------


def epoch_times(record: dict) -> Optional[list]:
    """The history's seconds per epoch, or None when they are missing or not all finite numbers."""
    history = record.get("history")
    times = history.get("seconds") if isinstance(history, dict) else None
    if not (isinstance(times, list) and times and all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in times)):
        return None
    return times


def time_outside_epochs(record: dict) -> Optional[float]:
    """How much longer the training time is than its epochs' sum, as a fraction of that sum, or None."""
    times = epoch_times(record)
    return (record["train_time_s"] - sum(times)) / sum(times) if times and sum(times) > 0 else None


# In words: what the README prints ----------------------------------------------------


def accuracy_text(accuracy: float, n: int) -> str:
    """ "92.17% [91.63, 92.68]": an accuracy on n images and its 95% Wilson interval, in percent."""
    low, high = wilson_interval(round(accuracy * n), n)
    return f"{accuracy * 100:.2f}% [{low * 100:.2f}, {high * 100:.2f}]"


def difference_text(difference: float, lower: float, upper: float) -> str:
    """ "+0.21 pts [-0.32, +0.71]": a difference of accuracies (fractions) in percentage points."""
    return f"{difference * 100:+.2f} pts [{lower * 100:+.2f}, {upper * 100:+.2f}]"


def noise_text(lower: float, upper: float) -> str:
    """A table's answer to "within the noise?"; the differences chance cannot explain stand out."""
    return "yes" if within_noise(lower, upper) else "**no**"


def noise_phrase(lower: float, upper: float) -> str:
    return "within the noise" if within_noise(lower, upper) else "beyond the noise"


def valid_matrix(matrix, class_names) -> bool:
    """A square matrix of non-negative whole numbers, one row and column per class."""
    size = len(class_names) if isinstance(class_names, list) else -1
    return (isinstance(matrix, list) and len(matrix) == size
            and all(isinstance(row, list) and len(row) == size for row in matrix)
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for row in matrix for v in row))


def confusions_finding(record: dict) -> str:
    """The most confused pairs, as the report lists them."""
    if not valid_matrix(record.get("confusion_matrix"), record.get("class_names")):
        return "the record holds no usable confusion matrix"
    top = top_confusions(record["confusion_matrix"], record["class_names"])
    if not top:
        return "no test image is misclassified"
    return "most confused (actual as predicted): " + ", ".join(confusion_phrase(*t) for t in top)


def ten_worst_finding(record: dict, others: dict) -> str:
    """What the ten worst have in common: recurring confusions, and images other models also get worst.

    ``others``: model name -> ten-worst rows of the other models of the same exercise and framework."""
    rows, names = record.get("ten_worst"), record.get("class_names") or []
    if not rows:
        return "the record holds no ten worst"
    recurring = recurring_confusions(rows, names)
    if recurring:
        text = "confusions that recur among them: " + ", ".join(pair_phrase(*r) for r in recurring)
        if valid_matrix(record.get("confusion_matrix"), names):
            both = also_most_confused(recurring, top_confusions(record["confusion_matrix"], names))
            text += ("; " + ", ".join(f"{a} and {b}" for a, b, _ in both)
                     + (" is" if len(both) == 1 else " are") + " also among the most confused pairs"
                     if both else "; none is among the most confused pairs")
    else:
        text = "no confusion recurs among them: each pair of classes appears once"
    shared = shared_images(rows, others)
    if shared:
        text += ("; images also among another model's ten worst in this exercise: "
                 + ", ".join(f"{index} ({', '.join(models)})" for index, models in shared))
    elif others:
        text += "; none of them is among another model's ten worst in this exercise"
    return text


def history_finding(record: dict) -> str:
    history = record.get("history")
    if not valid_history(history):
        return "the record holds no usable training history"
    result = fit(history, record.get("n_val") if isinstance(record.get("n_val"), int) else None)
    return f"{best_epochs_phrase(result)}; {fit_phrase(result, augmented=bool(record.get('augmentation')))}"


def rules() -> str:
    """How the analysis is computed, in words, from the constants it uses."""
    return (f"*Most confused*: the {TOP_CONFUSIONS} largest off-diagonal cells of the confusion matrix, written as "
            f"the report does: *actual* as *predicted* (images). *History*: the validation loss, smoothed by a "
            f"running median of {SMOOTHING} epochs; the model **overfits from epoch k** when that smoothed loss is "
            f"lowest at epoch k − 1, at least {TAIL} epochs before the end, and ends {RISE * 100:.0f}% or more above "
            f"that lowest value while the smoothed training loss ends lower than there; otherwise it **underfits** "
            f"when its validation loss is still lowest in the last {TAIL} epochs, or its training accuracy ends "
            f"below the 95% interval of its validation accuracy. *Ten worst*: class pairs confused more than once "
            f"among them, either way round, counted as the report counts them: *a* and *b* (times).")
