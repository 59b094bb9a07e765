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

import openpyxl
import pandas as pd
import typer

import qualcode as qc

from ..batch import count_actions, decision_changes, run_round
from .app import app, command, say

ROOT = Path(__file__).resolve().parents[2]


def _fill_review(sheet: Path, gold: pd.DataFrame) -> tuple[int, int]:
    """Play the coder: 'sí' where the gold coding has the suggested code, 'no' otherwise."""

    book = openpyxl.load_workbook(sheet)
    ws = book.worksheets[0]
    header = [c.value for c in ws[1]]
    seg_col, code_col = header.index("_segment_id") + 1, header.index("_code_id") + 1
    decision_col = header.index("decisión") + 1
    wanted = set(zip(gold["segment_id"], gold["code_id"], strict=True))
    yes = no = 0
    for row in range(2, ws.max_row + 1):
        key = (ws.cell(row, seg_col).value, ws.cell(row, code_col).value)
        if key in wanted:
            ws.cell(row, decision_col).value, yes = "sí", yes + 1
        else:
            ws.cell(row, decision_col).value, no = "no", no + 1
    book.save(sheet)
    return yes, no


@app.command("demo")
@command
def demo(out: Path = typer.Option(Path("demo_output"), "--out", "-o", help="Folder for the project and the outputs."),
         samples: Path = typer.Option(ROOT / "data_samples", help="The sample data folder."),
         workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes.")) -> None:
    """Run the whole flow on data_samples/ as two rounds and write the report, charts and a .qdpx.

    Example:

        qualcode demo --out demo_output
    """


    out.mkdir(parents=True, exist_ok=True)
    path = out / "estudio.qualcode"
    project = qc.Project.open(path) if path.exists() else qc.Project.create(path)
    project.add_codebook(qc.load_codebook("nic_study"))
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    gold = pd.read_csv(samples / "coding" / "ana.csv")
    for round_no in sorted(corpus.documents["round"].dropna().unique()):
        docs = corpus.documents[corpus.documents["round"] == round_no]
        part = qc.Corpus(docs.reset_index(drop=True),
                         corpus.segments[corpus.segments["doc_id"].isin(docs["doc_id"])].reset_index(drop=True))
        # The same call as 'qualcode round': add, suggest what is new (learning from the decisions so far),
        # write the review workbook. Only the last round writes the report, below.
        result = run_round(project, part, out=out, coder="ana", name=f"ronda{round_no}", report=False,
                           workers=workers, progress=False)
        line = f"round {round_no}: documents {count_actions(result.documents)}"
        before = qc.coded_quotes(project)
        if len(result.segments):
            yes = no = 0
            if result.written:
                sheet = result.written[0]
                yes, no = _fill_review(sheet, gold)
                qc.apply_review(project, qc.read_review_sheet(sheet))
            round_gold = gold[gold["segment_id"].isin(set(result.segments["segment_id"]))]
            current = qc.decisions(project, coder="ana")
            have = set(zip(current["segment_id"], current["code_id"], strict=True))
            keys = zip(round_gold["segment_id"], round_gold["code_id"], strict=True)
            missing = round_gold[[k not in have for k in keys]]
            if len(missing):
                # What the suggestions missed, the coder adds by hand.
                project.add_manual(list(missing["segment_id"]), list(missing["code_id"]), coder="ana", source="cli")
            methods = ", ".join(f"{k} {v}" for k, v in result.suggestions["method"].value_counts().items())
            line += (f"; {len(result.segments)} segments, {len(result.suggestions)} suggestions ({methods}); "
                     f"review: {yes} accepted, {no} rejected; {len(missing)} codes added by hand")
        else:
            line += "; nothing new to suggest or review"
        changes = decision_changes(before, qc.coded_quotes(project))
        say(f"{line}; {len(changes['codes_first_seen'])} codes seen for the first time; saturation "
            f"(Guest 4+2, 5%): {changes['saturation_before']} → {changes['saturation_after']}")
    quotes = qc.coded_quotes(project)
    precision = len(set(zip(quotes["segment_id"], quotes["code_id"], strict=True))) if len(quotes) else 0
    # The demo owns its --out folder: a re-run replaces its own report, tables, charts and .qdpx.
    tables = qc.export_report(project, out / "informe.xlsx", lang="es", overwrite=True)
    qc.export_tables(tables, out / "tablas", overwrite=True)
    charts = out / "graficos"
    charts.mkdir(exist_ok=True)
    qc.plot_frequencies(qc.code_frequencies(quotes, segments=project.segments), codebook=project.codebook()) \
        .savefig(charts / "frecuencias.png", dpi=110)
    qc.plot_saturation(qc.first_appearance(quotes, order="date"), qc.saturation(quotes, order="date").iloc[0]) \
        .savefig(charts / "saturacion.png", dpi=110)
    qc.export_refi_qda(project, out / "estudio.qdpx", overwrite=True)
    by_dim = qc.saturation(quotes, order="date", by="dimension")
    say(f"coded quotes: {precision}; saturation by dimension: "
        + "; ".join(f"{r.group} {r.notation}" for r in by_dim.itertuples()))
    say(f"wrote {out}/informe.xlsx, {out}/tablas/, {out}/graficos/, {out}/estudio.qdpx, review workbooks "
        f"and the project {path}")
    project.close()
