"""The benchmark suite runs end to end at tiny sizes and writes its results.

These tests check the shape of the output only; no time or ratio is asserted
(the machine running the tests may be busy).
"""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "run.py"


def _importable(name):
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


HAS_MATPLOTLIB = _importable("matplotlib")

TRAIN_KEYS = {
    "workload",
    "kind",
    "dtype",
    "description",
    "libraries",
    "repeats",
    "seconds",
    "median_seconds",
    "ratio_to_fastmlp",
    "min_seconds",
    "ratio_of_minima_to_fastmlp",
    "load_average",
    "score_name",
    "score",
    "n_iter",
    "gflop",
    "gflops",
    "fastmlp_fraction_of_peak",
    "memory",
}
PREDICT_KEYS = {
    "workload",
    "kind",
    "dtype",
    "libraries",
    "median_seconds",
    "rows_per_second",
    "ratio_to_fastmlp",
    "latency_us",
    "latency_ratio_to_fastmlp",
    "score",
    "max_abs_proba_difference_to_fastmlp",
    "gflops",
    "fastmlp_fraction_of_peak",
}


def _run(tmp_path, *options):
    out = tmp_path / "result.json"
    png = tmp_path / "ratios.png"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *options, "--json", str(out), "--png", str(png)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, json.loads(out.read_text()), png


def test_quick_tiny_writes_results(tmp_path):
    stdout, result, png = _run(tmp_path, "--quick", "--tiny", "--repeats", "1")

    assert re.search(r"fastmlp is \d+\.\dx (faster|slower) than scikit-learn", stdout)
    assert {
        "mode",
        "settings",
        "machine",
        "peers",
        "skipped",
        "matmul_peak_gflops",
        "flop_formula",
        "memory_method",
        "workloads",
        "predict",
        "sweep",
        "jacobian",
        "startup",
        "first_use",
        "scale",
        "activations",
        "summary",
    } <= set(result)
    assert result["mode"] == "quick+tiny"
    assert {"cpu_model", "logical_cores", "threadpools", "versions"} <= set(
        result["machine"]
    )
    assert {"float64", "float32", "size"} <= set(result["matmul_peak_gflops"])
    runs = [(row["workload"], row["dtype"]) for row in result["workloads"]]
    assert runs == [("small", "float64"), ("small", "float32"), ("lbfgs", "float64")]
    for row in result["workloads"]:
        assert TRAIN_KEYS <= set(row)
        assert row["libraries"][:2] == ["fastmlp", "scikit-learn"]
        assert set(row["ratio_to_fastmlp"]) == set(row["libraries"]) - {"fastmlp"}
        assert set(row["score"]) == set(row["libraries"])
        assert len(row["seconds"]["fastmlp"]) == 1
    lbfgs = result["workloads"][2]
    assert lbfgs["libraries"] == ["fastmlp", "scikit-learn"]  # no peers on lbfgs
    memory = result["workloads"][0]["memory"]
    assert set(memory) == set(result["workloads"][0]["libraries"])
    assert {"peak_mb", "fit_mb", "data_mb"} <= set(memory["fastmlp"])
    assert result["predict"] == [] and result["sweep"] is None
    assert result["scale"] is None and result["activations"] is None  # full only
    assert result["first_use"] is None  # never in --quick unless --only names it
    jacobian = result["jacobian"]
    assert [p["n_features"] for p in jacobian["points"]] == [2, 10, 50]
    for point in jacobian["points"]:
        assert set(point["median_seconds"]) == {"forward", "reverse"}
        assert point["auto"] in ("forward", "reverse")
        assert point["faster"] in ("forward", "reverse")
    assert jacobian["points"][0]["auto"] == "forward"  # 2 features, 10 outputs
    assert "jacobian: forward vs reverse mode" in stdout
    startup = result["startup"]
    assert {"fastmlp_extra_seconds", "sklearn_neural_network_seconds"} <= set(
        startup["import"]
    )
    assert {"first_fit_seconds", "later_fit_seconds"} <= set(
        startup["first_fit_warm_cache"]
    )
    assert result["summary"]["scikit_learn_ratio_geometric_mean"] is not None
    for name, version in result["peers"].items():
        assert version is not None or name in result["skipped"]
        if version is None:
            assert f"note: {name} skipped" in stdout
    if HAS_MATPLOTLIB:
        assert png.exists() and png.stat().st_size > 0
    else:
        assert not png.exists()
        assert "matplotlib is not importable" in stdout


