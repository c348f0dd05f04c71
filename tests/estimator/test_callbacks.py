"""scikit-learn's callbacks (sklearn.callback): one task per epoch or iteration."""

import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import SKLEARN_CALLBACKS, skip_unless_sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV

from fastmlp import MLPClassifier, MLPRegressor, _registry

skip_unless_sklearn(SKLEARN_CALLBACKS, "sklearn.callback")
pytest.importorskip("rich")
from sklearn.callback import ProgressBar, ScoringMonitor  # noqa: E402
from sklearn.callback._progressbar import (  # noqa: E402
    RichProgressMonitor,
    _run_monitors,
)

REPO = Path(__file__).resolve().parents[2]
SOLVERS = list(_registry.solvers())
X_CLF, Y_CLF = make_classification(
    n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0
)
X_REG, Y_REG = make_regression(n_samples=120, n_features=6, random_state=0)
Y_REG = Y_REG / Y_REG.std()


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _model(kind="clf", **params):
    params = {"hidden_layer_sizes": (8,), "random_state": 0, **params}
    if params.get("solver") == "sgd":
        params.setdefault("learning_rate_init", 0.05)
    return MLPClassifier(**params) if kind == "clf" else MLPRegressor(**params)


def _data(kind):
    return (X_CLF, Y_CLF) if kind == "clf" else (X_REG, Y_REG)


class Recorder:
    """Records every hook; asks to stop, or raises, at the end of a subtask."""

    def __init__(self, stop_at=None, fail_at=None):
        self.stop_at = stop_at
        self.fail_at = fail_at
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, None, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, None, None))

    def on_fit_task_begin(self, estimator, context, *, fitted_estimator=None):
        self.events.append(
            ("begin", context.task_name, context.task_id, fitted_estimator)
        )

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(
            ("end", context.task_name, context.task_id, fitted_estimator)
        )
        if context.parent is not None and context.task_id + 1 == self.fail_at:
            raise ValueError("callback failed")
        return context.parent is not None and context.task_id + 1 == self.stop_at

    def ends(self, task_name):
        return [e for e in self.events if e[0] == "end" and e[1] == task_name]

    def begins(self, task_name):
        return [e for e in self.events if e[0] == "begin" and e[1] == task_name]


def _subtask_name(solver):
    return "iteration" if solver == "lbfgs" else "epoch"


def _progress_records(fit):
    """The root progress bar's completion after each task end during fit()."""
    records = []
    original = RichProgressMonitor._on_task_end

    def recording(self, task_info):
        original(self, task_info)
        records.append(self.root_rich_task.progress)

    with mock.patch.object(RichProgressMonitor, "_on_task_end", recording):
        fit()
    return records


# ------------------------------------------------------------------ progress
@pytest.mark.parametrize("solver", SOLVERS)
def test_progressbar_one_step_per_epoch_or_iteration(solver, capsys):
    max_iter = 6
    model = _model(solver=solver, max_iter=max_iter, tol=0.0, n_iter_no_change=100)
    model.set_callbacks(ProgressBar())

    records = _progress_records(lambda: model.fit(X_CLF, Y_CLF))

    assert model.n_iter_ == max_iter
    expected = [i / max_iter for i in range(1, max_iter + 1)] + [1.0]
    assert_allclose(records, expected)
    out = capsys.readouterr().out
    assert re.search(r"MLPClassifier - fit", out)
    assert re.search(r"100%", out)
    assert _run_monitors == {}  # the display thread ended


@pytest.mark.parametrize("solver", SOLVERS)
def test_one_subtask_per_epoch_or_iteration_with_paired_hooks(solver):
    recorder = Recorder()
    # stopped early: by convergence (stochastic) or by max_fun (lbfgs)
    params = {"max_fun": 40} if solver == "lbfgs" else {"tol": 1e-2}
    model = _model(solver=solver, max_iter=300, n_iter_no_change=3, **params)
    model.set_callbacks(recorder).fit(X_CLF, Y_CLF)

    name = _subtask_name(solver)
    assert 0 < model.n_iter_ < 300  # converged before max_iter
    assert [e[2] for e in recorder.begins(name)] == list(range(model.n_iter_))
    assert [e[2] for e in recorder.ends(name)] == list(range(model.n_iter_))
    kinds = [e[0] for e in recorder.events]
    assert kinds[:2] == ["setup", "begin"] and kinds[-2:] == ["end", "teardown"]
    assert kinds[2:-2] == ["begin", "end"] * model.n_iter_
    assert recorder.events[1][1] == recorder.events[-2][1] == "fit"
    assert not hasattr(model, "_callback_fit_ctx")


