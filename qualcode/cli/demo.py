"""``qualcode demo``: the whole flow on the shipped sample, in two rounds.

Round 1 (diagnostic focus groups and intermediate interviews) and round 2
(final interviews) are each added, suggested, reviewed and applied; the
sample's coding by Ana plays the coder who fills in the review workbook.
Then the report workbook, charts and a REFI-QDA file are written. Running it
again changes nothing: unchanged files, cached embeddings, decisions already
recorded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from . import app

ROOT = Path(__file__).resolve().parents[2]


def _fill_review(sheet: Path, gold: pd.DataFrame) -> tuple[int, int]:
    """Play the coder: 'sí' where the gold coding has the suggested code, 'no' otherwise."""
    import openpyxl

    book = openpyxl.load_workbook(sheet)
    ws = book.worksheets[0]
    header = [c.value for c in ws[1]]
    seg_col, code_col, decision_col = header.index("_segment_id") + 1, header.index("_code_id") + 1, header.index("decisión") + 1
    wanted = set(zip(gold["segment_id"], gold["code_id"]))
    yes = no = 0
    for row in range(2, ws.max_row + 1):
        key = (ws.cell(row, seg_col).value, ws.cell(row, code_col).value)
        if key in wanted:
            ws.cell(row, decision_col).value, yes = "sí", yes + 1
        else:
            ws.cell(row, decision_col).value, no = "no", no + 1
    book.save(sheet)
    return yes, no


def _suggest_with_learning(project, segments: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Zero-shot and learned suggestions for ``segments``, learning from every decision so far."""
    from ..coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder

    coders = [KeywordCoder(), EmbeddingCoder(cache=project.path), LearnedCoder(cache=project.path)]
    from ..review.decisions import decisions

    return EnsembleCoder(coders).fit(project.codebook(), decisions(project)).suggest(segments)


@app.command("demo")
def demo(out: Path = typer.Option(Path("demo_output"), "--out", "-o", help="Folder for the project and the outputs."),
         samples: Path = typer.Option(ROOT / "data_samples", help="The sample data folder.")) -> None:
    """Run the whole flow on data_samples/ as two rounds and write the report, charts and a .qdpx.

    Example:

        qualcode demo --out demo_output
    """
    import qualcode as qc

    out.mkdir(parents=True, exist_ok=True)
    path = out / "estudio.qualcode"
    project = qc.Project.open(path) if path.exists() else qc.Project.create(path)
    project.add_codebook(qc.load_codebook("nic_study"))
    corpus, report = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    gold = pd.read_csv(samples / "coding" / "ana.csv")
    for round_no in sorted(corpus.documents["round"].dropna().unique()):
        docs = corpus.documents[corpus.documents["round"] == round_no]
        part = qc.Corpus(docs.reset_index(drop=True),
                         corpus.segments[corpus.segments["doc_id"].isin(docs["doc_id"])].reset_index(drop=True))
        added = project.add_corpus(part)
        counts = added["action"].value_counts().to_dict()
        changed = set(added.loc[added["action"] != "unchanged", "doc_id"])
        line = (f"round {round_no}: {counts.get('added', 0)} documents added, {counts.get('updated', 0)} updated, "
                f"{counts.get('unchanged', 0)} unchanged")
        if changed:
            # Only what is new is suggested and reviewed; the rest keeps its decisions.
            new_segments = project.segments[project.segments["doc_id"].isin(changed)]
            suggestions = _suggest_with_learning(project, new_segments)
            project.add_suggestions(suggestions)
            sheet = out / f"revision_ronda{round_no}.xlsx"
            qc.export_review_sheet(project, suggestions, sheet, coder="ana")
            yes, no = _fill_review(sheet, gold)
            qc.apply_review(project, qc.read_review_sheet(sheet))
            round_ids = set(new_segments["segment_id"])
            round_gold = gold[gold["segment_id"].isin(round_ids)]
            current = qc.decisions(project, coder="ana")
            have = set(zip(current["segment_id"], current["code_id"]))
            missing = round_gold[[k not in have for k in zip(round_gold["segment_id"], round_gold["code_id"])]]
            if len(missing):
                # What the suggestions missed, the coder adds by hand.
                project.add_manual(list(missing["segment_id"]), list(missing["code_id"]), coder="ana", source="cli")
            line += (f"; {len(new_segments)} segments, {len(suggestions)} suggestions "
                     f"({', '.join(f'{k} {v}' for k, v in suggestions['method'].value_counts().items())}); "
                     f"review: {yes} accepted, {no} rejected; {len(missing)} codes added by hand")
        else:
            line += "; nothing new to suggest or review"
        quotes = qc.coded_quotes(project)
        earlier = set(quotes.loc[quotes["round"] < round_no, "code_id"])
        first_seen = set(quotes.loc[quotes["round"] == round_no, "code_id"]) - earlier
        before = qc.saturation(quotes[quotes["round"] < round_no], order="date").iloc[0]["notation"] \
            if (quotes["round"] < round_no).any() else "—"
        after = qc.saturation(quotes[quotes["round"] <= round_no], order="date").iloc[0]["notation"]
        typer.echo(f"{line}; {len(first_seen)} codes seen for the first time; saturation (Guest 4+2, 5%): "
                   f"{before} → {after}")
    quotes = qc.coded_quotes(project)
    precision = len(set(zip(quotes["segment_id"], quotes["code_id"]))) if len(quotes) else 0
    tables = qc.export_report(project, out / "informe.xlsx", lang="es")
    qc.export_tables(tables, out / "tablas")
    charts = out / "graficos"
    charts.mkdir(exist_ok=True)
    qc.plot_frequencies(qc.code_frequencies(quotes, segments=project.segments), codebook=project.codebook()) \
        .savefig(charts / "frecuencias.png", dpi=110)
    qc.plot_saturation(qc.first_appearance(quotes, order="date"), qc.saturation(quotes, order="date").iloc[0]) \
        .savefig(charts / "saturacion.png", dpi=110)
    qc.export_refi_qda(project, out / "estudio.qdpx")
    by_dim = qc.saturation(quotes, order="date", by="dimension")
    typer.echo(f"coded quotes: {precision}; saturation by dimension: "
               + "; ".join(f"{r.group} {r.notation}" for r in by_dim.itertuples()))
    typer.echo(f"wrote {out}/informe.xlsx, {out}/tablas/, {out}/graficos/, {out}/estudio.qdpx, review workbooks "
               f"and the project {path}")
    project.close()