def test_full_mode_tiny_subset(tmp_path):
    stdout, result, png = _run(
        tmp_path,
        "--tiny",
        "--only",
        "mid,predict,sweep,threads,scale,activations,datasets",
        "--dtypes",
        "float32",
        "--no-memory",
        "--repeats",
        "1",
        "--threads",
        "1,2,10000",
    )

    assert [(r["workload"], r["dtype"]) for r in result["workloads"]] == [
        ("mid", "float32")
    ]
    assert result["workloads"][0]["memory"] is None
    assert len(result["predict"]) == 1
    predict = result["predict"][0]
    assert PREDICT_KEYS <= set(predict)
    assert set(predict["latency_us"]) == set(predict["libraries"])
    assert [
        (p["axis"], len(p["median_seconds"])) for p in result["sweep"]["points"]
    ] == [("n_samples", 2)] * 3 + [("width", 2)] * 3
    assert result["startup"] is None and result["jacobian"] is None
    threads = result["threads"]
    assert [(r["workload"], r["dtype"]) for r in threads["rows"]] == [
        ("mid", "float32"),
        ("predict", "float32"),
    ]
    counts = [str(t) for t in threads["counts"]]
    assert counts[0] == "1" and threads["not_measured"] == [10**4]
    mid, predict = threads["rows"]
    assert list(mid["median_seconds"]) == counts == list(predict["speedup"])
    assert set(mid["model_speedup"]) == set(counts) | {"16", "64"}
    assert set(mid["row_split_best"]) == {"16", "64"}
    assert mid["bit_identical"] and predict["bit_identical"]
    assert threads["free_cores_control"]["threads"] == max(threads["counts"])
    assert "Threads: fastmlp's speed-up against one thread" in stdout
    assert "16 cores, model" in stdout
    scale = result["scale"]
    assert scale["rows"] == 20_000 and scale["input_mb"] > 0
    assert scale["train_accuracy"] > 0.5
    assert "Scale: one epoch of fastmlp on 20,000 x 50" in stdout
    assert "Scaling sweep" in stdout and "Predict" in stdout
    section = result["activations"]
    assert [(r["dtype"], r["activation"]) for r in section["rows"]][:2] == [
        ("float32", "relu"),
        ("float32", "identity"),
    ]
    assert len(section["rows"]) == 9
    assert {(r["activation"], r["solver"]) for r in section["sklearn"]} == {
        ("identity", "adam"),
        ("logistic", "adam"),
        ("tanh", "adam"),
        ("relu", "adam"),
        ("logistic", "sgd"),
        ("tanh", "sgd"),
    }
    assert section["many_classes"][0]["n_classes"] == 10  # tiny
    assert "| activation | float64 time | / relu |" in stdout
    section = result["datasets"]
    assert [r["dataset"] for r in section["rows"]] == [
        "iris", "wine", "breast cancer", "digits", "breast cancer, early stopping",
        "digits, early stopping",
    ]  # fmt: skip
    assert section["rows"][-1]["params"] == {"early_stopping": True}
    for row in section["rows"]:
        assert row["epochs"]["fastmlp"] == row["epochs"]["scikit-learn"] <= 20
        assert set(row["median_seconds"]) == {"fastmlp", "scikit-learn"}
    assert "| iris | 150 x 4 |" in stdout
    if HAS_MATPLOTLIB:
        assert png.exists()


