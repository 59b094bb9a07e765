"""Charts with matplotlib: each function takes an optional Axes and returns the Figure; none calls show().

Labels are code labels in one language when a codebook is given (code ids
otherwise), wrapped so long Spanish labels stay whole; figures are sized to
their labels and laid out so nothing is clipped. Count axes show whole numbers
only. ``fig.savefig("x.png")`` or ``.svg`` writes a file.

In Jupyter a chart that is the last expression of a cell is drawn as an image
with no ``%matplotlib inline``: the functions return a :class:`Chart`, a
matplotlib ``Figure`` with IPython's rich display (``_repr_png_``). When the
inline backend is active, IPython's own Figure formatter takes precedence, so
the chart is still drawn exactly once.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import ParameterError
from ..io.cells import clean_text
from ..io.roles import role_column
from ..messages import WORDS, say
from ..schemas import check, takes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..codebook import Codebook

__all__ = ["Chart", "plot_code_by_attribute", "plot_cooccurrence", "plot_frequencies", "plot_saturation"]

_DIMENSION_COLOURS = ["#e76f51", "#6a4c93", "#2a9d8f", "#e9c46a", "#264653", "#f4a261"]


class Chart(Figure):
    """A matplotlib ``Figure`` that Jupyter draws inline as a PNG image.

    A bare ``Figure`` (not pyplot: no global state, no GUI, safe in scripts)
    only shows as ``<Figure size ...>`` text in a notebook unless the inline
    backend was switched on; this subclass adds IPython's ``_repr_png_``
    protocol, so ``qc.plot_frequencies(...)`` as a cell's last expression is
    drawn as it is. Everything else is a plain ``Figure``: ``savefig``,
    ``axes``, embedding in other figures.

    Examples
    --------
    >>> import pandas as pd, qualcode as qc
    >>> q = pd.DataFrame({"segment_id": ["s1"], "doc_id": ["d1"], "code_id": ["leadership.vision"]})
    >>> chart = qc.plot_frequencies(qc.code_frequencies(q))
    >>> chart._repr_png_()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _figure(ax: Axes | None, size: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]  # an Axes in a SubFigure gives that SubFigure, kept as is
    fig = Chart(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _whole_numbers(axis: object) -> None:
    """Ticks at whole numbers only: a count axis never shows 2.5 codes."""
    axis.set_major_locator(MaxNLocator(integer=True))  # type: ignore[attr-defined]


def _labels(codes: Sequence[str], codebook: Codebook | None, lang: str, width: int = 38) -> list[str]:
    out = []
    for code in codes:
        label = code
        if codebook is not None and code in codebook:
            label = codebook[code].label.get(lang) or code
        out.append(textwrap.fill(_drawable(label), width))
    return out


def _drawable(value: object) -> str:
    """Text a font can draw: control characters and non-characters become spaces, as in every written file."""
    return clean_text(str(value), "chart labels")


@takes(freq="frequencies[code_id, dimension]")
def plot_frequencies(freq: pd.DataFrame, *, codebook: Codebook | None = None, lang: str = "es",
                     value: str = "n_participants", top: int | None = None, ax: Axes | None = None) -> Figure:
    """Horizontal bars of code frequencies, grouped and coloured by dimension.

    Parameters
    ----------
    freq : DataFrame
        From :func:`qualcode.code_frequencies`.
    value : str
        ``n_segments``, ``n_documents``, ``n_participants`` or ``pct_participants``.
    """
    if value not in freq.columns:
        raise ParameterError(f"value {value!r} is not a column of the frequency table ({list(freq.columns)}).")
    table = freq.sort_values(["dimension", value], ascending=[True, True])
    if top is not None:
        table = table.sort_values(value, ascending=False).head(top).sort_values(["dimension", value])
    labels = _labels(table["code_id"], codebook, lang)
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = _figure(ax, (9, max(3.0, 0.32 * lines + 1.2)))
    dims = list(dict.fromkeys(table["dimension"]))
    palette = {d: (codebook[d].color if codebook is not None and d in codebook and codebook[d].color
                   else _DIMENSION_COLOURS[i % len(_DIMENSION_COLOURS)]) for i, d in enumerate(dims)}
    colours = [palette[d] for d in table["dimension"]]
    ax.barh(range(len(table)), table[value], color=colours)
    ax.set_yticks(range(len(table)), labels, fontsize=8)
    ax.set_xlabel(say(f"chart.{value}", lang) if f"chart.{value}" in WORDS else value)
    if value != "pct_participants":
        _whole_numbers(ax.xaxis)
    from matplotlib.patches import Patch

    names = _labels(dims, codebook, lang, 30)
    handles = [Patch(color=palette[d], label=n) for d, n in zip(dims, names, strict=True)]  # one label per dimension
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title(say("chart.frequencies", lang))
    return fig


@takes(table="code_by_attribute[code_id]")
def plot_code_by_attribute(table: pd.DataFrame, by: str, *, codebook: Codebook | None = None, lang: str = "es",
                           value: str = "n", ax: Axes | None = None) -> Figure:
    """Heatmap of a code × attribute table (from :func:`qualcode.code_by_attribute`), cells annotated.

    ``by`` is the attribute column, or a role (``stage``) that one of the table's columns plays.
    """
    by = by if by in table.columns else (role_column(table, by) or by)
    check(table, "code_by_attribute", columns=["code_id", by, value], values=False, where="table (by, value)")
    grid = table.pivot_table(index="code_id", columns=by, values=value, aggfunc="sum", fill_value=0)
    labels = _labels(grid.index, codebook, lang)
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = _figure(ax, (max(6.0, 1.3 * grid.shape[1] + 4.5), max(3.0, 0.3 * lines + 1.5)))
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="YlGnBu")
    ax.set_yticks(range(grid.shape[0]), labels, fontsize=8)
    ax.set_xticks(range(grid.shape[1]), [textwrap.fill(_drawable(c), 14) for c in grid.columns], fontsize=8)
    peak = float(grid.to_numpy().max()) or 1.0
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            cell = grid.iat[i, j]
            ax.text(j, i, f"{cell:g}", ha="center", va="center", fontsize=7,
                    color="white" if cell > 0.6 * peak else "black")
    legend = say(f"chart.{value}", lang) if f"chart.{value}" in WORDS else value
    bar = fig.colorbar(image, ax=ax, shrink=0.8, label=legend)
    if pd.api.types.is_integer_dtype(table[value]):
        _whole_numbers(bar.ax.yaxis)
    ax.set_title(say("chart.codes_by", lang, by=_drawable(by)))
    return fig


