"""Every chart renders on data_samples/ to a non-empty PNG with no label clipped."""

from __future__ import annotations

import pandas as pd
import pytest

import qualcode as qc
from qualcode.export import plot_code_by_attribute, plot_cooccurrence, plot_frequencies, plot_saturation


@pytest.fixture(scope="module")
def quotes(samples, sample_corpus):
    coding = pd.read_csv(samples / "coding" / "ana.csv")
    segs = sample_corpus.segments.set_index("segment_id")
    return coding.join(segs[["speaker", "participant", "district", "stage", "round", "date"]], on="segment_id")


def assert_renders_unclipped(fig, path):
    fig.savefig(path, dpi=80)
    assert path.stat().st_size > 5_000
    from PIL import Image

    with Image.open(path) as image:
        colours = image.convert("L").getcolors(maxcolors=256 * 256)
        assert image.size[0] > 300 and colours is not None and len(colours) > 10
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    # Everything drawn (tick labels, titles, legends, colour bars) lies inside the figure.
    for ax in fig.axes:
        extent = ax.get_tightbbox(renderer)
        assert extent.x0 >= box.x0 - 2 and extent.x1 <= box.x1 + 2, ax.get_title()
        assert extent.y0 >= box.y0 - 2 and extent.y1 <= box.y1 + 2, ax.get_title()

def test_frequency_chart(quotes, study_codebook, tmp_path):
    fig = plot_frequencies(qc.code_frequencies(quotes), codebook=study_codebook, lang="es")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("Confianza" in label for label in labels)
    assert_renders_unclipped(fig, tmp_path / "freq.png")


def test_code_by_attribute_heatmap(quotes, study_codebook, tmp_path):
    table = qc.code_by_attribute(qc.rollup(quotes, to="parent"), "district")
    assert_renders_unclipped(plot_code_by_attribute(table, "district", codebook=study_codebook), tmp_path / "by.png")


def test_saturation_curve_marks_the_point(quotes, tmp_path):
    first = qc.first_appearance(quotes, order="date")
    result = qc.saturation(quotes, order="date").iloc[0]
    fig = plot_saturation(first, result, lang="en")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(s.startswith("threshold") for s in legend) and any("saturation" in s for s in legend)
    assert fig.axes[0].get_title().endswith(result["notation"])
    assert_renders_unclipped(fig, tmp_path / "sat.png")
    fig.savefig(tmp_path / "sat.svg")
    assert (tmp_path / "sat.svg").read_text().startswith("<?xml")


def test_cooccurrence_heatmap(quotes, study_codebook, tmp_path):
    fig = plot_cooccurrence(qc.cooccurrence(quotes), codebook=study_codebook, lang="en", top=12)
    assert_renders_unclipped(fig, tmp_path / "cooc.png")


def _notebook_outputs(cells, tmp_path):
    """Run cells in a real Jupyter kernel (no inline backend unless a cell asks) and return each cell's outputs."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return [cell.outputs for cell in notebook.cells]


@pytest.mark.slow
def test_chart_as_last_expression_draws_inline_without_matplotlib_magic(tmp_path):
    # team-study 11: a bare Figure showed as "<Figure size 900x600 with 1 Axes>" text unless %matplotlib inline.
    setup = ("import qualcode as qc, pandas as pd\n"
             "q = pd.DataFrame({'segment_id': ['s1', 's2'], 'doc_id': ['d1', 'd2'],"
             " 'code_id': ['collaboration.channels'] * 2})\n")
    plain, inline = _notebook_outputs([setup + "qc.plot_frequencies(qc.code_frequencies(q))",
                                       "%matplotlib inline\nqc.plot_frequencies(qc.code_frequencies(q))"], tmp_path)
    for outputs in (plain, inline):
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, outputs  # drawn, and drawn once even with the inline backend on


def test_chart_has_rich_display_for_ipython():
    from IPython.core.formatters import DisplayFormatter

    q = pd.DataFrame({"segment_id": ["s1", "s2"], "doc_id": ["d1", "d2"], "code_id": ["a.b", "a.c"]})
    fig = plot_frequencies(qc.code_frequencies(q))
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"


def test_count_axes_show_whole_numbers_only():
    q = pd.DataFrame({"segment_id": ["s1", "s2", "s3"], "doc_id": ["d1", "d2", "d2"], "code_id": ["a.b", "a.c", "a.c"]})
    fig = plot_frequencies(qc.code_frequencies(q), value="n_segments")
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
