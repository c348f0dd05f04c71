"""``python -m fastmlp warmup [options]``: compile the kernels ahead.

See ``fastmlp._warmup`` and ``python -m fastmlp warmup --help``.
"""

import sys

COMMANDS = ("warmup",)


def main(argv=None):
    """Run the command named by the first argument."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m fastmlp warmup [--help | options]", file=sys.stderr)
        return 2
    from fastmlp import _warmup

    return _warmup.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
