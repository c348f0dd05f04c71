"""First calls into compiled code (``fastmlp._compilation``), the compile-ahead
command (``python -m fastmlp warmup``) and compiles shared between processes."""

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp import _compilation, _engine
from fastmlp.__main__ import main as fastmlp_main
from fastmlp.kernels import _compile

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_state(monkeypatch):
    monkeypatch.setattr(_compilation, "_ready", set())
    monkeypatch.setattr(_compilation, "_entries", {})
    monkeypatch.setattr(_compilation, "_noticed", False)
    monkeypatch.setattr(_engine, "KERNEL_SETS", "specialized")  # the default


def _new_kernel():
    # a dispatcher no other test compiled, so that the first call compiles
    @njit
    def add_one(values):
        return values + 1.0

    return add_one


def test_a_slow_compile_gives_one_notice(fresh_state, monkeypatch):
    monkeypatch.setattr(_compilation, "NOTICE_AFTER_SECONDS", 0.0)
    kernel = _new_kernel()
    with pytest.warns(fastmlp.CompilationNotice, match="happens once") as caught:
        result = _compilation.call(kernel, ("add_one", "float64"), np.zeros(3))
    assert np.array_equal(result, np.ones(3))
    assert "python -m fastmlp warmup" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second compile says nothing
        _compilation.call(_new_kernel(), ("add_one", "other"), np.zeros(3))


def test_a_fast_compile_or_a_compiled_kernel_gives_no_notice(fresh_state):
    kernel = _new_kernel()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _compilation.call(kernel, ("add_one", "float64"), np.zeros(3))
        _compilation.call(kernel, ("add_one", "float64"), np.zeros(3))
    assert ("add_one", "float64") in _compilation._ready


def test_the_notice_can_be_silenced_by_category(fresh_state, monkeypatch):
    monkeypatch.setattr(_compilation, "NOTICE_AFTER_SECONDS", 0.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=fastmlp.CompilationNotice)
        _compilation.call(_new_kernel(), ("add_one", "float64"), np.zeros(3))
    assert not caught


def test_later_calls_skip_numbas_dispatch_only_for_the_same_argument_types(
    fresh_state,
):
    kernel = _new_kernel()
    key = ("add_one", "any")
    np.testing.assert_array_equal(_compilation.call(kernel, key, np.zeros(3)), 1.0)
    assert key in _compilation._entries
    direct = _compilation._entries[key][1]
    np.testing.assert_array_equal(_compilation.call(kernel, key, np.ones(3)), 2.0)
    # arguments of other types under the same key (a broken contract) go
    # through numba's dispatch, which compiles for them: never a wrong read
    others = [
        np.ones(3, dtype=np.float32),
        np.ones((2, 2)),
        np.ones(6)[::2],
        np.ones((2, 3), order="F"),
    ]
    readonly = np.ones(3)
    readonly.flags.writeable = False
    for values in others + [readonly]:
        result = _compilation.call(kernel, key, values)
        np.testing.assert_array_equal(result, values + 1.0)
    assert len(kernel.overloads) == 1 + len(others) + 1
    assert _compilation._entries[key][1] is not direct  # the latest types'


def test_fingerprints_agree_where_numba_types_agree():
    """An array both C- and F-contiguous (one row or column) is typed as a C
    array: its fingerprint is a C array's, so a run of one epoch and a run of
    several (orders of shape (1, n) and (k, n)) share the direct call."""
    from numba import typeof

    readonly = np.zeros((1, 4))
    readonly.flags.writeable = False
    arrays = [
        np.zeros((1, 4)), np.zeros((3, 4)), np.zeros((4, 1)),
        np.zeros((3, 4), order="F"), np.zeros((4, 3))[:, ::2], readonly,
        np.zeros(1), np.zeros(5), np.zeros(6)[::2],
    ]  # fmt: skip
    for a in arrays:
        for b in arrays:
            same_type = typeof(a) == typeof(b)
            assert (_compilation._fingerprint(a) == _compilation._fingerprint(b)) == (
                same_type
            ), (a.shape, a.strides, b.shape, b.strides)


def test_fingerprints_tell_apart_what_numba_types_apart():
    from fastmlp.kernels._compile import KernelSet

    readonly = np.zeros(3)
    readonly.flags.writeable = False
    values = [
        np.zeros(3), np.zeros(3, np.float32), np.zeros((3, 1)), readonly,
        np.zeros(6)[::2], np.zeros((2, 2), order="F"), 1, 1.0, True, None,
        np.float32(1.0), (np.zeros(3), 1), (1, np.zeros(3)),
        KernelSet((0,), (1,)), KernelSet((0,), (2,)), KernelSet(solver_codes=(1,)),
    ]  # fmt: skip
    fingerprints = [_compilation._fingerprint(v) for v in values]
    assert None not in fingerprints
    assert len(set(fingerprints)) == len(values)
    assert _compilation._fingerprint(object()) is None
    assert _compilation._fingerprint((np.zeros(2), object())) is None


