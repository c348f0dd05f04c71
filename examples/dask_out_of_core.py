"""Out-of-core training with dask
==============================

Out-of-core training with dask: partial_fit one chunk at a time.

The data set here is a lazily generated dask array: each chunk is produced on
demand (as if read from disk), handed to ``MLPClassifier.partial_fit`` by
``dask_ml.wrappers.Incremental``, and dropped again, so the whole array never
exists in memory. Prediction and scoring run block by block too.

Runs on dask's synchronous scheduler (in this process); pass ``--cluster`` to
run the same graph on a two-process ``distributed.LocalCluster``. Needs dask
and dask-ml (``pip install "fastmlp[dask]"``); without them, prints a note and
exits.
"""

import sys
import time

try:
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental
except ImportError:
    print(
        'This example needs dask and dask-ml (pip install "fastmlp[dask]"); skipping.'
    )
    sys.exit(0)

import numpy as np

from fastmlp import MLPClassifier

N_FEATURES = 20
ROWS_PER_CHUNK = 5_000
N_TRAIN_CHUNKS, N_TEST_CHUNKS = 24, 4
CLASSES = np.array([0, 1, 2])
CENTERS = np.random.default_rng(42).normal(scale=1.5, size=(len(CLASSES), N_FEATURES))


def load_chunk(index):
    """One chunk of a synthetic 3-class problem (stands in for reading a file)."""
    rng = np.random.default_rng(index)
    y = rng.integers(len(CLASSES), size=ROWS_PER_CHUNK)
    X = CENTERS[y] + rng.normal(scale=3.0, size=(ROWS_PER_CHUNK, N_FEATURES))
    return X, y


def lazy_dataset(first_chunk, n_chunks):
    """X and y as dask arrays of ``n_chunks`` chunks; nothing is computed yet."""
    chunks = [dask.delayed(load_chunk)(first_chunk + i) for i in range(n_chunks)]
    X = da.concatenate(
        [da.from_delayed(c[0], (ROWS_PER_CHUNK, N_FEATURES), float) for c in chunks]
    )
    y = da.concatenate(
        [da.from_delayed(c[1], (ROWS_PER_CHUNK,), np.int64) for c in chunks]
    )
    return X, y


def main():
    X_train, y_train = lazy_dataset(0, N_TRAIN_CHUNKS)
    X_test, y_test = lazy_dataset(10_000, N_TEST_CHUNKS)
    print(
        f"training set: {X_train.shape[0]:,} x {X_train.shape[1]} "
        f"({X_train.nbytes / 1e6:.0f} MB) in {X_train.numblocks[0]} chunks of "
        f"{X_train.chunks[0][0]:,} rows ({X_train.blocks[0].nbytes / 1e6:.1f} MB)"
    )
    model = Incremental(
        MLPClassifier(
            hidden_layer_sizes=(32,), learning_rate_init=1e-3, random_state=0
        ),
        shuffle_blocks=True,
        random_state=0,
    )
    for epoch in range(1, 4):
        start = time.perf_counter()
        model.partial_fit(X_train, y_train, classes=CLASSES)  # one pass over chunks
        accuracy = (model.predict(X_test) == y_test).mean().compute()
        print(
            f"pass {epoch}: {time.perf_counter() - start:.2f} s, "
            f"held-out accuracy {accuracy:.4f}"
        )
    estimator = model.estimator_
    print(
        f"trained {type(estimator).__module__}.{type(estimator).__name__}, "
        f"{estimator.t_:,} samples seen"
    )


if __name__ == "__main__":
    if "--cluster" in sys.argv:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, dashboard_address=None
            ) as cluster,
            Client(cluster),
        ):
            main()
    else:
        with dask.config.set(scheduler="synchronous"):
            main()
