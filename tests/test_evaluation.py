"""Metrics: confusion matrix, ten worst, loss: checked against references."""
import numpy as np
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from common import evaluation


def test_confusion_matrix_equals_scikit_learn_and_a_direct_count():
    rng = np.random.default_rng(0)
    labels, predicted = rng.integers(0, 10, 500), rng.integers(0, 10, 500)
    labels[:3] = 9  # classes absent from predictions still get their row
    matrix = evaluation.confusion_matrix(labels, predicted, 10)
    counted = np.zeros((10, 10), dtype=int)
    np.add.at(counted, (labels, predicted), 1)
    assert (matrix == counted).all()
    assert (matrix == sk_confusion_matrix(labels, predicted, labels=range(10))).all()


def test_ten_worst_are_the_lowest_probability_misclassified_images():
    n, classes = 40, [f"c{i}" for i in range(10)]
    labels = np.arange(n) % 10
    probs = np.full((n, 10), 0.0)
    rng = np.random.default_rng(1)
    p_true = rng.uniform(0.05, 0.45, n)
    wrong = rng.permutation(n)[:15]
    for i in range(n):
        other = (labels[i] + 1) % 10
        if i in wrong:   # misclassified: another class gets more
            probs[i, labels[i]], probs[i, other] = p_true[i], 1 - p_true[i]
        else:            # correct but with a LOW probability: must never be listed
            probs[i, labels[i]] = 0.15 + p_true[i] / 3  # 0.17..0.30, others <= 0.093
            probs[i, [(labels[i] + k) % 10 for k in range(1, 10)]] = (1 - probs[i, labels[i]]) / 9
    worst = evaluation.ten_worst(probs, labels, classes)
    expected = sorted(wrong, key=lambda i: p_true[i])[:10]
    assert [row["index"] for row in worst] == expected
    assert [row["rank"] for row in worst] == list(range(1, 11))
    assert all(row["predicted"] != row["actual"] for row in worst)
    assert [row["prob_actual"] for row in worst] == sorted(p_true[expected])
    assert max(probs[i, labels[i]] for i in range(n) if i not in wrong) > worst[0]["prob_actual"]


def test_ten_worst_with_fewer_mistakes_and_ties():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.3, 0.7], [0.2, 0.8]])
    labels = np.array([0, 0, 0, 1])
    worst = evaluation.ten_worst(probs, labels, ["a", "b"])
    assert [row["index"] for row in worst] == [1, 2]  # tie broken by the lower index


def test_cross_entropy_and_accuracy():
    probs = np.array([[0.5, 0.5], [0.1, 0.9], [1.0, 0.0]])
    labels = np.array([0, 1, 1])
    expected = -(np.log(0.5) + np.log(0.9) + np.log(evaluation.EPSILON)) / 3
    assert np.isclose(evaluation.cross_entropy(probs, labels), expected)
    assert evaluation.accuracy(probs, labels) == 2 / 3  # a tie goes to the first class, as argmax does
