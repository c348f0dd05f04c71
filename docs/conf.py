"""Sphinx configuration of fastmlp's documentation.

Build (from the repository root, after ``pip install ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

No extension fetches anything at build time (no intersphinx), so the build
runs without internet access. The documented fastmlp is the one Python
imports: this checkout's with ``python -m sphinx`` from the repository root,
as .ci/run runs it.
"""

import importlib.util
import os
import re
import sys
from pathlib import Path

from numpydoc.xref import DEFAULT_LINKS

import fastmlp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))  # gallery_guard.py

project = "fastmlp"
author = "fastmlp developers"
copyright = "fastmlp developers"  # noqa: A001
release = fastmlp.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# --- API reference --------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = True
# Type words become :obj: references, shown as code when nothing matches
# (as in scikit-learn's docs); plain words stay text.
numpydoc_xref_ignore = {"of", "or", "and", "shape", "default", "optional", "like"}
# numpydoc's default aliases point into Python's and NumPy's docs through
# intersphinx, which this build does not use: each word stands for itself.
numpydoc_xref_aliases = {word: word for word in DEFAULT_LINKS}

# Inherited methods (score, get_params, the metadata-routing setters) keep
# scikit-learn's docstrings, whose :ref: and :term: targets live in
# scikit-learn's own docs: shown as their text here.
SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^>]*>)?`")


def unlink_sklearn_roles(app, what, name, obj, options, lines):
    if (getattr(obj, "__module__", None) or "").startswith("sklearn"):
        lines[:] = [SKLEARN_ROLE.sub(r"\1", line) for line in lines]


# --- Markdown pages (the user guide keeps the README's Markdown) -----------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# --- examples gallery -------------------------------------------------------
# Every example runs during the build (its output and figure shown), except
# one whose optional packages are missing: it is shown without being run (the
# scripts exit early without them, and a script's sys.exit would end the
# build). FASTMLP_DOCS_EXECUTE=0 shows every example without running it.
EXAMPLE_NEEDS = {
    "dask_out_of_core.py": ["dask", "dask_ml"],  # the dask extra
    "onnx_export.py": ["skl2onnx", "onnxruntime"],  # the onnx extra
    "plot_loss_curves.py": ["matplotlib"],  # the docs extra
}
EXECUTE = os.environ.get("FASTMLP_DOCS_EXECUTE", "1") != "0"
RUN_EXAMPLES = sorted(
    path.name
    for path in (ROOT / "examples").glob("*.py")
    if EXECUTE
    and all(importlib.util.find_spec(m) for m in EXAMPLE_NEEDS.get(path.name, []))
)
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # a file runs when its path matches: one alternative per example that runs
    "filename_pattern": "/(%s)$" % "|".join(map(re.escape, RUN_EXAMPLES))
    if RUN_EXAMPLES
    else "^$",
    "within_subsection_order": "sphinx_gallery.sorting.FileNameSortKey",
    "download_all_examples": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    # matplotlib's reset (the default) and gallery_guard.py's sys.exit guard
    "reset_modules": ("matplotlib", "gallery_guard.refuse_exit"),
    "reset_modules_order": "both",
}

# --- the benchmark chart -----------------------------------------------------
# Drawn at build time by the benchmark suite's own chart function
# (benchmarks/report.py, as `benchmarks/run.py --png` draws it) from the
# measured table on docs/benchmarks.md: the numbers live in one place.
BENCHMARK_PAGE = Path(__file__).with_name("benchmarks.md")
BENCHMARK_CHART = Path(__file__).parent / "_generated" / "benchmark_chart.png"
PEERS = ("scikit-learn", "torch", "jax")


def measured_suite(page):
    """The benchmark-suite table of ``page`` as a result of benchmarks/run.py."""
    text = page.read_text()
    mode, repeats = re.search(
        r"`python benchmarks/run.py`, (\w+) mode, (\d+) alternating", text
    ).groups()
    header = "| workload | dtype | fastmlp | " + " | ".join(PEERS) + " |"
    table = text[text.index(header) :].split("\n\n")[0].splitlines()[2:]
    result = {"mode": mode, "settings": {"repeats": int(repeats)}, "workloads": []}
    predict = {}  # dtype: its two predict rows as one
    for line in table:
        label, dtype, _, *ratios = (cell.strip() for cell in line.strip("|").split("|"))
        ratio = {
            peer: float(value.rstrip("x"))
            for peer, value in zip(PEERS, ratios)
            if value != "-"
        }
        if label.startswith("predict_proba"):
            row = predict.setdefault(dtype, {"dtype": dtype})
            latency = "one row" in label
            row["latency_ratio_to_fastmlp" if latency else "ratio_to_fastmlp"] = ratio
        else:
            workload = label.split()[0]
            result["workloads"].append(
                {"workload": workload, "dtype": dtype, "ratio_to_fastmlp": ratio}
            )
    result["predict"] = list(predict.values())
    return result


def draw_benchmark_chart(app):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import report
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    BENCHMARK_CHART.parent.mkdir(exist_ok=True)
    report.chart(measured_suite(BENCHMARK_PAGE), BENCHMARK_CHART)


# --- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastmlp {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []


def setup(app):
    app.connect("autodoc-process-docstring", unlink_sklearn_roles)
    app.connect("builder-inited", draw_benchmark_chart)
