"""fastmlp inside the tools that run it: joblib and dask, read-only data and
installs, threads and processes.

These are the places where numba-based libraries have broken for users
(unwritable cache directories, thread oversubscription under joblib, aborts
when parallel code is entered from several threads, hangs after fork). Anything
that could crash or hang the interpreter runs in a subprocess with a timeout, so
that it fails its test instead of taking pytest down.
"""

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import mostly_zero
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from threadpoolctl import threadpool_info

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor

X_CLF, Y_CLF = make_classification(
    n_samples=240, n_features=10, n_informative=5, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=240, n_features=10, noise=1.0, random_state=0)
GRID = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(8,), (16,)]}
# seconds a subprocess may take; cold JIT compiles take ~30 s on 2 cores
SUBPROCESS_TIMEOUT = 600


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _run_python(code, *args, env=None, prefix=(), timeout=SUBPROCESS_TIMEOUT):
    """Run ``code`` in a fresh interpreter; its stdout (fails on nonzero exit)."""
    result = subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert result.returncode == 0, (
        f"exit code {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def _max_threads():
    """The largest thread count among the loaded BLAS / OpenMP libraries."""
    return max(lib["num_threads"] for lib in threadpool_info())


def _fair_share(n_workers):
    """Threads per worker that keep workers x threads within the CPUs."""
    return max(1, joblib.cpu_count() // n_workers)


# --------------------------------------------------------------------------
# 1. joblib: n_jobs gives the same models, and workers do not oversubscribe
# --------------------------------------------------------------------------


def _blas_threads_scorer(estimator, X, y):
    """A 'score': BLAS/OpenMP threads in the process that just fit the model."""
    return _max_threads()


def _grid_search(n_jobs, X=X_CLF, y=Y_CLF):
    search = GridSearchCV(
        MLPClassifier(max_iter=20, random_state=0),
        GRID,
        cv=3,
        n_jobs=n_jobs,
        scoring={
            "accuracy": "accuracy",
            "log_loss": "neg_log_loss",  # continuous: any difference shows
            "threads": _blas_threads_scorer,
        },
        refit="accuracy",
    )
    return search.fit(X, y)


def _assert_same_search(search, reference):
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    for key, want in reference.cv_results_.items():
        if key.endswith(("_test_accuracy", "_test_log_loss")):
            np.testing.assert_array_equal(search.cv_results_[key], want, key)
    assert search.best_params_ == reference.best_params_
    np.testing.assert_array_equal(
        search.best_estimator_.predict_proba(X_CLF),
        reference.best_estimator_.predict_proba(X_CLF),
    )


@pytest.fixture(scope="module")
def serial_search():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _grid_search(n_jobs=1)


@pytest.mark.parametrize("n_jobs", [-1, 2])
def test_grid_search_n_jobs_same_as_serial(n_jobs, serial_search):
    search = _grid_search(n_jobs)
    _assert_same_search(search, serial_search)
    n_workers = joblib.effective_n_jobs(n_jobs)
    if n_workers > 1:  # the fits ran in loky workers: were their BLAS limited?
        threads = [
            search.cv_results_[f"split{k}_test_threads"][i]
            for k in range(3)
            for i in range(len(search.cv_results_["params"]))
        ]
        assert max(threads) <= _fair_share(n_workers), threads


@pytest.mark.parametrize("n_jobs", [-1, 2])
def test_cross_val_score_n_jobs_same_as_serial(n_jobs):
    model = MLPRegressor(solver="sgd", max_iter=20, random_state=0)
    X = sp.csr_matrix(mostly_zero(X_REG))
    cv = KFold(4, shuffle=True, random_state=0)
    serial = cross_val_score(model, X, Y_REG, cv=cv, n_jobs=1)
    parallel = cross_val_score(model, X, Y_REG, cv=cv, n_jobs=n_jobs)
    assert np.isfinite(serial).all()  # no fit failed (error_score would be nan)
    np.testing.assert_array_equal(parallel, serial)


def _fit_and_report(X, y, seed):
    """Fit in a joblib worker; report its pid, thread counts, numba pool state."""
    from numba.np.ufunc import parallel

    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=5, random_state=seed)
    model.fit(X, y).predict_proba(X)
    return os.getpid(), _max_threads(), parallel._is_initialized


@pytest.mark.parametrize("n_jobs", [-1, 2])
def test_joblib_workers_limit_blas_threads(n_jobs):
    n_workers = joblib.effective_n_jobs(n_jobs)
    if n_workers == 1:
        pytest.skip("one CPU: joblib runs n_jobs=-1 in the calling process")
    reports = joblib.Parallel(n_jobs=n_jobs)(
        joblib.delayed(_fit_and_report)(X_CLF, Y_CLF, seed) for seed in range(6)
    )
    pids = {pid for pid, _, _ in reports}
    assert os.getpid() not in pids  # the fits really ran in workers
    assert len(pids) <= n_workers
    for _, threads, numba_pool_started in reports:
        assert len(pids) * threads <= max(joblib.cpu_count(), len(pids)), reports
        assert threads <= _fair_share(n_workers), reports
        assert not numba_pool_started, reports


# --------------------------------------------------------------------------
# 2. dask: grid search on a distributed cluster, out-of-core partial_fit
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client(tmp_path_factory):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            local_directory=tmp_path_factory.mktemp("dask"),
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_grid_search_on_dask_cluster(dask_client, serial_search):
    with joblib.parallel_backend("dask"):
        search = _grid_search(n_jobs=-1)
    _assert_same_search(search, serial_search)
    worker_threads = dask_client.run(_max_threads)  # worker address -> threads
    assert len(worker_threads) == 2
    assert max(worker_threads.values()) <= _fair_share(2), worker_threads


def test_incremental_on_dask_cluster_equals_sequential_partial_fit(dask_client):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    # generated lazily, block by block, on the workers
    X = da.random.default_rng(0).normal(size=(1200, 6), chunks=(200, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    model = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    incremental = wrappers.Incremental(model, shuffle_blocks=False)
    incremental.fit(X, y, classes=[0, 1])

    reference = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for i in range(X.numblocks[0]):
        reference.partial_fit(
            X.blocks[i].compute(), y.blocks[i].compute(), classes=[0, 1]
        )
    for got, want in zip(incremental.estimator_.coefs_, reference.coefs_):
        np.testing.assert_array_equal(got, want)


_GENERATED_BLOCKS = []
_PARTIAL_FIT_INPUTS = []


def _make_block(i, rows, n_features):
    _GENERATED_BLOCKS.append(i)
    rng = np.random.default_rng(i)
    X = rng.normal(size=(rows, n_features))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    return X, y


class _RecordingMLPClassifier(MLPClassifier):
    """Records the type and shape of what partial_fit receives."""

    def partial_fit(self, X, y, **kwargs):
        _PARTIAL_FIT_INPUTS.append((type(X), X.shape))
        return super().partial_fit(X, y, **kwargs)


def test_incremental_out_of_core_partial_fit():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    n_blocks, rows, n_features = 6, 150, 5
    blocks = [dask.delayed(_make_block)(i, rows, n_features) for i in range(n_blocks)]
    X = da.concatenate(
        [da.from_delayed(b[0], (rows, n_features), np.float64) for b in blocks]
    )
    y = da.concatenate([da.from_delayed(b[1], (rows,), np.int64) for b in blocks])
    _GENERATED_BLOCKS.clear()
    _PARTIAL_FIT_INPUTS.clear()
    incremental = wrappers.Incremental(
        _RecordingMLPClassifier(hidden_layer_sizes=(8,), random_state=0),
        shuffle_blocks=False,
    )
    with dask.config.set(scheduler="synchronous"):
        incremental.fit(X, y, classes=[0, 1])
        predicted = incremental.predict(X)  # lazy, block by block too
        assert isinstance(predicted, da.Array)
        predicted = predicted.compute()
    # one partial_fit per block, each on one in-memory block, each block
    # generated once for training (and once more for predict)
    assert _PARTIAL_FIT_INPUTS == [(np.ndarray, (rows, n_features))] * n_blocks
    assert sorted(_GENERATED_BLOCKS) == sorted(2 * list(range(n_blocks)))

    reference = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for i in range(n_blocks):
        reference.partial_fit(*_make_block(i, rows, n_features), classes=[0, 1])
    for got, want in zip(incremental.estimator_.coefs_, reference.coefs_):
        np.testing.assert_array_equal(got, want)
    whole = np.concatenate(
        [_make_block(i, rows, n_features)[0] for i in range(n_blocks)]
    )
    np.testing.assert_array_equal(predicted, reference.predict(whole))


# --------------------------------------------------------------------------
# 3. read-only inputs: arrays, memmaps, sparse, joblib's automatic memmapping
# --------------------------------------------------------------------------


def _read_only(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


def _read_only_csr(X, unsorted=False):
    X = sp.csr_matrix(X)
    indices = X.indices.copy()
    data = X.data.copy()
    if unsorted:  # reverse the column order within every row
        for start, end in zip(X.indptr[:-1], X.indptr[1:]):
            indices[start:end] = indices[start:end][::-1]
            data[start:end] = data[start:end][::-1]
    X = sp.csr_matrix(
        (_read_only(data), _read_only(indices), _read_only(X.indptr)), shape=X.shape
    )
    assert X.has_sorted_indices == (not unsorted) or X.nnz == 0
    return X


def _memmap(array, path):
    writer = np.lib.format.open_memmap(
        path, mode="w+", dtype=array.dtype, shape=array.shape
    )
    writer[...] = array
    writer.flush()
    del writer
    return np.load(path, mmap_mode="r")


def _input_kinds(X, tmp_path, dtype):
    X = X.astype(dtype)
    sparse = mostly_zero(X)  # for the CSR kernels
    return {
        "read-only array": _read_only(X),
        "read-only memmap": _memmap(X, tmp_path / "X.npy"),
        "read-only csr": _read_only_csr(sparse),
        "read-only csr, unsorted indices": _read_only_csr(sparse, unsorted=True),
    }


def _snapshot(X):
    if sp.issparse(X):
        return [X.data.copy(), X.indices.copy(), X.indptr.copy()]
    return [np.array(X, copy=True)]


def _writable_copy(X):
    return X.copy() if sp.issparse(X) else np.array(X)


KINDS = [
    "read-only array",
    "read-only memmap",
    "read-only csr",
    "read-only csr, unsorted indices",
]


# float64 only: each read-only input type (dense or CSR, per dtype) is a numba
# specialization of its own, compiled (~15 s) on first use in a fresh cache
@pytest.mark.parametrize("kind", KINDS)
def test_read_only_input_classifier(kind, tmp_path):
    X = _input_kinds(X_CLF, tmp_path, np.float64)[kind]
    y = _read_only(Y_CLF)
    assert not (X.data if sp.issparse(X) else X).flags.writeable
    before = _snapshot(X)
    X_writable = _writable_copy(X)

    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    reference = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    model.fit(X, y)
    reference.fit(X_writable, Y_CLF)
    # the references predict from writable input: a read-only path of
    # predict that went wrong for both models would not hide
    expected = reference.predict_proba(X_writable)
    np.testing.assert_array_equal(model.predict_proba(X), expected)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X_writable))
    model.partial_fit(X, y)
    reference.partial_fit(X_writable, Y_CLF)
    expected = reference.predict_proba(X_writable)
    np.testing.assert_array_equal(model.predict_proba(X), expected)

    fresh = MLPClassifier(solver="sgd", hidden_layer_sizes=(8,), random_state=0)
    fresh.partial_fit(X, y, classes=np.unique(Y_CLF)).predict(X)
    for got, want in zip(_snapshot(X), before):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(y, Y_CLF)


@pytest.mark.parametrize("kind", KINDS)
def test_read_only_input_regressor(kind, tmp_path):
    X = _input_kinds(X_REG, tmp_path, np.float64)[kind]
    y = _read_only(Y_REG)
    weights = _read_only(np.linspace(0.5, 1.5, len(Y_REG)))
    before = _snapshot(X)
    for solver in ("lbfgs", "adam"):
        model = MLPRegressor(solver=solver, max_iter=10, random_state=0)
        reference = MLPRegressor(solver=solver, max_iter=10, random_state=0)
        model.fit(X, y, sample_weight=weights)
        X_writable = _writable_copy(X)
        reference.fit(X_writable, Y_REG, sample_weight=np.array(weights))
        np.testing.assert_array_equal(model.predict(X), reference.predict(X_writable))
    model.partial_fit(X, y)
    model.predict(X)
    for got, want in zip(_snapshot(X), before):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(y, Y_REG)


def _fit_on_joblib_memmap(X, y):
    """Runs in a loky worker: X must arrive as joblib's read-only memmap."""
    assert isinstance(X, np.memmap) and not X.flags.writeable, type(X)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    model.fit(X, y)
    model.partial_fit(X, y)
    return model.predict_proba(X)


def test_joblib_memmapped_input_in_workers():
    X, y = np.repeat(X_CLF, 2, axis=0), np.repeat(Y_CLF, 2)  # 38 kB > 1 kB
    results = joblib.Parallel(n_jobs=2, max_nbytes="1K", mmap_mode="r")(
        joblib.delayed(_fit_on_joblib_memmap)(X, y) for _ in range(2)
    )
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    expected = model.fit(X, y).partial_fit(X, y).predict_proba(X)
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_grid_search_with_joblib_memmapping(serial_search):
    with joblib.parallel_config(max_nbytes="1K", mmap_mode="r"):
        search = _grid_search(n_jobs=2)
    _assert_same_search(search, serial_search)


# --------------------------------------------------------------------------
# 4. a read-only installation, with and without a writable home directory
# --------------------------------------------------------------------------

_READ_ONLY_INSTALL_SCRIPT = """
import hashlib, os, sys, warnings
from numba.core.errors import NumbaWarning
from sklearn.exceptions import ConvergenceWarning

site, home_must_be_read_only = sys.argv[1], sys.argv[2] == "1"

def writable(directory):
    try:
        with open(os.path.join(directory, ".probe"), "w"):
            pass
    except OSError:
        return False
    os.unlink(os.path.join(directory, ".probe"))
    return True

if writable(os.path.join(site, "fastmlp", "kernels")) or (
    home_must_be_read_only and writable(os.environ["HOME"])
):
    sys.exit(77)  # permissions are not enforced here: the test proves nothing
warnings.simplefilter("error", NumbaWarning)  # e.g. "cannot cache ..."
warnings.simplefilter("ignore", ConvergenceWarning)

import fastmlp
from sklearn.datasets import make_classification

assert fastmlp.__file__.startswith(site), fastmlp.__file__
X, y = make_classification(n_samples=240, n_features=10, random_state=0)
model = fastmlp.MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
proba = model.fit(X, y).predict_proba(X)
print(hashlib.sha256(proba.tobytes()).hexdigest())
"""

NOBODY = 65534


def _permission_bound_prefix():
    """``(command prefix, owner for the writable HOME)`` under which file
    permissions bind the subprocess, or None when there is no way.

    Not root: nothing to do. As root (CI), chmod alone does not stop writes, so
    the subprocess runs through util-linux's setpriv either as root with every
    capability dropped (uid 0 keeps reaching an interpreter under /root or a
    private temp dir, but without CAP_DAC_OVERRIDE mode 0444 / 0555 binds it
    like anyone), or failing that as ``nobody``. Each run also checks that it
    cannot write the package itself (see ``_READ_ONLY_INSTALL_SCRIPT``).
    """
    if os.geteuid() != 0:
        return (), None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    candidates = [
        ((setpriv, "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs"), 0),
        ((setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"), NOBODY),
    ]
    for prefix, home_owner in candidates:
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import numba, sklearn"],
            capture_output=True,
            timeout=120,
        )
        if probe.returncode == 0:
            return prefix, home_owner
    return None


def _chmod_tree(root, file_mode, dir_mode):
    for directory, _, filenames in os.walk(root):
        for name in filenames:
            os.chmod(os.path.join(directory, name), file_mode)
        os.chmod(directory, dir_mode)


def _start_read_only_install_run(prefix, site, home, home_must_be_read_only):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NUMBA_", "XDG_", "PYTHON"))
    }
    env.update(HOME=str(home), PYTHONPATH=str(site))
    return subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-c",
            _READ_ONLY_INSTALL_SCRIPT,
            str(site),
            "1" if home_must_be_read_only else "0",
        ],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process):
    try:
        out, err = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return -1, out, err + "\nkilled after %d s" % SUBPROCESS_TIMEOUT
    return process.returncode, out, err


