"""The printed tables and the PNG chart of a benchmark run's results."""

import math

import activations
import datasets
import first_use as first_use_session
import libraries

RATIO_NOTE = (
    "ratio = that library's median / fastmlp's median, from alternating "
    "repeats (>1: fastmlp is faster); load = the machine's 1-minute load "
    "average before and after the workload (this run itself adds 1-2; 2 cores)"
)


def _present(rows):
    """The libraries that appear in any of ``rows``, in ``libraries.ALL`` order."""
    found = {name for row in rows for name in row["libraries"]}
    return [name for name in libraries.ALL if name in found]


def _table(header, lines, left=2):
    """Columns sized to fit; the first ``left`` columns left-aligned."""
    rows = [header, *lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = []
    for cells in rows:
        text = "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        )
        out.append(text.rstrip())
    out.insert(1, "-" * len(max(out, key=len)))
    return "\n".join(out)


def machine_lines(result):
    """The description of the machine and software."""
    m = result["machine"]
    pools = "; ".join(
        f"{p['internal_api']} {p['version'] or ''} {p['architecture'] or ''}"
        f" {p['num_threads']} threads ({p['user_api']}: {p['library']})".replace(
            "  ", " "
        )
        for p in m["threadpools"]
    )
    versions = ", ".join(
        f"{name} {version}" for name, version in m["versions"].items() if version
    )
    peak = result["matmul_peak_gflops"]
    return [
        f"CPU: {m['cpu_model']}, {m['logical_cores']} logical cores "
        f"({m['usable_cores']} usable); load average at start "
        + " ".join(f"{x:.2f}" for x in m["load_average_at_start"]),
        f"thread pools (threadpoolctl): {pools}",
        f"Python {m['python']} on {m['platform']}",
        f"versions: {versions}",
        f"matmul peak (NumPy {peak['size']}x{peak['size']} @ "
        f"{peak['size']}x{peak['size']}, best of {peak['tries']}): "
        + ", ".join(f"{d} {peak[d]:.1f} GFLOP/s" for d in ("float64", "float32")),
    ]


def training_table(rows):
    """Median fit seconds and ratios to fastmlp, one line per workload and dtype."""
    names = _present(rows)
    header = ["workload", "dtype"] + [
        name if name == "fastmlp" else f"{name} (ratio)" for name in names
    ]
    header.append("load")
    lines = []
    for row in rows:
        cells = [row["workload"], row["dtype"]]
        for name in names:
            if name not in row["median_seconds"]:
                cells.append("-")
            elif name == "fastmlp":
                cells.append(f"{row['median_seconds'][name]:.3f} s")
            else:
                cells.append(
                    f"{row['median_seconds'][name]:.3f} s "
                    f"({row['ratio_to_fastmlp'][name]:.2f}x)"
                )
        cells.append("{:.1f}-{:.1f}".format(*row["load_average"]))
        lines.append(cells)
    return _table(header, lines)


def best_table(rows):
    """Best (least disturbed) fit time of each library and ratios of those."""
    names = _present(rows)
    lines = []
    for row in rows:
        best, ratio = row["min_seconds"], row["ratio_of_minima_to_fastmlp"]
        cells = [row["workload"], row["dtype"]]
        for name in names:
            if name not in best:
                cells.append("-")
            elif name == "fastmlp":
                cells.append(f"{best[name]:.3f} s")
            else:
                cells.append(f"{best[name]:.3f} s ({ratio[name]:.2f}x)")
        spread = max(row["seconds"]["fastmlp"]) / best["fastmlp"]
        cells.append(f"{spread:.1f}x")
        lines.append(cells)
    header = ["workload", "dtype"] + [
        name if name == "fastmlp" else f"{name} (ratio)" for name in names
    ]
    return _table(header + ["fastmlp max/min"], lines)


def score_table(rows):
    """Held-out scores (accuracy, or R^2 for regression)."""
    names = _present(rows)
    lines = []
    for row in rows:
        cells = [row["workload"], row["dtype"], row["score_name"]]
        cells += [
            f"{row['score'][name]:.4f}" if name in row["score"] else "-"
            for name in names
        ]
        lines.append(cells)
    return _table(["workload", "dtype", "metric"] + names, lines, left=3)


def flops_table(rows):
    """Achieved GFLOP/s of fastmlp and its fraction of the matmul peak."""
    names = _present(rows)
    lines = []
    for row in rows:
        cells = [
            row["workload"],
            row["dtype"],
            f"{row['gflop']:.1f}",
            f"{100 * row['fastmlp_fraction_of_peak']:.1f} %",
        ]
        cells += [
            f"{row['gflops'][name]:.2f}" if name in row["gflops"] else "-"
            for name in names
        ]
        lines.append(cells)
    header = ["workload", "dtype", "GFLOP", "fastmlp/peak"] + [
        f"{name} GFLOP/s" for name in names
    ]
    return _table(header, lines)


def memory_table(rows):
    """Peak RSS of a fit per library (MB), and how much the fit raised it."""
    rows = [row for row in rows if row.get("memory")]
    if not rows:
        return None
    names = _present(rows)
    lines = []
    for row in rows:
        cells = [row["workload"], row["dtype"]]
        for name in names:
            probe = row["memory"].get(name)
            if probe and probe["peak_mb"] is not None:
                cells.append(f"{probe['peak_mb']:.0f} (+{probe['fit_mb']:.0f})")
            else:
                cells.append("-")
        lines.append(cells)
    return _table(["workload", "dtype"] + names, lines)


def predict_table(rows):
    """Throughput and one-row latency of predict_proba."""
    lines = []
    for row in rows:
        for name in row["libraries"]:
            ratio = row["ratio_to_fastmlp"].get(name)
            latency_ratio = row["latency_ratio_to_fastmlp"].get(name)
            lines.append(
                [
                    row["dtype"],
                    name,
                    f"{row['rows_per_second'][name]:,.0f}",
                    f"{row['gflops'][name]:.1f}",
                    "-" if ratio is None else f"{ratio:.2f}x",
                    f"{row['latency_us'][name]:,.0f}",
                    "-" if latency_ratio is None else f"{latency_ratio:.2f}x",
                    f"{row['score'][name]:.4f}",
                    f"{row['max_abs_proba_difference_to_fastmlp'][name]:.1e}",
                ]
            )
    header = [
        "dtype",
        "library",
        "rows/s",
        "GFLOP/s",
        "time ratio",
        "1-row us",
        "ratio",
        "accuracy",
        "max|dP|",
    ]
    return _table(header, lines)


def sweep_table(sweep):
    """fastmlp's and scikit-learn's fit time along each sweep axis."""
    lines = []
    for point in sweep["points"]:
        median = point["median_seconds"]
        lines.append(
            [
                point["axis"],
                f"{point['value']:,}",
                f"{median['fastmlp']:.3f} s",
                f"{median['scikit-learn']:.3f} s",
                f"{point['ratio_to_fastmlp']['scikit-learn']:.2f}x",
            ]
        )
    return _table(["axis", "value", "fastmlp", "scikit-learn", "ratio"], lines, 1)


def threads_table(threads):
    """Speed-up against one thread, measured and (training) as the cost
    model predicts it, for each thread count; the model alone beyond the
    machine's cores."""
    counts = [str(t) for t in threads["counts"]]
    predicted = [str(t) for t in threads["predicted"]]
    lines = []
    for row in threads["rows"]:
        model = row.get("model_speedup", {})
        cells = [
            row["workload"],
            row["dtype"],
            str(row.get("parts", "-")),
            f"{row['median_seconds']['1']:.3f} s",
        ]
        for t in counts[1:]:
            measured = f"{row['speedup'][t]:.2f}x"
            cells.append(f"{measured} ({model[t]:.2f}x)" if t in model else measured)
        cells += [f"{model[t]:.2f}x" if t in model else "-" for t in predicted]
        best = row.get("row_split_best")
        cells.append(
            " ".join(
                f"{t}: {best[t]['speedup']:.1f}x/{best[t]['parts']}p" for t in predicted
            )
            if best
            else "-"
        )
        cells.append("yes" if row["bit_identical"] else "NO")
        lines.append(cells)
    header = ["workload", "dtype", "parts", "1 thread"]
    header += [f"{t} threads (model)" for t in counts[1:]]
    header += [f"{t} cores, model" for t in predicted]
    header += ["best row split, model", "same bits"]
    return _table(header, lines)


def threads_notes(threads):
    """The section's method, in a few lines."""
    barriers = threads["barrier_seconds"]
    load = threads["load_average"]
    crossings = ", ".join(
        f"{t} threads {seconds * 1e6:.2f} us" for t, seconds in barriers.items()
    )
    lines = [
        f"cores: {threads['cores']}; load average {load[0]:.1f} -> {load[1]:.1f}; "
        f"one barrier crossing: {crossings}",
        "model: fit(T) = serial + batches x (ceil(P/T) x (part + update/P) + "
        "2 x barrier(T)), part and update measured on one thread; it ignores "
        "shared memory bandwidth and caches (an upper bound)",
        "best row split: the model's best speed-up against whole batches on one "
        "thread over P = 1, 2, 4, 8, 16 row parts of a 200-row batch",
    ]
    control = threads.get("free_cores_control")
    if control and control["threads"] > 1:
        lines.append(
            f"free cores: NumPy's one-thread products ran {control['speedup']:.2f}x "
            f"faster on {control['threads']} threads than one after the other "
            "(near 1: other work held the cores, and no code could speed up)"
        )
    if threads["not_measured"]:
        lines.append(f"not measured (more than the cores): {threads['not_measured']}")
    for row in threads["rows"]:
        if "part_seconds" in row:
            parts = row["part_seconds"]
            shown = ", ".join(
                f"{key} {value * 1e3:.3f} ms" for key, value in parts.items()
            )
            lines.append(
                f"{row['workload']} {row['dtype']}: serial "
                f"{row['serial_seconds']:.3f} s over {row['batches']} batches; " + shown
            )
    return "\n".join(lines)


def jacobian_table(crossover):
    """Median times of jacobian's two modes along the n_features sweep."""
    lines = []
    for point in crossover["points"]:
        median = point["median_seconds"]
        lines.append(
            [
                f"{point['n_features']:,}",
                f"{median['forward'] * 1e3:.2f} ms",
                f"{median['reverse'] * 1e3:.2f} ms",
                f"{point['reverse_over_forward']:.2f}",
                point["faster"],
                point["auto"],
            ]
        )
    header = ["n_features", "forward", "reverse", "rev/fwd", "faster", "auto picks"]
    return _table(header, lines, 1)


def scale_line(scale):
    """One epoch on many rows: the memory it needs beyond the input."""
    rise = scale["fit_mb"]
    memory = (
        "peak RSS not measurable here"
        if rise is None
        else f"the fit raised the peak RSS by {rise:.0f} MB = "
        f"{scale['fit_over_input']:.2f}x the input ({scale['input_mb']:.0f} MB)"
    )
    return (
        f"Scale: one epoch of fastmlp on {scale['rows']:,} x {scale['features']} "
        f"float32, hidden {tuple(scale['hidden'])}: {memory}; "
        f"{scale['seconds']:.1f} s"
    )


def startup_lines(startup):
    """Import time and first-fit numbers."""
    imp = startup["import"]
    warm = startup["first_fit_warm_cache"]
    lines = [
        f"import fastmlp after import sklearn.neural_network: "
        f"{imp['fastmlp_extra_seconds']:.3f} s (sklearn.neural_network itself "
        f"{imp['sklearn_neural_network_seconds']:.3f} s; fresh processes, "
        f"median of {imp['repeats']})",
        f"first fastmlp fit in a fresh process, warm numba cache: "
        f"{warm['first_fit_seconds']:.3f} s; a later fit in that process "
        f"{warm['later_fit_seconds']:.3f} s; difference "
        f"{warm['first_minus_later_seconds']:.3f} s ({startup['workload']}, float64)",
    ]
    cold = startup.get("first_fit_cold_cache")
    if cold:
        lines.append(
            f"same with a cold cache (empty NUMBA_CACHE_DIR, so it compiles): "
            f"first {cold['first_fit_seconds']:.1f} s, later "
            f"{cold['later_fit_seconds']:.3f} s"
        )
    return lines


FIRST_USE_COLUMNS = (
    ("fastmlp_cold", "fastmlp cold"),
    ("fastmlp_warm", "fastmlp warm"),
    ("scikit_learn", "scikit-learn"),
)


def _seconds(step):
    """``'wall / CPU'`` seconds of one step, or ``'-'``."""
    if step is None:
        return "-"
    wall = "?" if step["wall_seconds"] is None else f"{step['wall_seconds']:.2f}"
    return f"{wall} / {step['cpu_seconds']:.2f}"


def first_use_table(first_use):
    """The first session's steps: fastmlp cold, fastmlp warm, scikit-learn."""
    columns = [(key, name) for key, name in FIRST_USE_COLUMNS if first_use[key]]
    steps = [*first_use_session.STEPS.items(), ("process", "process, launch to exit")]
    lines = []
    for step, label in steps:
        cells = [label]
        for key, _ in columns:
            run = first_use[key]
            cells.append(
                _seconds(
                    run["process"] if step == "process" else run["steps"].get(step)
                )
            )
        lines.append(cells)
    header = ["step"] + [f"{name}, s (wall / CPU)" for _, name in columns]
    return _table(header, lines, left=1)


def first_use_lines(first_use):
    """The heading, the table and the first fit's extra cost."""
    any_run = first_use["fastmlp_warm"]
    extra = []
    for key, name in FIRST_USE_COLUMNS:
        if first_use[key]:
            cost = first_use[key]["first_fit_extra"]
            extra.append(
                f"{name} {cost['wall_seconds']:.3f} s wall / "
                f"{cost['cpu_seconds']:.3f} s CPU"
            )
    return [
        f"First use: one fresh Python process per library, "
        f"{any_run['rows']:,} x {any_run['features']} make_classification "
        "(random_state=0), each step timed inside the process, in this order; "
        "CPU = the process's CPU seconds, all threads and children; cold = an "
        "empty NUMBA_CACHE_DIR (fastmlp compiles everything), warm = the same "
        "folder again in a second process; scikit-learn: the last of its "
        f"runs ({len(first_use['scikit_learn_runs'])}); load "
        "{:.1f}-{:.1f}".format(*first_use["load_average"]),
        first_use_table(first_use),
        "first default fit minus a second identical fit in the same process "
        "(the library's import excluded, numba's included: fastmlp imports it "
        "on the first fit; CPU: the main thread's; target for fastmlp warm: at most "
        f"{first_use['first_fit_extra_target_seconds']:.1f} s): " + "; ".join(extra),
    ]


def headline(result):
    """The line 'fastmlp is N.Nx faster than scikit-learn' (or slower)."""
    ratio = result["summary"]["scikit_learn_ratio_geometric_mean"]
    if ratio is None:
        return None
    what = (
        f"fastmlp is {ratio:.1f}x faster than scikit-learn"
        if ratio >= 1
        else f"fastmlp is {1 / ratio:.1f}x slower than scikit-learn"
    )
    return f"{what} (geometric mean of the training ratios above)"


def text(result):
    """The whole printed report."""
    parts = ["\n".join(machine_lines(result))]
    settings = result["settings"]
    parts.append(
        f"mode {result['mode']}; {settings['repeats']} repeats; solver adam "
        f"(lbfgs row: L-BFGS), batch {settings['batch_size']}, "
        f"{settings['activation']}, alpha {settings['alpha']}, learning rate "
        f"{settings['learning_rate_init']}, shuffled every epoch, tol=0 "
        "(every library runs exactly the listed epochs)"
    )
    notes = [f"note: {name} skipped ({why})" for name, why in result["skipped"].items()]
    if notes:
        parts.append("\n".join(notes))
    rows = result["workloads"]
    if rows:
        parts.append(
            "Training: median fit time; " + RATIO_NOTE + "\n" + training_table(rows)
        )
        parts.append(
            "Training, best of the repeats (the least disturbed run of each "
            "library; a check on the medians when the machine is busy)\n"
            + best_table(rows)
        )
        parts.append("Held-out score\n" + score_table(rows))
        parts.append(
            "Achieved training GFLOP/s; " + result["flop_formula"] + "; "
            "fastmlp/peak = fastmlp's GFLOP/s / the matmul peak of that dtype\n"
            + flops_table(rows)
        )
        memory = memory_table(rows)
        if memory:
            parts.append(
                "Peak memory of a fit, MB: peak RSS (+ rise during the fit); "
                + result["memory_method"]
                + "\n"
                + memory
            )
    if result["predict"]:
        parts.append(
            "Predict: predict_proba on all rows at once (throughput) and on one "
            "row (latency, median of single calls); ratios as above, same "
            "weights in every library\n" + predict_table(result["predict"])
        )
    if result["sweep"]:
        parts.append(
            f"Scaling sweep ({result['sweep']['base']}, float64; "
            "width = the hidden layer's units): median fit time\n"
            + sweep_table(result["sweep"])
        )
    if result.get("threads"):
        parts.append(
            "Threads: fastmlp's speed-up against one thread (threadpoolctl's "
            "limit; predict: predict_proba on the predict workload), measured "
            "and, in parentheses, as the cost model predicts it from measured "
            "per-part times; P = row parts per batch\n"
            + threads_table(result["threads"])
            + "\n"
            + threads_notes(result["threads"])
        )
    if result.get("jacobian"):
        jac = result["jacobian"]
        parts.append(
            f"jacobian: forward vs reverse mode ({jac['rows']} rows, hidden "
            f"{tuple(jac['hidden'])}, {jac['n_outputs']} classes, {jac['dtype']}; "
            "median time; auto = the mode the multiply-add rule picks)\n"
            + jacobian_table(jac)
        )
    if result["startup"]:
        parts.append("Startup\n" + "\n".join(startup_lines(result["startup"])))
    if result.get("first_use"):
        parts.append("\n".join(first_use_lines(result["first_use"])))
    if result.get("scale"):
        parts.append(scale_line(result["scale"]))
    if result.get("activations"):
        parts.append(activations.text(result["activations"]))
    if result.get("datasets"):
        parts.append(datasets.text(result["datasets"]))
    line = headline(result)
    if line:
        parts.append(line)
    return "\n\n".join(parts)


def chart(result, path):
    """A bar chart of the ratios to fastmlp (log scale) saved as PNG ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = []  # (label, {library: ratio})
    for row in result["workloads"]:
        groups.append((f"{row['workload']}\n{row['dtype']}", row["ratio_to_fastmlp"]))
    for row in result["predict"]:
        groups.append((f"predict\n{row['dtype']}", row["ratio_to_fastmlp"]))
        groups.append((f"1-row\n{row['dtype']}", row["latency_ratio_to_fastmlp"]))
    peers = [name for name in libraries.ALL[1:] if any(name in g for _, g in groups)]
    colors = {"scikit-learn": "#f89939", "torch": "#ee4c2c", "jax": "#5e97f6"}
    width = 0.8 / max(len(peers), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups) + 2), 4.8))
    for k, name in enumerate(peers):
        xs = [i + (k - (len(peers) - 1) / 2) * width for i in range(len(groups))]
        values = [g.get(name, math.nan) for _, g in groups]
        bars = ax.bar(xs, values, width, label=name, color=colors[name])
        for bar, value in zip(bars, values):
            if not math.isnan(value):
                ax.annotate(
                    f"{value:.2g}",
                    (bar.get_x() + bar.get_width() / 2, value),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _ in groups], fontsize=8)
    ax.set_ylabel("time / fastmlp's time (>1: fastmlp faster)")
    ax.set_title(
        f"fastmlp vs others, ratio of medians ({result['mode']} mode, "
        f"{result['settings']['repeats']} alternating repeats)"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