@pytest.mark.parametrize(
    "options", [["--only", "nothing"], ["--dtypes", "float16"], ["--repeats", "0"]]
)
def test_bad_options_are_refused(options):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "error" in result.stderr


FIRST_USE_STEPS = {
    "python_start",
    "data",
    "fit_default",
    "to_first_fit",
    "predict_proba",
    "fit_float32",
    "fit_lbfgs",
    "csr_fit_predict",
    "fit_512x512",
    "session",
}


def _positive(times):
    return times["wall_seconds"] > 0 and times["cpu_seconds"] > 0


def test_first_use_sessions_tiny(monkeypatch):
    # fastmlp on numba's default cache (warm after the rest of the suite), so
    # both children take seconds; the shape of the result only, no targets
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    probes = importlib.import_module("probes")
    report = importlib.import_module("report")

    runs = {lib: probes.first_use(lib, tiny=True) for lib in ("sklearn", "fastmlp")}

    for library, run in runs.items():
        assert run["library"] == library and run["tiny"] is True
        assert run["rows"] == 200 and run["features"] == 20
        steps = FIRST_USE_STEPS | ({"jacobian"} if library == "fastmlp" else set())
        assert set(run["steps"]) == steps
        assert all(_positive(times) for times in run["steps"].values())
        parts = run["steps"]["fit_default"]["parts"]
        assert {"import", "fit", "numba_imported_by"} <= set(parts)
        assert run["python_start_measured_from"] == "the parent's launch time"
        assert _positive(run["second_fit"]) and _positive(run["process"])
        assert {"wall_seconds", "cpu_seconds"} <= set(run["first_fit_extra"])
        assert run["n_iter"] == {"fit_default": 5, "again": 5}
        session, process = run["steps"]["session"], run["process"]
        assert session["wall_seconds"] <= process["wall_seconds"]
        assert run["steps"]["to_first_fit"]["wall_seconds"] <= session["wall_seconds"]
    assert "numba" in runs["fastmlp"]["versions"]
    assert runs["fastmlp"]["steps"]["fit_default"]["parts"]["numba_imported_by"]
    assert runs["sklearn"]["steps"]["fit_default"]["parts"]["numba_imported_by"] is None
    lines = report.first_use_lines(
        {
            "fastmlp_cold": None,
            "fastmlp_warm": runs["fastmlp"],
            "scikit_learn": runs["sklearn"],
            "scikit_learn_runs": [runs["sklearn"]],
            "load_average": [1.0, 1.0],
            "first_fit_extra_target_seconds": 0.3,
        }
    )
    table = lines[1]
    assert "fastmlp warm, s (wall / CPU)" in table and "fastmlp cold" not in table
    assert "jacobian (fastmlp only)" in table and "whole session" in table


def test_first_use_refuses_an_unknown_library():
    script = SCRIPT.parent / "first_use.py"
    result = subprocess.run(
        [sys.executable, str(script), "torch"], capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_column_blocks_probe_tiny(tmp_path):
    """benchmarks/column_blocks.py (for a machine with many cores): every
    (blocks, threads) pair with threads <= blocks and <= cores, both dtypes."""
    path = tmp_path / "blocks.json"
    script = SCRIPT.with_name("column_blocks.py")
    command = [sys.executable, str(script), "--tiny", "--repeats", "1"]
    command += ["--threads", "1,2,64", "--blocks", "1,2,4", "--json", str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    section = json.loads(path.read_text())
    for dtype in ("float64", "float32"):
        rows = section["dtypes"][dtype]
        pairs = [(row["blocks"], row["threads"]) for row in rows]
        threads = [t for t in (1, 2, 64) if t <= section["cores"]]
        assert pairs == [(b, t) for b in (1, 2, 4) for t in threads if t <= b]
        assert rows[0]["speedup"] == 1.0 and rows[0]["same_bits"] is True
        assert all(row["median_seconds"] > 0 for row in rows)
    assert "| B | T | ms | speed-up | same bits |" in out.stdout
