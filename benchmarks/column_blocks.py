"""Column blocks of the wide network's products on several threads: speed and bits.

The question a machine with many cores must answer before fastmlp splits each
layer's products by columns (issue: every core; row parts alone stop near 6x
on 16 cores by the cost model): how fast do the products of one mini-batch run
when their output columns are cut into B blocks spread over T threads, each
block one one-thread BLAS call, and does every element keep the whole
product's bits however the columns are cut (which would let the blocks follow
the thread count without changing a fit's results)?

The products are wide's (784 -> 512 -> 512 -> 10) for a 200-row batch, the
output layer left out (10 columns): forward ``x @ W1`` and ``h1 @ W2``,
weight gradients ``x.T @ d1`` and ``h1.T @ d2``, input delta ``d2 @ W2.T``.
For each (B, T) the section reports the median time of the five products
(``--repeats`` rounds, all (B, T) alternating), the speed-up against the
whole products on one thread, and whether every block result equals the
whole product bit for bit. BLAS runs on one thread throughout (threadpoolctl);
the T threads are the calling one and T - 1 of fastmlp's kept workers
(``fastmlp._workers``), thread i taking blocks i, i + T, ...

Usage::

    python benchmarks/column_blocks.py [--repeats N] [--tiny] [--json PATH]
        [--threads 1,2,4,8,16] [--blocks 1,2,4,8,16]

Threads beyond the machine's cores are skipped.
"""

import os
import sys

import measure
import numpy as np
from threadpoolctl import threadpool_limits

from fastmlp._workers import WorkerPool

WIDE = (784, 512, 512)
BATCH = 200
TINY = ((32, 16, 16), 8)


def _products(dtype, units, batch, rng):
    """(name, left, right) of each product: the result is left @ right."""
    n_in, n_h1, n_h2 = units
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    h1 = rng.standard_normal((batch, n_h1)).astype(dtype)
    d1 = rng.standard_normal((batch, n_h1)).astype(dtype)
    d2 = rng.standard_normal((batch, n_h2)).astype(dtype)
    w1 = rng.standard_normal((n_in, n_h1)).astype(dtype)
    w2 = rng.standard_normal((n_h1, n_h2)).astype(dtype)
    # transposes made contiguous, as the kernels hold them
    return [
        ("forward x @ W1", x, w1),
        ("forward h1 @ W2", h1, w2),
        ("gradient x.T @ d1", np.ascontiguousarray(x.T), d1),
        ("gradient h1.T @ d2", np.ascontiguousarray(h1.T), d2),
        ("input delta d2 @ W2.T", d2, np.ascontiguousarray(w2.T)),
    ]


def _edges(n_columns, blocks):
    return [n_columns * k // blocks for k in range(blocks + 1)]


class _Blocked:
    """left @ right with its output columns in ``blocks`` blocks: each
    block's columns of ``right`` and its output stored contiguously (as a
    thread's slice of the weights and of the layer's output would be)."""

    def __init__(self, left, right, blocks):
        edges = _edges(right.shape[1], blocks)
        self.left = left
        self.parts = [
            np.ascontiguousarray(right[:, a:b]) for a, b in zip(edges, edges[1:])
        ]
        self.outs = [
            np.empty((left.shape[0], part.shape[1]), dtype=left.dtype)
            for part in self.parts
        ]

    def block(self, k):
        np.matmul(self.left, self.parts[k], out=self.outs[k])

    def blocks(self, first, step):
        for k in range(first, len(self.parts), step):
            self.block(k)

    def run(self, pool, threads):
        # thread i takes blocks i, i + T, ...: this thread and T - 1 workers
        # of a pool that gives every task a worker of its own (a
        # ThreadPoolExecutor's waking worker may take both tasks of a pair)
        jobs = [pool.submit(self.blocks, i, threads) for i in range(1, threads)]
        self.blocks(0, threads)
        for job in jobs:
            job.result()

    def result(self):
        return np.hstack(self.outs)


def run(repeats, tiny, threads=(1, 2, 4, 8, 16), blocks=(1, 2, 4, 8, 16)):
    """Time and check every (blocks, threads) pair; return the section."""
    units, batch = TINY if tiny else (WIDE, BATCH)
    cores = os.cpu_count() or 1
    threads = [t for t in threads if t <= cores]
    rng = np.random.default_rng(0)
    section = {
        "units": list(units),
        "batch": batch,
        "cores": cores,
        "repeats": repeats,
        "dtypes": {},
    }
    pool = WorkerPool()  # its idle workers end on their own
    with threadpool_limits(limits=1, user_api="blas"):
        for dtype in (np.float64, np.float32):
            products = _products(dtype, units, batch, rng)
            whole = [left @ right for _, left, right in products]
            pairs = [(b, t) for b in blocks for t in threads if t <= b]
            cut = {
                b: [_Blocked(left, right, b) for _, left, right in products]
                for b in blocks
            }
            same_bits = {}
            for b, t in pairs:
                for blocked in cut[b]:
                    blocked.run(pool, t)
                same_bits[(b, t)] = all(
                    np.array_equal(blocked.result(), expected)
                    for blocked, expected in zip(cut[b], whole)
                )

            def timed(b, t, cut=cut):
                def call():
                    for blocked in cut[b]:
                        blocked.run(pool, t)

                return call

            calls = {pair: timed(*pair) for pair in pairs}
            seconds = measure.medians(measure.alternate(calls, repeats)[0])
            base = seconds[(1, 1)]
            section["dtypes"][np.dtype(dtype).name] = [
                {
                    "blocks": b,
                    "threads": t,
                    "median_seconds": seconds[(b, t)],
                    "speedup": base / seconds[(b, t)],
                    "same_bits": same_bits[(b, t)],
                }
                for b, t in pairs
            ]
    return section


def text(section):
    """The section as a Markdown table per dtype."""
    lines = [
        "Column blocks: wide's products of one {}-row batch (units {}), output "
        "columns in B blocks on T threads, one BLAS thread each; median of {} "
        "rounds; speed-up against the whole products on one thread; same bits: "
        "every element equals the whole product's ({} cores)".format(
            section["batch"], section["units"], section["repeats"], section["cores"]
        )
    ]
    for dtype, rows in section["dtypes"].items():
        lines += ["", f"{dtype}:", "", "| B | T | ms | speed-up | same bits |"]
        lines.append("|---|---|---|---|---|")
        for row in rows:
            lines.append(
                "| {} | {} | {:.3f} | {:.2f}x | {} |".format(
                    row["blocks"],
                    row["threads"],
                    row["median_seconds"] * 1e3,
                    row["speedup"],
                    "yes" if row["same_bits"] else "no",
                )
            )
    return "\n".join(lines)


def _counts(value):
    return tuple(int(v) for v in value.split(","))


def main(argv=None):
    """``column_blocks.py [--repeats N] [--tiny] [--json PATH] [--threads
    1,2,4] [--blocks 1,2,4,8]``: print the section."""
    parser = measure.section_parser(__doc__)
    parser.add_argument("--threads", type=_counts, default=(1, 2, 4, 8, 16))
    parser.add_argument("--blocks", type=_counts, default=(1, 2, 4, 8, 16))
    args = parser.parse_args(argv)
    section = run(args.repeats, args.tiny, args.threads, args.blocks)
    measure.print_section(section, text, args.json)


if __name__ == "__main__":
    sys.exit(main())