def test_warmup_compiles_what_a_fit_of_that_configuration_needs(fresh_state):
    argv = ["warmup", "--dtypes", "float64", "--inputs", "dense", "--losses"]
    argv += ["squared_error", "--solvers", "adam,sgd", "--quiet"]
    assert fastmlp_main(argv) == 0
    for solver in ("adam", "sgd"):  # an epoch compiles its solver's rule only
        for epoch in ("train_epochs", "train_epochs_in_parts"):  # whole, split
            key = (epoch, "relu", "squared_error", "float64", "dense", solver)
            assert key in _compilation._ready
    assert ("predict", "relu", "squared_error", "float64", "dense") in (
        _compilation._ready
    )


def test_warmup_for_sparse_input_compiles_the_csr_kernels(fresh_state):
    argv = ["warmup", "--dtypes", "float32", "--inputs", "csr", "--losses"]
    argv += ["squared_error", "--solvers", "adam", "--quiet"]
    assert fastmlp_main(argv) == 0
    for epoch in ("train_epochs", "train_epochs_in_parts"):
        key = (epoch, "relu", "squared_error", "float32", "csr", "adam")
        assert key in _compilation._ready
    assert ("predict", "relu", "squared_error", "float32", "csr") in (
        _compilation._ready
    )
    assert not any("dense" in key for key in _compilation._ready)


def test_warmup_rejects_unknown_names(capsys):
    with pytest.raises(SystemExit):
        fastmlp_main(["warmup", "--activations", "relux"])
    assert "unknown ['relux']" in capsys.readouterr().err
    assert fastmlp_main(["compile"]) == 2


_PREDICT_CHILD = """
import pickle, sys
import numpy as np
from fastmlp.kernels import network
model = pickle.loads(bytes.fromhex(sys.argv[1]))
model.predict(np.ones((3, 4)))
stats = network.predict.stats
print(sum(stats.cache_misses.values()), sum(stats.cache_hits.values()))
"""