@takes(first="first_appearance[position, doc_id, n_new, cumulative]")
def plot_saturation(first: pd.DataFrame, result: pd.Series | None = None, *, threshold: float = 0.05,
                    ax: Axes | None = None, lang: str = "es") -> Figure:
    """Saturation curve: codes found so far, new codes per document, and the saturation point.

    Parameters
    ----------
    first : DataFrame
        From :func:`qualcode.first_appearance`.
    result : Series, optional
        One row of :func:`qualcode.saturation` (Guest): its base size sets
        the threshold line, its point the marker, its notation the title.
    """
    fig, ax = _figure(ax, (9, 4.5))
    x = first["position"].to_numpy()
    ax.bar(x, first["n_new"], color="#e9c46a", label=say("chart.new_codes", lang))
    ax.plot(x, first["cumulative"], marker="o", color="#264653",
            label=say("chart.codes_so_far", lang))
    if result is not None and pd.notna(result.get("base_codes")):
        allowed = threshold * float(result["base_codes"])
        words = say("chart.threshold", lang, t=f"{threshold:.0%}")
        ax.axhline(allowed, linestyle="--", color="#e76f51", linewidth=1, label=f"{words} ({allowed:.2f})")
    if result is not None and bool(result.get("saturated")):
        point = int(result["point"])
        ax.axvline(point, color="#2a9d8f", linewidth=2,
                   label=f"{say('chart.saturation_point', lang)} {result['notation']}")
    title = say("chart.saturation", lang)
    if result is not None:
        title += f": {result['notation']}"
    ax.set_title(title)
    ax.set_xlabel(say("chart.document_order", lang))
    ax.set_ylabel(say("chart.codes", lang))
    _whole_numbers(ax.yaxis)
    names = [_drawable(d) if len(str(d)) <= 24 else _drawable(d)[:23] + "…" for d in first["doc_id"]]
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.legend(fontsize=8, loc="center right")
    return fig


@takes(cooc="cooccurrence[code_a, code_b, n]")
def plot_cooccurrence(cooc: pd.DataFrame, *, codebook: Codebook | None = None, lang: str = "es", top: int = 15,
                      ax: Axes | None = None) -> Figure:
    """Heatmap of how often the most co-occurring codes appear together (from :func:`qualcode.cooccurrence`)."""
    if cooc.empty:
        raise ParameterError("no co-occurring codes to plot.")
    totals = pd.concat([cooc[["code_a", "n"]].rename(columns={"code_a": "code"}),
                        cooc[["code_b", "n"]].rename(columns={"code_b": "code"})]).groupby("code")["n"].sum()
    codes = list(totals.sort_values(ascending=False).index[:top])
    matrix = np.zeros((len(codes), len(codes)))
    index = {c: i for i, c in enumerate(codes)}
    for a, b, n in cooc[["code_a", "code_b", "n"]].itertuples(index=False):
        if a in index and b in index:
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = n
    labels = _labels(codes, codebook, lang, 28)
    size = max(5.0, 0.45 * len(codes) + 3.5)
    fig, ax = _figure(ax, (size + 1.5, size))
    image = ax.imshow(matrix, cmap="Purples")
    ax.set_xticks(range(len(codes)), labels, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(codes)), labels, fontsize=7)
    bar = fig.colorbar(image, ax=ax, shrink=0.7, label=say("chart.both", lang))
    _whole_numbers(bar.ax.yaxis)
    ax.set_title(say("chart.cooccurrence", lang))
    return fig
