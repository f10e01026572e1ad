"""Tables (markdown and CSV), the cells' number formats, verdicts, JSON and figures.

Example:
    >>> table = Table("arm | test acc %")
    >>> _ = table.add(["full", fmt_ci(0.9123, 0.0051, scale=100)])  # returns the row
    >>> print(table.markdown())
    | arm | test acc % |
    |---|---|
    | full | 91.23 ± 0.51 |
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from automata.bench.grid import BenchError, write_text


def fmt_ci(mean: float | None, half: float | None, digits: int = 2, scale: float = 1.0) -> str:
    """``mean ± half`` (an interval from :func:`~automata.results.stats.ci95`), ``mean`` alone
    without a half-width, ``-`` without a mean; both multiplied by ``scale``."""
    if mean is None:
        return "-"
    if half is None:
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {half * scale:.{digits}f}"


def fmt_mean_std(values: Sequence[float], digits: int = 3, scale: float = 1.0) -> str:
    """``mean ± sample standard deviation`` of ``values`` (the value alone when it is one)."""
    vals = [v * scale for v in values]
    if len(vals) == 1:
        return f"{vals[0]:.{digits}f}"
    return f"{statistics.mean(vals):.{digits}f} ± {statistics.stdev(vals):.{digits}f}"


def fmt_interval(
    mean: float | None, half: float | None, digits: int = 2, scale: float = 1.0
) -> str:
    """``mean [low, high]`` with signs, the form a claim is phrased in (``-0.34 [-0.75, +0.07]``);
    ``mean (no interval)`` without a half-width, ``-`` without a mean; scaled by ``scale``."""
    if mean is None:
        return "-"
    m = mean * scale
    if half is None:
        return f"{m:+.{digits}f} (no interval)"
    h = half * scale
    return f"{m:+.{digits}f} [{m - h:+.{digits}f}, {m + h:+.{digits}f}]"


def with_n(text: str, n: int, planned: int) -> str:
    """A table cell with its count of seeds when it has fewer than ``planned``."""
    return text if n >= planned or text == "-" else f"{text} (n={n})"


def verdict(mean: float | None, half: float | None) -> str:
    """What an interval of a difference says: ``better`` or ``worse`` when it excludes 0,
    ``undecided`` when it contains 0 (neither is shown; its width says how large a difference
    it still allows), ``n/a`` without one."""
    return against(mean, half, 0.0, "better", "worse")


def against(
    mean: float | None,
    half: float | None,
    threshold: float,
    above: str = "met",
    below: str = "missed",
) -> str:
    """What an interval says of a target ``value >= threshold``: ``above`` when the whole
    interval is above it, ``below`` when the whole interval is under it, ``undecided`` when it
    straddles it, ``n/a`` without an interval.

    Example:
        >>> against(-0.2, 0.25, -0.5), against(-0.2, 0.4, -0.5), against(-1.0, 0.4, -0.5)
        ('met', 'undecided', 'missed')
    """
    if mean is None or half is None:
        return "n/a"
    if mean - half > threshold:
        return above
    if mean + half < threshold:
        return below
    return "undecided"


#: A pick is bad when its final test accuracy is more than this many points below the full
#: arm's mean (the data-size issue's rule, shared by every benchmark that counts them).
BAD_PICK_POINTS = 2.0


def bad_picks(tests: Iterable[float | None], full_mean: float | None) -> int:
    """How many of ``tests`` (accuracies in [0, 1], None: no result) are more than
    :data:`BAD_PICK_POINTS` points below ``full_mean`` (0 without a mean). The difference is
    rounded to 1e-9 points first, so that exactly 2 points below (0.90 - 0.88, which floats
    make 2.0000000000000018) is not more than 2.

    Example:
        >>> bad_picks([0.90, 0.875, 0.88, None], 0.90)
        1
    """
    if full_mean is None:
        return 0
    return sum(
        1 for t in tests if t is not None and round(100 * (full_mean - t), 9) > BAD_PICK_POINTS
    )


class Table:
    """A markdown table, built row by row.

    Args:
        columns: the header cells, or the header as it reads (``"arm | test acc %"``).
        align: the rule under the header, one for every column (``---``, ``---:``) or one
            per column.
    """

    def __init__(self, columns: str | Sequence[str], align: str | Sequence[str] = "---") -> None:
        if isinstance(columns, str):
            columns = [c.strip() for c in columns.strip().strip("|").split("|")]
        self.columns = list(columns)
        self.align = [align] * len(columns) if isinstance(align, str) else list(align)
        self.rows: list[list[str]] = []

    def add(self, cells: Sequence[object]) -> str:
        """Append a row (cells as ``str``); returns its markdown line."""
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([str(c) for c in cells])
        return row(self.rows[-1])

    def header(self) -> str:
        return row(self.columns) + "\n|" + "|".join(self.align) + "|"

    def markdown(self) -> str:
        return "\n".join([self.header(), *(row(r) for r in self.rows)])


def row(cells: Sequence[object]) -> str:
    """One markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_json(path: Path, data: Any, indent: int | None = 1) -> None:
    write_text(path, json.dumps(data, indent=indent) + "\n")


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def figure(
    path: Path, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (7, 4.5)
) -> Iterator[tuple[Any, Any]]:
    """``with figure(path, 1, 3) as (fig, axes):`` draw; the figure is laid out, saved to
    ``path`` (110 dpi) and closed when the block ends without an error."""
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def _markers(name: str) -> tuple[str, str]:
    """The opening marker's prefix and the closing marker of a page's generated block."""
    if not name:
        return "<!-- generated by: ", "<!-- end of the generated tables -->"
    return f"<!-- generated ({name}) by: ", f"<!-- end of the generated tables ({name}) -->"


def _span(text: str, name: str) -> tuple[int, int, int, int]:
    """Where the generated block ``name`` lies in ``text``: its opening marker's start, the end
    of its command, the closing marker's start and end (ValueError when it has none)."""
    begin, end = _markers(name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        label = f" ({name})" if name else ""
        raise ValueError(f"no generated block{label}: '{begin}...' ... '{end}'")
    return start, text.index(" -->", start), stop, stop + len(end)


def docs_block(text: str, name: str = "") -> tuple[str, str]:
    """The command and the body of the generated block ``name`` of a page's ``text``.

    A page holds its generated tables between ``<!-- generated by: COMMAND -->`` and
    ``<!-- end of the generated tables -->`` (a page with several blocks names them:
    ``<!-- generated (NAME) by: COMMAND -->`` ... ``<!-- end of the generated tables (NAME)
    -->``); COMMAND remakes the block from committed records.

    Example:
        >>> page = "text\\n<!-- generated (t) by: make t -->\\n\\n| a |\\n\\n"
        >>> page += "<!-- end of the generated tables (t) -->\\nmore"
        >>> docs_block(page, "t")
        ('make t', '| a |')
    """
    start, command_end, stop, _ = _span(text, name)
    command = text[start + len(_markers(name)[0]) : command_end]
    return command, text[command_end + len(" -->") : stop].strip()


def write_docs_block(path: Path, body: str, command: str, name: str = "") -> None:
    """Replace the generated block ``name`` of the page ``path`` with ``body`` and the
    command that makes it (:func:`docs_block`); a page without the block is refused."""
    text = path.read_text()
    try:
        start, _, _, after = _span(text, name)
    except ValueError as exc:
        raise BenchError(f"{path} has no generated-tables block: {exc}") from None
    begin, end = _markers(name)
    write_text(path, f"{text[:start]}{begin}{command} -->\n\n{body.strip()}\n\n{end}{text[after:]}")
