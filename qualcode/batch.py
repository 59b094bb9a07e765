"""Batch coding of interview rounds: one call adds a round, suggests what is new, writes the workbooks.

A round is a set of transcript files (the diagnostic focus groups, the final
interviews, the next cohort). :func:`run_round`

1. loads them (reporting every file that fails, processing the rest),
2. adds them to the project: unchanged files are skipped by content hash and
   decisions on edited files re-anchor,
3. suggests codes for the documents that are new or changed, only (embeddings
   of texts seen before come from the project's cache; the learned coder
   learns from every decision so far),
4. writes a review workbook of this round's suggestions that the coder has not
   decided yet, and the report workbook of the whole project,

and returns what the round changed. Human decisions are never touched.
:func:`decision_changes` says what applying a reviewed workbook changed: the
codes seen for the first time and the saturation verdict before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import pandas as pd

from .errors import QualcodeError

if TYPE_CHECKING:
    from .corpus import Corpus
    from .io import LoadReport
    from .project import Project

__all__ = ["RoundResult", "run_round", "saturation_verdict", "decision_changes", "count_actions"]


def count_actions(documents: pd.DataFrame) -> str:
    """What :meth:`~qualcode.project.Project.add_corpus` did, in words.

    Examples
    --------
    >>> count_actions(pd.DataFrame({"action": ["added", "added", "unchanged"]}))
    '2 added, 0 updated, 1 unchanged'
    """
    counts = documents["action"].value_counts().to_dict() if len(documents) else {}
    relabelled = f"{counts['attributes']} with new attributes, " if counts.get("attributes") else ""
    return (f"{counts.get('added', 0)} added, {counts.get('updated', 0)} updated, {relabelled}"
            f"{counts.get('unchanged', 0)} unchanged")


def saturation_verdict(quotes: pd.DataFrame, order: str = "date") -> str:
    """The study-wide Guest verdict (base 4, run 2, 5 %) of coded quotes, as a short text.

    Examples
    --------
    >>> saturation_verdict(pd.DataFrame(columns=["doc_id", "code_id"]))
    'no coded quotes yet'
    """
    from .analysis import saturation

    if quotes is None or quotes.empty:
        return "no coded quotes yet"
    try:
        row = saturation(quotes, order=order if order in quotes.columns else None).iloc[0]
    except QualcodeError as exc:
        return f"undefined ({str(exc).split('. ')[0]})"
    return str(row["notation"])


def decision_changes(before: pd.DataFrame, after: pd.DataFrame, *, order: str = "date") -> dict:
    """What new decisions changed: codes coded for the first time, and the saturation verdict before and after.

    Parameters
    ----------
    before, after : DataFrame
        :func:`~qualcode.review.coded_quotes` before and after the decisions.

    Returns
    -------
    dict
        ``codes_first_seen`` (sorted code ids), ``saturation_before``, ``saturation_after``.
    """
    seen = set(before["code_id"]) if len(before) else set()
    now = set(after["code_id"]) if len(after) else set()
    return {"codes_first_seen": sorted(now - seen),
            "saturation_before": saturation_verdict(before, order),
            "saturation_after": saturation_verdict(after, order)}


@dataclass
class RoundResult:
    """What a round did.

    Attributes
    ----------
    documents : DataFrame
        One row per document of the round: ``doc_id``, ``action`` (added,
        updated, attributes, unchanged), ``n_segments``, ``n_reanchored``, ``n_orphaned``.
    load_report : LoadReport
        One row per file (``status`` ok, warning or error, with the message).
    segments : DataFrame
        The segments of the new and changed documents.
    suggestions : DataFrame
        The suggestions made for them (stored in the project).
    codes_first_suggested : list of str
        Codes suggested in this round that no coded quote had before.
    saturation : str
        The saturation verdict of the coded quotes so far (it moves when this
        round's review is applied).
    written : list of Path
        The workbooks written.
    """

    documents: pd.DataFrame
    load_report: "LoadReport | pd.DataFrame"
    segments: pd.DataFrame
    suggestions: pd.DataFrame
    codes_first_suggested: list[str]
    saturation: str
    written: list[Path] = field(default_factory=list)
    n_review_rows: int = 0

    @property
    def n_failed(self) -> int:
        """Files that could not be read."""
        return int((self.load_report["status"] == "error").sum()) if len(self.load_report) else 0

    @property
    def exit_code(self) -> int:
        """0: everything done; 1: some files failed, the rest done; 2: nothing could be read."""
        if self.n_failed and self.documents.empty:
            return 2
        return 1 if self.n_failed else 0

    def summary(self) -> list[str]:
        """The round in a few lines, for a terminal or a log (counts and code ids; no participant text)."""
        lines = [f"documents: {count_actions(self.documents)}, {self.n_failed} failed"]
        if len(self.documents):
            reanchored, orphaned = int(self.documents["n_reanchored"].sum()), int(self.documents["n_orphaned"].sum())
            if reanchored or orphaned:
                lines.append(f"decisions on edited documents: {reanchored} re-anchored, {orphaned} orphaned "
                             "(kept in the log; see project.orphans())")
        participants = int((self.segments["speaker_role"] == "participant").sum()) if len(self.segments) else 0
        lines.append(f"segments: {len(self.segments)} new or changed ({participants} from participants)")
        if len(self.suggestions):
            methods = ", ".join(f"{k} {v}" for k, v in self.suggestions["method"].value_counts().items())
            lines.append(f"suggestions: {len(self.suggestions)} for {self.suggestions['segment_id'].nunique()} "
                         f"segments ({methods})")
        else:
            lines.append("suggestions: none (nothing new to suggest)")
        first = self.codes_first_suggested
        lines.append(f"codes suggested that no coded quote has yet: {len(first)}"
                     + (f" ({', '.join(first[:8])}{', …' if len(first) > 8 else ''})" if first else ""))
        lines.append(f"saturation so far: {self.saturation} (moves when this round's review is applied)")
        for path in self.written:
            lines.append(f"wrote {path}")
        return lines


def _free_path(path: Path) -> Path:
    """``path``, or ``name-2.xlsx``, ``name-3.xlsx`` … if it exists: a workbook may hold a coder's unsaved work."""
    if not path.exists():
        return path
    k = 2
    while (candidate := path.with_name(f"{path.stem}-{k}{path.suffix}")).exists():
        k += 1
    return candidate


def run_round(project: "Project", source: "str | Path | Sequence[str | Path] | Corpus", *,
              attributes: str | Path | pd.DataFrame | None = None, unit: str = "turn",
              out: str | Path | None = None, coder: str | None = None, lang: str = "es",
              methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
              top_k: int | None = None, min_score: float | None = None, embedder: str = "use",
              report: bool = True, name: str | None = None, workers: int = 1, scheduler: str | None = None,
              progress: bool = False, speakers: Sequence[str] = (), interviewer: Sequence[str] = ()) -> RoundResult:
    """Add a round of transcripts, suggest codes for what is new, and write the review and report workbooks.

    Parameters
    ----------
    project : Project
    source : path, folder, glob, list of them, or Corpus
        The round's transcripts (see :func:`~qualcode.io.load_corpus`).
    attributes : path or DataFrame, optional
        The attributes sheet (role, district, stage, round …).
    out : folder, optional
        Where to write ``revision_<name>.xlsx`` (``review_`` with
        ``lang="en"``; never over an existing one) and ``informe.xlsx``
        (``report.xlsx``). Without it nothing is written but the project.
    coder : str, optional
        Who will review: the workbook leaves out what this coder already decided.
    name : str, optional
        The round's name in file names (default: its ``round`` attribute, or ``round``).
    workers, scheduler, progress
        Where the loading and the suggestion work run (see :mod:`qualcode.parallel`).
    speakers, interviewer : sequence of str
        Speaker labels to accept and the interviewer's labels (see :func:`~qualcode.io.load_corpus`).
    Other parameters
        As :func:`~qualcode.coders.suggest`.

    Returns
    -------
    RoundResult
        ``summary()`` prints it; ``exit_code`` is 0, 1 (some files failed) or 2 (nothing read).

    Examples
    --------
    >>> result = run_round(project, "entrevistas/ronda2", attributes="atributos.csv",
    ...                    out="ronda2", coder="ana")  # doctest: +SKIP
    >>> print("\\n".join(result.summary()))  # doctest: +SKIP
    """
    from .coders import suggest
    from .coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, combine
    from .corpus import Corpus
    from .export import export_report
    from .io import load_corpus
    from .parallel import using
    from .review.decisions import coded_quotes, undecided
    from .review.sheet import export_review_sheet

    before = coded_quotes(project)
    with using(workers, scheduler, progress=progress):
        if isinstance(source, Corpus):
            corpus = source
            report_frame = pd.DataFrame({"path": [], "doc_id": [], "status": []})
        else:
            corpus, report_frame = load_corpus(source, attributes=attributes, unit=unit,  # type: ignore[arg-type]
                                               speakers=speakers, interviewer=interviewer)
        documents = project.add_corpus(corpus) if len(corpus.documents) else \
            pd.DataFrame(columns=["doc_id", "action", "n_segments", "n_reanchored", "n_orphaned"])
        changed = list(documents.loc[documents["action"].isin(["added", "updated"]), "doc_id"])
        segments = project.segments
        segments = segments[segments["doc_id"].isin(changed)].reset_index(drop=True)
        if changed:
            found = suggest(project, methods=methods, learn=learn, embedder=embedder, documents=changed,
                            top_k=DEFAULT_TOP_K if top_k is None else top_k,
                            min_score=DEFAULT_MIN_SCORE if min_score is None else min_score)
        else:
            found = combine([], top_k=1, min_score=0.0)
    if len(report_frame):
        # A study's attributes sheet lists every round's participants: rows for documents of other rounds
        # are expected here, not a problem to report one by one.
        other = (report_frame["status"] == "warning") & (report_frame["error"] == "AttributesWarning") & \
            report_frame["message"].str.contains("is not in the corpus", regex=False)
        if other.any():
            kept = report_frame[~other]
            note = report_frame[other].iloc[[0]].copy()
            note["message"] = (f"{int(other.sum())} rows of the attributes sheet are for documents not in this "
                               "round (other rounds, or misspelt ids: check if a transcript is missing)")
            note["line"] = pd.NA
            report_frame = pd.concat([kept, note], ignore_index=True)
    seen = set(before["code_id"]) if len(before) else set()
    first = sorted(set(found["code_id"]) - seen)
    result = RoundResult(documents.reset_index(drop=True), report_frame, segments, found, first,
                         saturation_verdict(before))
    if out is not None and len(documents):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        if name is None:
            rounds = corpus.documents["round"].dropna().unique() if "round" in corpus.documents.columns else []
            name = f"{'ronda' if lang == 'es' else 'round'}{rounds[0]}" if len(rounds) == 1 else \
                ("ronda" if lang == "es" else "round")
        if len(found):
            todo = undecided(project, found, coder) if coder else found
            sheet = _free_path(folder / f"{'revision' if lang == 'es' else 'review'}_{name}.xlsx")
            result.n_review_rows = export_review_sheet(project, todo, sheet, lang=lang, coder=coder)
            result.written.append(sheet)
        if report:
            target = folder / ("informe.xlsx" if lang == "es" else "report.xlsx")
            export_report(project, target, lang=lang)
            result.written.append(target)
    return result