def test_workers_started_together_compile_once(tmp_path):
    """Two processes on one empty cache folder: one compiles predict, the
    other waits for the lock and loads the result from the cache."""
    model = fastmlp.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(
        np.random.RandomState(0).randn(20, 4), np.arange(20.0)
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-c", _PREDICT_CHILD, pickle.dumps(model).hex()]
    children = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = sorted(json.loads("[" + c.communicate()[0].replace(" ", ",") + "]")
                     for c in children)  # fmt: skip
    assert all(c.returncode == 0 for c in children)
    assert results == [[0, 1], [1, 0]]  # (misses, hits): one compiled, one loaded


SPECIALIZED_CASES = {
    "tanh, log loss": (fastmlp.MLPClassifier, {"activation": "tanh"}),
    "gelu and silu, huber, dropout": (
        fastmlp.MLPRegressor,
        {"activation": ["gelu", "silu"], "loss": "huber", "dropout": 0.1},
    ),
}


@pytest.mark.parametrize("case", SPECIALIZED_CASES)
def test_specialized_and_all_kernel_loops_give_the_same_bits(case, monkeypatch):
    estimator, params = SPECIALIZED_CASES[case]
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 4), rng.randint(0, 3, 60)
    results = []
    for kernel_sets in ("specialized", "all"):
        monkeypatch.setattr(_engine, "KERNEL_SETS", kernel_sets)
        model = estimator(
            hidden_layer_sizes=(6, 5), max_iter=3, random_state=0, **params
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        network = model._fitted_network()
        assert network.all_kernels == (kernel_sets == "all")
        results.append([*model.coefs_, *model.intercepts_, model.predict(X)])
    for specialized, every in zip(*results):
        np.testing.assert_array_equal(specialized, every)


def test_kernel_sets_setting_is_checked(monkeypatch):
    monkeypatch.setattr(_engine, "KERNEL_SETS", "some")
    with pytest.raises(ValueError, match="FASTMLP_KERNELS"):
        _engine.Network([2, 3, 1], ["relu"], "squared_error", np.float64)


def test_linked_kernels_run_from_python_through_a_trampoline():
    from fastmlp.kernels import _compile, fastmath, sums

    assert isinstance(sums.pairwise_sum, _compile._LinkedKernel)
    assert sums.pairwise_sum(np.arange(10.0)) == 45.0
    assert fastmath._exp64(0.0) == 1.0


def test_the_engine_calls_only_cached_entry_points(monkeypatch):
    """Linked kernels have no machine code of their own: the engine must
    call entry points (a linked one would run, but through a trampoline
    compiled per process and never cached)."""
    from numba.core.caching import FunctionCache

    from fastmlp.kernels import _compile

    called = {}
    original = _compilation.call

    def record(kernel, key, *args):
        called[kernel.py_func.__name__] = kernel
        return original(kernel, key, *args)

    monkeypatch.setattr(_compilation, "call", record)
    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 3), rng.randint(0, 2, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [("adam", False, 2), ("adam", True, 2), ("adam", True, 1)]
        for solver, split, threads in runs + [("lbfgs", False, 2)]:
            # split: every batch in parts, as a wide network's
            monkeypatch.setattr(_engine, "SPLIT_MIN_MACS", 0 if split else 10**12)
            model = fastmlp.MLPClassifier((4,), solver=solver, max_iter=2)
            with threadpool_limits(limits=threads, user_api="blas"):
                model.set_params(early_stopping=solver == "adam").fit(X, y)
        model.predict(X)
        model.jacobian(X[:2], mode="forward")
        model.jacobian(X[:2], mode="reverse")
    assert {"train_epochs", "train_epochs_in_parts", "part_gradient", "predict"} <= set(
        called
    )
    assert {"jacobian_forward", "jacobian_reverse"} <= set(called)
    for kernel in called.values():
        assert not isinstance(kernel, _compile._LinkedKernel)
        assert isinstance(kernel._cache, FunctionCache)


_FIT_CHILD = """
import numpy as np, warnings
import fastmlp
warnings.simplefilter("ignore")
fastmlp.MLPClassifier((3,), max_iter=2).fit(np.eye(4), [0, 1, 0, 1])
"""


_WARM_FIT_CHILD = """
import numba.core.base
refreshes = []
numba.core.base.BaseContext.refresh = lambda context: refreshes.append(context)
""" + _FIT_CHILD + """
from fastmlp.kernels import network
print(len(refreshes), sum(network.train_epochs.stats.cache_hits.values()))
"""


@pytest.fixture(scope="module")
def fitted_cache(tmp_path_factory):
    """A numba cache folder after one small fit in a fresh process, and the
    environment that points a child process at it."""
    folder = tmp_path_factory.mktemp("numba_cache")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(folder)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", _FIT_CHILD], env=env, check=True)
    return folder, env


def test_a_warm_process_loads_without_refreshing_the_compiler(fitted_cache):
    # numba's own cache loading imports every compiler registry first (0.2 s)
    _, env = fitted_cache
    child = subprocess.run(
        [sys.executable, "-c", _WARM_FIT_CHILD], env=env, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    refreshes, hits = map(int, child.stdout.split())
    assert hits == 1
    assert refreshes == 0


def test_only_entry_points_write_cache_files(fitted_cache):
    folder, _ = fitted_cache
    names = {path.name.split("-")[0] for path in folder.rglob("*.nbi")}
    assert "network.train_epochs" in names
    assert not any("forward_chain" in name for name in names)
    assert not any(name.startswith(("sums.", "fastmath.")) for name in names)


def test_changed_kernel_sources_drop_the_cache_in_numba_cache_dir(
    fitted_cache, tmp_path
):
    # numba checks only the file of the cached function (network.py), not the
    # kernels it compiles in: fastmlp.kernels drops the cached code when any
    # kernel source changed, in the folder numba uses, NUMBA_CACHE_DIR's too
    folder = tmp_path / "numba_cache"
    shutil.copytree(fitted_cache[0], folder)  # the fixture's own stays whole
    env = {**fitted_cache[1], "NUMBA_CACHE_DIR": str(folder)}
    (stamp,) = folder.rglob("kernel_sources.sha256")
    cached = sorted(stamp.parent.glob("network.train_epoch*.nb[ic]"))
    assert cached
    digest = stamp.read_text()
    probe = [sys.executable, "-c", "import fastmlp.kernels"]
    subprocess.run(probe, env=env, check=True)
    assert all(path.exists() for path in cached)  # same sources: kept
    stamp.write_text("a digest of other sources")
    subprocess.run(probe, env=env, check=True)
    assert not any(path.exists() for path in cached)
    assert stamp.read_text() == digest


@_compile.kernel
def _add_one(values):
    for i in range(values.shape[0]):
        values[i] += 1.0


def test_compiled_code_prefers_512_bit_vectors():
    # the attribute must reach the optimized module: on the entry point, into
    # which LLVM inlines the linked kernel and vectorizes its loop
    entry = njit(pipeline_class=_compile._EntryPointCompiler)(
        lambda values: _add_one(values)
    )
    values = np.zeros(40)
    entry(values)
    assert np.array_equal(values, np.ones(40))
    module = entry.inspect_llvm(entry.signatures[0])
    wide = {
        match.group(1)
        for match in re.finditer(r"^attributes (#\d+) = \{(.*)\}$", module, re.M)
        if '"prefer-vector-width"="512"' in match.group(2)
    }
    ours = re.findall(r"^define .*_3clambda_3e.* (#\d+) \{$", module, re.M)
    assert len(ours) >= 2  # the function and its CPython wrapper
    assert set(ours) <= wide
