"""Class labels as targets: ``fastmlp._labels`` against scikit-learn's
``LabelBinarizer``, whose work it does directly for 1-D integer labels."""

import re

import numpy as np
import pytest
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import unique_labels

from fastmlp import MLPClassifier
from fastmlp._labels import binarized, classes_of, fitted_binarizer

RNG = np.random.default_rng(0)
LABELS = {
    "binary int64": RNG.integers(0, 2, 500),
    "binary -1/1": RNG.choice([-1, 1], 500),
    "bool": RNG.integers(0, 2, 500).astype(bool),
    "one class": np.full(50, 7),
    "uint8, 3 classes": RNG.integers(0, 3, 500).astype(np.uint8),
    "int32, gaps": RNG.choice([-5, 0, 3, 1000], 500).astype(np.int32),
    "uint64, 100 classes": RNG.integers(0, 100, 2_000).astype(np.uint64),
    "int16, unsorted labels": np.array([9, -2, 4, 4, 9, -2, 0], dtype=np.int16),
    "strings": np.array(["b", "a", "c", "a"]),
    "object ints": np.array([1, 2, 1, 2], dtype=object),
    "floats": np.array([0.0, 1.0, 2.0, 1.0]),
    "continuous": np.array([0.5, 1.0, 2.0]),
    "multilabel": RNG.integers(0, 2, (40, 3)),
    "list": [3, 1, 3, 2],
}


def _outcomes(theirs, ours, y):
    """``(theirs(y), ours(y))``; or, where scikit-learn's ``theirs`` raises
    a ValueError, None once ``ours`` has raised the same."""
    try:
        expected = theirs(y)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            ours(y)
        return None
    return expected, ours(y)


@pytest.mark.parametrize("name", list(LABELS))
def test_same_as_label_binarizer(name):
    y = LABELS[name]
    outcomes = _outcomes(LabelBinarizer().fit, fitted_binarizer, y)
    if outcomes is None:
        return
    expected, ours = outcomes
    assert vars(ours).keys() == vars(expected).keys()
    for key, value in vars(expected).items():
        if isinstance(value, np.ndarray):
            assert value.dtype == vars(ours)[key].dtype, key
            np.testing.assert_array_equal(vars(ours)[key], value)
        else:
            assert vars(ours)[key] == value, key
    targets = binarized(ours, y)
    assert targets.dtype == bool
    np.testing.assert_array_equal(targets, expected.transform(y).astype(bool))


@pytest.mark.parametrize("name", list(LABELS))
def test_classes_as_unique_labels(name):
    outcomes = _outcomes(unique_labels, classes_of, LABELS[name])
    if outcomes is None:
        return
    expected, ours = outcomes
    assert ours.dtype == expected.dtype
    np.testing.assert_array_equal(ours, expected)


def test_binarizer_fitted_on_more_classes():
    """partial_fit's binarizer knows classes a batch may lack."""
    binarizer = LabelBinarizer().fit(np.arange(5))
    y = np.array([4, 0, 4, 2])
    np.testing.assert_array_equal(
        binarized(binarizer, y), binarizer.transform(y).astype(bool)
    )
    two = LabelBinarizer().fit([0, 1])
    np.testing.assert_array_equal(binarized(two, np.array([1, 1])), [[True], [True]])


def test_unknown_labels_as_label_binarizer():
    """Labels the binarizer was not fitted on: LabelBinarizer's own answer
    (rows of zeros), not a neighbour's column."""
    binarizer = LabelBinarizer().fit(np.array([0, 2, 4]))
    y = np.array([0, 1, 4, 9])
    np.testing.assert_array_equal(
        binarized(binarizer, y), binarizer.transform(y).astype(bool)
    )


@pytest.mark.parametrize("name", ["binary -1/1", "uint8, 3 classes", "strings"])
def test_classifier_fits_as_before(name):
    """The estimator's classes_, targets and model match a fit whose
    labels were strings (LabelBinarizer's own path)."""
    y = LABELS[name]
    X = np.random.default_rng(1).normal(size=(y.shape[0], 4))
    as_text = y.astype(str)
    settings = {"hidden_layer_sizes": (5,), "max_iter": 3, "random_state": 0}
    fitted = MLPClassifier(**settings).fit(X, y)
    reference = MLPClassifier(**settings).fit(X, as_text)
    assert fitted.classes_.dtype == y.dtype
    np.testing.assert_array_equal(fitted.classes_.astype(str), reference.classes_)
    np.testing.assert_array_equal(fitted.predict_proba(X), reference.predict_proba(X))
