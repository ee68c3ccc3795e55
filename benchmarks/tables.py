"""The benchmarks' one table printer: first column left-aligned, the figures right-aligned."""

from __future__ import annotations

from collections.abc import Sequence


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print ``header``, a rule under it, then ``rows``, each column as wide as its widest cell."""
    lines = [header, *rows]
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    for k, row in enumerate(lines):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