@pytest.fixture(scope="module")
def read_only_install_runs():
    """fastmlp copied to a read-only directory, run with NUMBA_CACHE_DIR unset:
    once with a writable HOME (twice: the second run may load what the first
    cached there) and once with a read-only HOME (no writable cache anywhere).

    As root, chmod binds nothing: see ``_permission_bound_prefix``. Each run
    first checks that it cannot write the package (or the read-only HOME) and
    exits 77, which skips, if it can.
    """
    found = _permission_bound_prefix()
    if found is None:
        pytest.skip("root, and no way (setpriv) to make file permissions bind")
    prefix, home_owner = found
    # not pytest's tmp_path: its parents are private to root (nobody needs in)
    base = Path(tempfile.mkdtemp(prefix="fastmlp-read-only-"))
    try:
        os.chmod(base, 0o755)
        site = base / "site"
        shutil.copytree(
            Path(fastmlp.__file__).parent,
            site / "fastmlp",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        _chmod_tree(site, 0o444, 0o555)
        installed = sorted(str(path) for path in site.rglob("*"))
        writable_home, read_only_home = base / "home", base / "read-only-home"
        writable_home.mkdir()
        read_only_home.mkdir()
        os.chmod(read_only_home, 0o555)
        if home_owner is not None:
            os.chown(writable_home, home_owner, home_owner)
        # both compile from scratch: run them side by side to halve the wait
        with_home = _start_read_only_install_run(prefix, site, writable_home, False)
        without_home = _start_read_only_install_run(prefix, site, read_only_home, True)
        runs = {"writable HOME": _finish(with_home)}
        runs["read-only HOME"] = _finish(without_home)
        if runs["writable HOME"][0] == 0:
            runs["writable HOME, again"] = _finish(
                _start_read_only_install_run(prefix, site, writable_home, False)
            )
        for code, _, _ in runs.values():
            if code == 77:
                pytest.skip("file permissions are not enforced on this system")
        changed = sorted(str(path) for path in site.rglob("*")) != installed
        yield runs, changed
    finally:
        _chmod_tree(base, 0o644, 0o755)
        shutil.rmtree(base, ignore_errors=True)


def _expected_digest():
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
    X, y = make_classification(n_samples=240, n_features=10, random_state=0)
    return hashlib.sha256(model.fit(X, y).predict_proba(X).tobytes()).hexdigest()


@pytest.mark.parametrize(
    "run", ["writable HOME", "writable HOME, again", "read-only HOME"]
)
def test_read_only_install_without_numba_cache_dir(run, read_only_install_runs):
    runs, package_changed = read_only_install_runs
    if run not in runs:
        pytest.fail("the first run with a writable HOME failed")
    code, out, err = runs[run]
    assert code == 0, f"{run}: exit code {code}\n{out}\n{err}"
    assert out.strip() == _expected_digest()  # the same model as in-process
    assert not package_changed, "files were written into the installed package"


# --------------------------------------------------------------------------
# 5. several Python threads training and predicting at once
# --------------------------------------------------------------------------

_THREADS_SCRIPT = """
import os, sys, warnings
from concurrent.futures import ThreadPoolExecutor, TimeoutError
import numpy as np
import scipy.sparse as sp
from numba.np.ufunc import parallel
from sklearn.datasets import make_classification, make_regression
from fastmlp import MLPClassifier, MLPRegressor

warnings.simplefilter("ignore")
Xc, yc = make_classification(n_samples=300, n_features=12, random_state=0)
Xr, yr = make_regression(n_samples=300, n_features=12, random_state=0)
TASKS = [
    (MLPClassifier, "adam", False), (MLPRegressor, "sgd", True),
    (MLPClassifier, "lbfgs", True), (MLPRegressor, "adam", False),
    (MLPClassifier, "sgd", True), (MLPRegressor, "lbfgs", False),
    (MLPClassifier, "adam", True), (MLPRegressor, "sgd", False),
]

def task(i):
    cls, solver, sparse = TASKS[i]
    X, y = (Xc, yc) if cls is MLPClassifier else (Xr, yr)
    if sparse:  # a quarter stored: the CSR kernels
        X = sp.csr_matrix(X * (np.arange(X.size).reshape(X.shape) % 4 == 1))
    model = cls(hidden_layer_sizes=(32,), solver=solver, max_iter=15,
                random_state=i).fit(X, y)
    predicted = model.predict_proba(X) if cls is MLPClassifier else model.predict(X)
    return [predicted, *model.coefs_, *model.intercepts_]

def run_concurrently():
    pool = ThreadPoolExecutor(max_workers=4)
    futures = [pool.submit(task, i) for i in range(len(TASKS))]
    try:
        results = [future.result(timeout=120) for future in futures]
    except TimeoutError:
        print("deadlock: a task did not finish in 120 s", flush=True)
        os._exit(2)
    pool.shutdown()
    return results

first = run_concurrently()  # the threads also race to load the compiled code
sequential = [task(i) for i in range(len(TASKS))]
second = run_concurrently()
for i, want in enumerate(sequential):
    for got in (first[i], second[i]):
        # training: the same bits; predict runs on BLAS's threads, and an
        # older OpenBLAS (0.3.21, numpy 1.24's) runs a product called while
        # another thread is in OpenBLAS on fewer threads: last-bit differences
        np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-15)
        for a, b in zip(got[1:], want[1:]):
            np.testing.assert_array_equal(a, b, err_msg=str(TASKS[i]))
assert not parallel._is_initialized, "numba's thread pool was started"
print("ok")
"""


@pytest.mark.parametrize("threading_layer", [None, "workqueue", "omp"])
def test_fit_predict_from_several_threads(threading_layer):
    env = dict(os.environ)
    env.pop("NUMBA_THREADING_LAYER", None)
    if threading_layer is not None:
        env["NUMBA_THREADING_LAYER"] = threading_layer
    assert _run_python(_THREADS_SCRIPT, env=env).split() == ["ok"]


# --------------------------------------------------------------------------
# 6. processes: os.fork and multiprocessing's fork start method
# --------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("split", [False, True], ids=["whole", "split batches"])
def test_forked_child_trains_after_parent(split):
    out = _run_python(
        """
        import os, pickle, signal, sys, time, warnings
        import numpy as np
        from sklearn.datasets import make_classification
        from fastmlp import MLPClassifier, MLPRegressor, _engine

        if sys.argv[1] == "split":  # every batch split: fits start worker threads
            _engine.SPLIT_MIN_MACS = 0
            _engine.RUN_THREADS_MIN_MACS = 0
            _engine.PART_ROWS = 10  # 20 parts a batch, on every allowed thread
            _engine.PART_MIN_MACS = 1
            _engine.PREDICT_CHUNK_ROWS = 64  # predict in blocks on threads too
            _engine.BLAS_THREADS_MIN_MACS = 0
        warnings.simplefilter("ignore")
        X, y = make_classification(n_samples=600, n_features=20, random_state=0)
        # the parent trains first: BLAS threads and compiled code are live
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=10, random_state=0
                      ).fit(X, y).predict_proba(X)

        def child_work():
            model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=10,
                                 random_state=1).fit(X, y.astype(float))
            return model.predict(X)

        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pickle.dump(child_work(), pipe)
            except BaseException:
                import traceback
                traceback.print_exc()
                os._exit(3)
            os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:  # the watchdog: poll, then kill
            deadline = time.monotonic() + 120
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    sys.exit("forked child hung for 120 s and was killed")
                time.sleep(0.05)
            code = os.waitstatus_to_exitcode(status)
            assert code == 0, f"forked child exited with {code}"
            from_child = pickle.load(pipe)
        np.testing.assert_array_equal(from_child, child_work())
        print("ok")
        """,
        "split" if split else "whole",
    )
    assert out.split() == ["ok"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_multiprocessing_fork_pool_trains():
    out = _run_python(
        """
        import multiprocessing, warnings
        import numpy as np
        import scipy.sparse as sp
        from sklearn.datasets import make_classification
        from fastmlp import MLPClassifier

        warnings.simplefilter("ignore")
        X, y = make_classification(n_samples=400, n_features=15, random_state=0)

        def fit(seed):
            warnings.simplefilter("ignore")
            # a quarter stored: the CSR kernels
            quarter = X * (np.arange(X.size).reshape(X.shape) % 4 == 1)
            data = sp.csr_matrix(quarter) if seed % 2 else X
            model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=10,
                                  solver=("adam", "sgd", "lbfgs")[seed % 3],
                                  random_state=seed)
            return model.fit(data, y).predict_proba(data)

        if __name__ == "__main__":
            expected = [fit(seed) for seed in range(4)]  # the parent trains first
            with multiprocessing.get_context("fork").Pool(2) as pool:
                results = pool.map_async(fit, range(4)).get(timeout=120)
            for got, want in zip(results, expected):
                np.testing.assert_array_equal(got, want)
            print("ok")
        """
    )
    assert out.split() == ["ok"]
