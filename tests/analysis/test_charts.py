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
