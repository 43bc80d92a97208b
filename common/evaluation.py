"""Test-set metrics from predicted probabilities, the same for both frameworks.

Computing loss, accuracy, the confusion matrix and the ten worst images here,
from the probabilities each framework predicts, guarantees that Keras and
PyTorch numbers mean exactly the same thing.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix

# Keras clips probabilities at this epsilon in its cross-entropy; so do we.
EPSILON = 1e-7


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true class."""
    p_true = probs[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(p_true, EPSILON, 1.0))))


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(probs.argmax(axis=1) == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows: actual class, columns: predicted class (scikit-learn's convention)."""
    return _sk_confusion_matrix(labels, predicted, labels=list(range(n_classes)))


def ten_worst(probs: np.ndarray, labels: np.ndarray, class_names, k: int = 10) -> list:
    """The k misclassified images with the lowest probability for their actual class.

    Rank 1 is the worst. ``index`` is the position in the test set, which is
    the position in the official test set (the data keeps the original order).
    Ties are broken by the lower index, so the ranking is deterministic.
    """
    predicted = probs.argmax(axis=1)
    p_true = probs[np.arange(len(labels)), labels]
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.lexsort((wrong, p_true[wrong]))][:k]
    return [
        {
            "rank": rank,
            "index": int(i),
            "predicted": class_names[predicted[i]],
            "actual": class_names[labels[i]],
            "prob_actual": float(p_true[i]),
        }
        for rank, i in enumerate(order, start=1)
    ]


def first_non_finite(history: dict):
    """(key, epoch, value) of the earliest NaN or infinite number of a per-epoch history, else None.

    Any of them, not only the training loss: a run whose validation loss is NaN has no result either.
    """
    epochs = max((len(values) for values in history.values()), default=0)
    for epoch in range(epochs):
        for key, values in history.items():
            if epoch < len(values) and not np.isfinite(values[epoch]):
                return key, epoch + 1, values[epoch]
    return None
