"""A sphinx-gallery hook: an example's ``sys.exit`` fails the build.

sphinx-gallery runs the examples inside the sphinx-build process and reports
their exceptions, but not ``SystemExit``: an example that calls ``sys.exit``
(as the scripts do when an optional package is missing) would end the whole
build before any page is written, with ``sys.exit(0)`` silently and with
success. While an example runs, ``sys.exit`` raises an error instead, which
sphinx-gallery reports as the example's failure.
"""

import sys

_exit = sys.exit


def _refuse_exit(code=None):
    raise RuntimeError(
        f"the example called sys.exit({code!r}), which would end the docs "
        "build; if it lacks an optional package, list the package in "
        "docs/conf.py's EXAMPLE_NEEDS so that the build shows it without "
        "running it"
    )


def refuse_exit(gallery_conf, fname, when):
    """sphinx-gallery's ``reset_modules`` hook, before and after each example."""
    sys.exit = _refuse_exit if when == "before" else _exit