def test_lbfgs_converged_fit_leaves_no_task_open():
    recorder = Recorder()
    model = _model("reg", solver="lbfgs", activation="identity", max_iter=5000)
    model.set_callbacks(recorder).fit(X_REG, Y_REG)
    assert 0 < model.n_iter_ < 5000  # converged
    ends = recorder.ends("iteration")
    assert len(recorder.begins("iteration")) == len(ends) == model.n_iter_
    assert all(fitted is not None for *_, fitted in ends)


# ------------------------------------------------------- state at each task
@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_scoring_monitor_scores_the_model_at_each_epoch(kind, solver):
    X, y = _data(kind)
    max_iter = 4
    scoring = "neg_log_loss" if kind == "clf" else "r2"
    monitor = ScoringMonitor(scoring=scoring)
    model = _model(kind, solver=solver, max_iter=max_iter, tol=0.0)
    model.set_callbacks(monitor).fit(X, y)

    rows = monitor.get_logs().data
    subtask_rows = [r for r in rows if r["task_name"] == _subtask_name(solver)]
    assert [r["task_id"] for r in subtask_rows] == list(range(max_iter))
    scorer = check_scoring(model, scoring)
    for k, row in enumerate(subtask_rows, start=1):
        refit = _model(kind, solver=solver, max_iter=k, tol=0.0).fit(X, y)
        assert_allclose(row[scoring], scorer(refit, X, y), rtol=1e-12)
    assert len({r[scoring] for r in subtask_rows}) == max_iter  # it trained
    (root,) = [r for r in rows if r["task_name"] == "fit"]
    assert_allclose(root[scoring], scorer(model, X, y), rtol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_fitted_estimator_at_each_task_is_the_fit_stopped_there(solver):
    recorder = Recorder()
    model = _model(solver=solver, max_iter=3, tol=0.0).set_callbacks(recorder)
    model.fit(X_CLF, Y_CLF)

    name = _subtask_name(solver)
    begins, ends = recorder.begins(name), recorder.ends(name)
    for k, (_, _, _, fitted) in enumerate(ends, start=1):
        refit = _model(solver=solver, max_iter=k, tol=0.0).fit(X_CLF, Y_CLF)
        assert fitted.n_iter_ == k
        for a, b in zip(
            fitted.coefs_ + fitted.intercepts_, refit.coefs_ + refit.intercepts_
        ):
            assert_array_equal(a, b)
        assert_array_equal(fitted.predict_proba(X_CLF), refit.predict_proba(X_CLF))
        if solver != "lbfgs":
            assert fitted.loss_curve_ == refit.loss_curve_
        else:
            assert fitted.loss_ == pytest.approx(refit.loss_, rel=1e-12)
        # a task begins from the state the previous one ended with
        if k < len(ends):
            assert_array_equal(
                begins[k][3].predict_proba(X_CLF), fitted.predict_proba(X_CLF)
            )
    # copies: training after the task did not move them
    first = ends[0][3]
    assert not np.shares_memory(first.coefs_[0], model.coefs_[0])
    assert not np.array_equal(first.coefs_[0], model.coefs_[0])


def test_early_stopping_tasks_hold_the_best_model_so_far():
    recorder = Recorder()
    monitor = ScoringMonitor(scoring="accuracy")
    params = dict(solver="adam", early_stopping=True, n_iter_no_change=2, tol=0.05)
    model = _model(max_iter=200, **params).set_callbacks(recorder, monitor)
    model.fit(X_CLF, Y_CLF)

    assert model.n_iter_ < 200  # early stopping ended the fit
    ends = recorder.ends("epoch")
    assert len(ends) == model.n_iter_
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    for k, row in enumerate(rows, start=1):
        refit = _model(max_iter=k, **params).fit(X_CLF, Y_CLF)
        assert_array_equal(ends[k - 1][3].coefs_[0], refit.coefs_[0])
        assert ends[k - 1][3].validation_scores_ == refit.validation_scores_
        assert row["accuracy"] == refit.score(X_CLF, Y_CLF)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_partial_fit_is_one_task_with_one_epoch(kind):
    X, y = _data(kind)
    scoring = "accuracy" if kind == "clf" else "r2"
    monitor, recorder = ScoringMonitor(scoring=scoring), Recorder()
    model = _model(kind, solver="adam").set_callbacks(monitor, recorder)
    extra = {"classes": np.unique(y)} if kind == "clf" else {}
    scores = []
    for _ in range(3):
        model.partial_fit(X, y, **extra)
        scores.append(model.score(X, y))

    logs = monitor.get_logs(select="all")
    assert len(logs) == 3
    for log, score in zip(logs, scores):
        assert [(r["task_name"], r["task_id"]) for r in log.data] == [
            ("partial_fit", 0),
            ("epoch", 0),
        ]
        assert_allclose([r[scoring] for r in log.data], [score, score])
    assert [e[3].n_iter_ for e in recorder.ends("epoch")] == [1, 1, 1]
    assert [e[3].t_ for e in recorder.ends("epoch")] == [120, 240, 360]


def test_partial_fit_progressbar(capsys):
    model = _model(solver="sgd").set_callbacks(ProgressBar())
    records = _progress_records(
        lambda: model.partial_fit(X_CLF, Y_CLF, classes=[0, 1, 2])
    )
    assert_allclose(records, [1.0, 1.0])
    assert re.search(r"MLPClassifier - partial_fit", capsys.readouterr().out)


# ------------------------------------------------------------ stop requests
@pytest.mark.parametrize("solver", SOLVERS)
def test_callback_asking_to_stop_ends_fit_cleanly(solver):
    recorder = Recorder(stop_at=3)
    model = _model(solver=solver, max_iter=50, tol=0.0).set_callbacks(recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model.fit(X_CLF, Y_CLF)

    assert model.n_iter_ == 3
    assert len(recorder.ends(_subtask_name(solver))) == 3
    assert recorder.events[-1][0] == "teardown"
    refit = _model(solver=solver, max_iter=3, tol=0.0).fit(X_CLF, Y_CLF)
    assert_array_equal(model.predict_proba(X_CLF), refit.predict_proba(X_CLF))


# ------------------------------------------------------------------ failure
@pytest.mark.parametrize(
    "solver, method",
    [(s, "fit") for s in SOLVERS]
    + [(s, "partial_fit") for s in _registry.stochastic_solvers()],
)
def test_raising_callback_leaves_a_warm_started_model_unchanged(solver, method):
    model = _model(solver=solver, max_iter=5, warm_start=True).fit(X_CLF, Y_CLF)
    before = pickle.dumps(model)
    coefs = [c.copy() for c in model.coefs_]
    failing = Recorder(fail_at=2 if method == "fit" else 1)
    progress = ProgressBar()
    model.set_callbacks(failing, progress)

    with pytest.raises(ValueError, match="callback failed"):
        getattr(model, method)(X_CLF, Y_CLF)

    assert model._skl_callbacks[0] is failing  # not a restored copy
    assert failing.events[-1][0] == "teardown"
    assert _run_monitors == {}  # the progress bar's thread was ended
    assert not hasattr(model, "_callback_fit_ctx")
    for a, b in zip(model.coefs_, coefs):
        assert_array_equal(a, b)
    model.set_callbacks()
    assert pickle.dumps(model) == before
    # still linked: training goes on from the model as it was
    model.fit(X_CLF, Y_CLF)
    assert model.n_iter_ == 5


# ------------------------------------------------ no callbacks, no change
@pytest.mark.parametrize(
    "params",
    [
        {"solver": "sgd"},
        {"solver": "adam", "early_stopping": True},
        {"solver": "adamw", "dropout": 0.2},
        {"solver": "lbfgs"},
        {"solver": "lbfgs", "eval_set": True},
        {"solver": "adam", "eval_set": True},
    ],
    ids=["sgd", "adam-early", "adamw-dropout", "lbfgs", "lbfgs-eval", "adam-eval"],
)
def test_callbacks_do_not_change_training(params):
    params = dict(params)
    fit_params = (
        {"eval_set": (X_CLF[:30], Y_CLF[:30])} if params.pop("eval_set", 0) else {}
    )
    plain = _model(max_iter=15, **params).fit(X_CLF, Y_CLF, **fit_params)
    watched = _model(max_iter=15, **params).set_callbacks(
        Recorder(), ScoringMonitor(scoring="accuracy")
    )
    watched.fit(X_CLF, Y_CLF, **fit_params)
    unset = clone(watched).set_callbacks()
    unset.fit(X_CLF, Y_CLF, **fit_params)

    for model in (watched, unset):
        assert model.n_iter_ == plain.n_iter_
        for a, b in zip(
            model.coefs_ + model.intercepts_, plain.coefs_ + plain.intercepts_
        ):
            assert_array_equal(a, b)
        assert getattr(model, "loss_curve_", None) == getattr(
            plain, "loss_curve_", None
        )
        assert model.validation_loss_curve_ == plain.validation_loss_curve_
    assert not hasattr(unset, "_skl_callbacks")


def test_without_callbacks_no_callback_context_is_made(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("callback context made without callbacks")

    monkeypatch.setattr(MLPClassifier, "_init_callback_context", refuse)
    for solver in ("adam", "lbfgs"):
        _model(solver=solver, max_iter=3).fit(X_CLF, Y_CLF)
    _model().partial_fit(X_CLF, Y_CLF, classes=[0, 1, 2])
    with pytest.raises(AssertionError, match="without callbacks"):
        _model(max_iter=3).set_callbacks(Recorder()).fit(X_CLF, Y_CLF)


# ------------------------------------------------- params, clone, pickling
def test_get_params_and_clone_with_callbacks():
    recorder = Recorder()
    model = _model(solver="adam", max_iter=3).set_callbacks(recorder)
    assert model.get_params() == _model(solver="adam", max_iter=3).get_params()
    cloned = clone(model)
    assert cloned._skl_callbacks[0] is recorder  # shared, as scikit-learn does
    assert cloned.get_params() == model.get_params()
    cloned.fit(X_CLF, Y_CLF)
    assert len(recorder.ends("epoch")) == 3
    with pytest.raises(TypeError, match="FitCallback protocol"):
        model.set_callbacks(object())


def test_callbacks_reach_the_mlp_inside_a_grid_search(capsys):
    search = GridSearchCV(
        _model(solver="adam", max_iter=3), {"alpha": [1e-4, 1e-2]}, cv=2
    ).set_callbacks(ProgressBar(max_propagation_depth=None))
    search.fit(X_CLF, Y_CLF)
    out = capsys.readouterr().out
    assert len(re.findall(r"\| MLPClassifier - fit", out)) == 5  # 4 splits + refit
    assert not re.search(r"\b[0-9]{1,2}%", out)  # every bar complete


@pytest.mark.parametrize("factory", [ProgressBar, lambda: ScoringMonitor(scoring="r2")])
@pytest.mark.parametrize("fitted", [False, True])
def test_model_with_callbacks_pickles(factory, fitted):
    model = _model("reg", solver="adam", max_iter=3).set_callbacks(factory())
    if fitted:
        model.fit(X_REG, Y_REG)
    restored = pickle.loads(pickle.dumps(model))
    assert type(restored._skl_callbacks[0]) is type(model._skl_callbacks[0])
    if fitted:
        assert_array_equal(restored.predict(X_REG), model.predict(X_REG))


def test_refit_after_pickle_keeps_logging(capsys):
    monitor = ScoringMonitor(scoring="r2")
    model = _model("reg", solver="lbfgs", max_iter=3)
    model.set_callbacks(ProgressBar(), monitor).fit(X_REG, Y_REG)
    first = monitor.get_logs(select="all")

    restored = pickle.loads(pickle.dumps(model))
    restored.fit(X_REG, Y_REG)

    logs = restored._skl_callbacks[1].get_logs(select="all")
    assert len(logs) == 2
    assert logs[0].data == first[0].data
    assert len(re.findall(r"MLPRegressor - fit", capsys.readouterr().out)) >= 2


def test_refit_after_load_in_a_fresh_process(tmp_path):
    # fitted and saved in one process, loaded and refitted in another: with
    # the first one alive, the loaded monitor would send its scores there
    path = tmp_path / "model.pkl"
    save = f"""
        import pickle, warnings
        from sklearn.callback import ProgressBar, ScoringMonitor
        from sklearn.datasets import make_regression
        from fastmlp import MLPRegressor
        warnings.simplefilter("ignore")
        X, y = make_regression(n_samples=50, n_features=6, random_state=0)
        model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
        model.set_callbacks(ProgressBar(), ScoringMonitor(scoring="r2"))
        open({str(path)!r}, "wb").write(pickle.dumps(model.fit(X, y / y.std())))
        """
    load = f"""
        import pickle, warnings
        from sklearn.datasets import make_regression
        warnings.simplefilter("ignore")
        model = pickle.loads(open({str(path)!r}, "rb").read())
        X, y = make_regression(n_samples=50, n_features=6, random_state=1)
        model.fit(X, y / y.std())
        logs = model._skl_callbacks[1].get_logs(select="all")
        assert len(logs) == 2, logs
        for log in logs:
            assert [r["task_name"] for r in log.data] == ["fit"] + ["epoch"] * 3
        print("refit ok")
        """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outputs = []
    for script in (save, load):
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)],
            capture_output=True,
            timeout=300,
            env=env,
        )
        assert result.returncode == 0, result.stderr.decode()
        outputs.append(result.stdout.decode())
    assert all(re.search(r"MLPRegressor - fit .* 100%", out) for out in outputs)
    assert "refit ok" in outputs[1]
