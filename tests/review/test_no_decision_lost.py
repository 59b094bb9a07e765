"""Property: no sequence of accept / reject / export → edit → import loses or duplicates a decision."""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qualcode as qc
from qualcode.review.sheet import normalize_decision

TRANSCRIPT = "".join(f"E: ¿Pregunta {i}?\nD{i}: Respuesta {i} sobre el trabajo con las colegas.\n" for i in range(1, 5))
CODES = ["leadership.workload", "leadership.resilience"]
CODEBOOK = qc.load_codebook("leadership")

op = st.one_of(
    st.tuples(st.just("accept"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("reject"), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("sheet"), st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["sí", "x", "no", "0", "",
                                                                                      "Rechazar", "ACCEPT "])),
                                         max_size=6)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=6))
def test_no_sequence_loses_or_duplicates_a_decision(ops):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "t").mkdir()
        (tmp / "t" / "d.txt").write_text(TRANSCRIPT, encoding="utf-8")
        corpus, _ = qc.load_corpus(tmp / "t")
        project = qc.Project.create(tmp / "p.qualcode")
        project.add_corpus(corpus)
        project.add_codebook(CODEBOOK)
        segs = list(corpus.segments.query("speaker_role == 'participant'")["segment_id"])
        suggestions = pd.DataFrame([(s, c) for s in segs for c in CODES], columns=["segment_id", "code_id"])
        log: list[tuple[str, str, str]] = []
        current: dict[tuple[str, str], str] = {}
        for step in ops:
            if step[0] in ("accept", "reject"):
                _, s, c = step
                getattr(qc, step[0])(project, [segs[s]], CODES[c], coder="ana")
                log.append((segs[s], CODES[c], step[0]))
                current[(segs[s], CODES[c])] = step[0]
            else:
                path = tmp / "r.xlsx"
                qc.export_review_sheet(project, suggestions, path, coder="ana", overwrite=True)  # a fresh sheet each step
                book = openpyxl.load_workbook(path)
                ws = book.worksheets[0]
                header = [c.value for c in ws[1]]
                column = header.index("decisión") + 1
                edits = {}
                for row, value in step[1]:
                    ws.cell(row + 2, column).value = value
                    edits[row] = value
                book.save(path)
                for _ in range(2):  # applying twice must change nothing the second time
                    qc.apply_review(project, qc.read_review_sheet(path))
                ordered = qc.read_review_sheet(path)
                for row, value in sorted(edits.items()):
                    decision = normalize_decision(value)
                    key = (ordered.loc[row, "segment_id"], ordered.loc[row, "code_id"])
                    if decision and current.get(key) != decision:
                        log.append((*key, decision))
                        current[key] = decision
        history = qc.decisions(project, history=True)
        assert len(history) == len(log)
        assert sorted(zip(history["segment_id"], history["code_id"], history["decision"])) == sorted(log)
        now = qc.decisions(project)
        assert dict(zip(zip(now["segment_id"], now["code_id"]), now["decision"])) == current
        project.close()
