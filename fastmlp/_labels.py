"""Class labels as a classifier's training targets.

scikit-learn's MLPClassifier turns labels into targets with a
``LabelBinarizer``, whose ``fit`` and ``transform`` each call
``type_of_target`` twice (each time ``np.unique`` of every label), and
``partial_fit`` adds ``unique_labels``: 2.7 ms of the input validation of
20,000 labels (1.0 ms without them). For one-dimensional integer or boolean
labels, the common case, ``fitted_binarizer``, ``binarized`` and
``classes_of`` compute the same attributes, targets and classes directly;
other labels (strings, floats, multilabel indicators) go through
``LabelBinarizer`` and ``unique_labels`` themselves.
"""

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import unique_labels


def _plain(y):
    """Labels whose type scikit-learn decides by counting: 1-D integers or
    booleans (``type_of_target``: "binary" up to 2 values, else
    "multiclass")."""
    return isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biu"


def classes_of(y):
    """``unique_labels(y)``: the sorted distinct labels."""
    return np.unique(y) if _plain(y) and y.size else unique_labels(y)


def fitted_binarizer(y):
    """``LabelBinarizer().fit(y)``, with the same fitted attributes."""
    binarizer = LabelBinarizer()
    if not (_plain(y) and y.size):
        return binarizer.fit(y)
    classes = classes_of(y)
    binarizer.y_type_ = "binary" if classes.size <= 2 else "multiclass"
    binarizer.sparse_input_ = False
    binarizer.classes_ = classes
    return binarizer


def binarized(binarizer, y):
    """``binarizer.transform(y).astype(bool)``: one column for two classes,
    one per class for more."""
    classes = binarizer.classes_
    if _plain(y) and classes.size >= 2 and binarizer.y_type_ in (
        "binary",
        "multiclass",
    ):
        column = np.searchsorted(classes, y).clip(0, classes.size - 1)
        if np.array_equal(classes[column], y):  # every label is a class
            if binarizer.y_type_ == "binary":
                return (column == 1).reshape(-1, 1)
            targets = np.zeros((y.size, classes.size), dtype=bool)
            targets[np.arange(y.size), column] = True
            return targets
    return binarizer.transform(y).astype(bool)
