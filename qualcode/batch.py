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

A round killed or interrupted at any point (after adding the documents,
while storing suggestions, while writing the workbooks) is finished by
running it again: documents added but never suggested are suggested, the
review workbook still owed is written from the stored suggestions, and a
review workbook the interrupted run had already written is kept as it is (a
coder may have started filling it) instead of being written again. A round
whose LLM server failed is finished the same way: run again with the LLM, it
asks the LLM for the segments it skipped and writes the workbook to fill.
:func:`decision_changes` says what applying a reviewed workbook changed: the
codes seen for the first time and the saturation verdict before and after.
"""

from __future__ import annotations

import json
import shlex
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .analysis import saturation
from .coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, combine
from .coders.llm import CODEBOOK_EXAMPLES, CONCURRENCY, FEW_SHOT_CHARS, MAX_ANSWER_TOKENS, LLMCoder
from .corpus import Corpus
from .errors import LLMSkippedWarning, LLMWarning, ProjectError, QualcodeError
from .io import LoadReport, SurveyColumns, load_corpus
from .io.atomic import free_path
from .io.chat import TIMEOUT_SECONDS
from .io.paths import path_in
from .messages import counted
from .parallel import using
from .review.decisions import coded_quotes, undecided
from .review.sheet import export_review_sheet
from .workflow import export_report, suggest

if TYPE_CHECKING:
    from .project import Project

__all__ = ["RoundResult", "add_files", "count_actions", "decision_changes", "llm_replaced", "run_round",
           "saturation_verdict"]


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
        The segments of the new and changed documents (and of those an
        interrupted run of the round left unfinished).
    suggestions : DataFrame
        The suggestions made for them (stored in the project): what the
        round's review workbook holds.
    codes_first_suggested : list of str
        Codes suggested in this round that no coded quote had before.
    saturation : str
        The saturation verdict of the coded quotes so far (it moves when this
        round's review is applied).
    written : list of Path
        The workbooks written.
    n_review_rows : int
        Rows of the review workbook (written or kept).
    resumed : list of str
        Documents added earlier (by an interrupted run, or ``qualcode add``)
        that had no suggestions: suggested now.
    owed : list of str
        Documents whose suggestions an interrupted run stored without writing
        its review workbook: they are in this run's workbook.
    resumed_sheets : list of Path
        Review workbooks an interrupted run of this round had written: kept as
        they are (a coder may have started filling them), not written again.
    kept : list of Path
        Workbooks already in ``out`` and left untouched: the new ones got the
        next free name.
    n_unsuggested_elsewhere : int
        Documents added earlier, never suggested, that are not in this round.
    report_not_rewritten : Path or None
        The report workbook already in ``out`` when the round had nothing new
        to suggest: not written again (``qualcode report`` writes a fresh one).
    llm_skipped : str or None
        With an LLM: what it could not code (its server failed) and the command
        that asks it again; the other methods' suggestions are in the workbook.
    llm_asked : int
        Segments an earlier run's LLM skipped (its server failed), asked again now.
    llm_sent : int
        Of the segments the LLM was asked about then, those sent to it (the others' answers were in the project).
    llm_owed : str or None
        Run without the LLM while an earlier run's LLM step is owed: that it is, and how to finish it.
    llm_replaces : (Path, Path) or None
        The workbook written now, with the LLM's suggestions, and the one written when the LLM failed,
        which it replaces (fill only the first).
    llm_fill : Path or None
        Asked again, the LLM failed again: no new workbook; this one, written before, is still the one to fill.
    """

    documents: pd.DataFrame
    load_report: LoadReport | pd.DataFrame
    segments: pd.DataFrame
    suggestions: pd.DataFrame
    codes_first_suggested: list[str]
    saturation: str
    written: list[Path] = field(default_factory=list)
    n_review_rows: int = 0
    resumed: list[str] = field(default_factory=list)
    owed: list[str] = field(default_factory=list)
    resumed_sheets: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    n_unsuggested_elsewhere: int = 0
    report_not_rewritten: Path | None = None
    llm_skipped: str | None = None
    llm_asked: int = 0
    llm_sent: int = 0
    llm_owed: str | None = None
    llm_replaces: tuple[Path, Path] | None = None
    llm_fill: Path | None = None

    @property
    def n_failed(self) -> int:
        """Files that could not be read."""
        return int((self.load_report["status"] == "error").sum()) if len(self.load_report) else 0

    @property
    def exit_code(self) -> int:
        """0: everything done; 1: some files failed or the LLM skipped some segments, the rest done; 2: nothing
        could be read."""
        if self.n_failed and self.documents.empty:
            return 2
        return 1 if self.n_failed or self.llm_skipped else 0

    def summary(self) -> list[str]:
        """The round in a few lines, for a terminal or a log (counts and code ids; no participant text)."""
        lines = [f"documents: {count_actions(self.documents)}, {self.n_failed} failed"]
        if self.resumed:
            lines.append(f"resuming the interrupted round: suggesting for {len(self.resumed)} documents added "
                         "earlier that have no suggestions yet")
        if self.owed:
            lines.append(f"resuming the interrupted round: its suggestions for {len(self.owed)} documents were "
                         "stored; they go into its review workbook")
        for path in self.resumed_sheets:
            lines.append(f"resuming the interrupted round: {path} was already written and is kept as it is "
                         f"({self.n_review_rows} rows; it may hold a coder's work)")
        if self.llm_asked:
            lines.append(f"resuming: asking the LLM for {counted(self.llm_asked, 'segment')} it skipped when its "
                         f"server failed ({self.llm_sent} sent now; answers received earlier are reused, not sent "
                         "again)")
        if self.n_unsuggested_elsewhere:
            lines.append(f"{self.n_unsuggested_elsewhere} documents added earlier are not in this round and have "
                         "no suggestions yet: re-run their round, or run 'qualcode suggest'")
        if len(self.documents):
            reanchored, orphaned = int(self.documents["n_reanchored"].sum()), int(self.documents["n_orphaned"].sum())
            if reanchored or orphaned:
                lines.append(f"decisions on edited documents: {reanchored} re-anchored, {orphaned} orphaned "
                             "(kept in the log; see project.orphans())")
        participants = int((self.segments["speaker_role"] == "participant").sum()) if len(self.segments) else 0
        what = "new, changed or asked the LLM again" if self.llm_asked else "new or changed"
        lines.append(f"segments: {len(self.segments)} {what} ({participants} from participants)")
        if len(self.suggestions):
            methods = ", ".join(f"{k} {v}" for k, v in self.suggestions["method"].value_counts().items())
            lines.append(f"suggestions: {len(self.suggestions)} for {self.suggestions['segment_id'].nunique()} "
                         f"segments ({methods})")
        else:
            lines.append("suggestions: none (nothing new to suggest)")
        if self.llm_skipped:
            lines.append(self.llm_skipped)
        if self.llm_owed:
            lines.append(self.llm_owed)
        first = self.codes_first_suggested
        lines.append(f"codes suggested that no coded quote has yet: {len(first)}"
                     + (f" ({', '.join(first[:8])}{', …' if len(first) > 8 else ''})" if first else ""))
        lines.append(f"saturation so far: {self.saturation} (moves when this round's review is applied)")
        for path in self.kept:
            lines.append(f"kept {path} as it was (it may hold someone's work): the new workbook has the next free "
                         "name (--overwrite replaces it instead)")
        if self.report_not_rewritten is not None:
            lines.append(f"nothing new: {self.report_not_rewritten} is not written again "
                         "(run 'qualcode report' for a fresh one, or --overwrite)")
        for path in self.written:
            lines.append(f"wrote {path}")
        if self.llm_replaces is not None:
            new, old = self.llm_replaces
            lines.append(f"fill only {new}: it holds all of this round's suggestions, the LLM's included, and replaces "
                         f"{old} (written when the LLM failed): discard {old}" if new != old else
                         f"{new} was written again with all of this round's suggestions, the LLM's included: fill it")
        if self.llm_fill is not None:
            lines.append(f"no new review workbook: {self.llm_fill} is still the one to fill until the LLM answers")
        return lines


_NO_CHANGES = ["doc_id", "action", "n_segments", "n_reanchored", "n_orphaned"]


def add_files(project: Project, source: str | Path | Sequence[str | Path], *, speakers: Sequence[str] = (),
              interviewer: Sequence[str] = (), **options: Any) -> tuple[Corpus, pd.DataFrame, LoadReport]:
    """Load transcript files and add them to the project, reading each with the labels it was first added with.

    A document first added with ``speakers``/``interviewer`` keeps them: added again without any (an edited
    file, a re-run round), it is read with the same labels instead of guessed ones, so its turns, roles and
    decisions stay where they were; its report row says so. Labels given now replace the remembered ones
    (the row says that too) and are remembered from now on.

    Parameters
    ----------
    project : Project
    source : path, folder, glob or list of them
        As :func:`~qualcode.io.load_corpus`.
    speakers, interviewer : sequence of str
        Labels for every file (see :func:`~qualcode.io.load_corpus`).
    **options
        Any other argument of :func:`~qualcode.io.load_corpus` (``attributes``, ``unit``, ``survey``,
        ``doc_id``, ``workers`` …).

    Returns
    -------
    (Corpus, DataFrame, LoadReport)
        The files read, what :meth:`~qualcode.project.Project.add_corpus` did per document, and the load report.

    Examples
    --------
    >>> _, documents, report = add_files(project, "entrevistas/", interviewer=["Hablante 1"])  # doctest: +SKIP
    >>> _, documents, report = add_files(project, "entrevistas/int_03.txt")  # doctest: +SKIP
    >>> report["message"].iloc[0]  # doctest: +SKIP
    "entrevistas/int_03.txt: 40 turns, 2 speakers; ...; using the labels given when it was first added: ..."
    """
    # Only the two columns the check needs: project.documents would read every document's text.
    before = project.query_frame("SELECT doc_id, source_path FROM documents")
    corpus, report = load_corpus(source, speakers=speakers, interviewer=interviewer,
                                 remembered=project.load_options(), **options)
    documents = project.add_corpus(corpus) if len(corpus.documents) else pd.DataFrame(columns=_NO_CHANGES)
    _say_other_readings(report, before, corpus.documents)
    report = _fold_other_rounds(report)
    if speakers or interviewer:
        # Survey answers take no speaker labels: only transcripts remember them.
        transcripts = corpus.documents.loc[~corpus.documents["format"].isin(["csv", "xlsx"]), "doc_id"]
        project.remember_load_options({str(d): {"speakers": list(speakers), "interviewer": list(interviewer)}
                                       for d in transcripts})
    return corpus, documents, report


def _fold_other_rounds(report: LoadReport) -> LoadReport:
    """One row, not one per row, for the attributes sheet's rows of documents not loaded now.

    A study's attributes sheet lists every round's participants: rows for
    documents of other rounds are expected when one round is added, not a
    problem to report one by one.
    """
    if not len(report):
        return report
    other = (report["status"] == "warning") & (report["error"] == "AttributesWarning") & \
        report["message"].str.contains("is not in the corpus", regex=False)
    if other.sum() < 2:
        return report
    keys = report.loc[other, "message"].str.extract(r"document (.+?) is not in the corpus")[0].tolist()
    note = report[other].iloc[[0]].copy()
    note["message"] = (f"{note['path'].iloc[0]}: {int(other.sum())} rows of the attributes sheet are for documents "
                       f"not loaded now ({', '.join(keys[:3])}{', …' if len(keys) > 3 else ''}): other rounds, or "
                       "misspelt ids (check that no transcript is missing)")
    note["line"] = pd.NA
    return LoadReport(pd.concat([report[~other], note], ignore_index=True))


def _say_other_readings(report: LoadReport, before: pd.DataFrame, added: pd.DataFrame) -> None:
    """Warn on a file's row when the project already holds the same file under another document id.

    Following a remedy (reading a table as a survey, ``doc_id="path"``) reads a file again under new ids; the
    earlier reading stays in the project with whatever was decided on it, so its counts would come twice.
    """
    if before.empty or added.empty:
        return
    new_ids = set(added["doc_id"])
    earlier = before[~before["doc_id"].isin(new_ids)]
    by_file: dict[Path, list[str]] = {}
    for doc_id, source in zip(earlier["doc_id"], earlier["source_path"], strict=True):
        by_file.setdefault(Path(str(source)).resolve(), []).append(str(doc_id))
    for index, path in zip(report.index, report["path"], strict=True):
        others = by_file.get(Path(str(path)).resolve())
        if others and report.at[index, "status"] != "error":
            shown = ", ".join(repr(d) for d in sorted(others)[:3]) + (" …" if len(others) > 3 else "")
            message = str(report.at[index, "message"])
            report.at[index, "status"] = "warning"
            report.at[index, "message"] = (
                f"{message}; this file is also in the project as {shown}, an earlier reading "
                "under another document id, which stays with its decisions (qualcode cannot remove a document "
                "yet): its codes would count twice; to keep only this reading, start a new project "
                "(qualcode init) and add the files again")


def _free_path(path: Path) -> Path:
    """``path``, or ``name-2.xlsx``, ``name-3.xlsx`` … if it exists: a workbook may hold a coder's unsaved work."""
    return free_path(path)


def run_round(project: Project, source: str | Path | Sequence[str | Path] | Corpus, *,
              attributes: str | Path | pd.DataFrame | None = None,
              unit: Literal["turn", "paragraph", "sentence"] = "turn",
              out: str | Path | None = None, coder: str | None = None, lang: str = "es",
              methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
              top_k: int | None = None, min_score: float | None = None, embedder: str = "use",
              report: bool = True, name: str | None = None, workers: int = 1, scheduler: str | None = None,
              progress: bool = False, overwrite: bool = False, speakers: Sequence[str] = (),
              interviewer: Sequence[str] = (), survey: SurveyColumns | None = None,
              doc_id: Literal["stem", "name", "path"] | Callable[[Path], str] = "stem",
              llm: LLMCoder | None = None) -> RoundResult:
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
        ``lang="en"``) and ``informe.xlsx`` (``report.xlsx``). An existing
        workbook is never replaced: the new one gets the next free name
        (``revision_ronda2-2.xlsx``), listed in ``written``. Without ``out``
        nothing is written but the project.
    overwrite : bool, default False
        Replace existing workbooks of those names instead.
    coder : str, optional
        Who will review: the workbook leaves out what this coder already decided.
    name : str, optional
        The round's name in file names (default: its ``round`` attribute, or ``round``).
    workers, scheduler, progress
        Where the loading and the suggestion work run (see :mod:`qualcode.parallel`).
    speakers, interviewer : sequence of str
        Speaker labels to accept and the interviewer's labels (see :func:`~qualcode.io.load_corpus`).
    survey, doc_id
        How survey tables are read and document ids made (see :func:`~qualcode.io.load_corpus`).
    llm : LLMCoder, optional
        Also ask the LLM on your server (``qc.LLMCoder(base_url, model)``), beside ``methods``. When the
        server fails, the other methods' suggestions still make the workbook, and ``llm_skipped`` (in the
        summary) says which documents the LLM did not code and how to ask it again; the project records
        that the round owes its LLM step. Run again with ``llm``, the round asks the LLM for those
        documents (its cached answers are reused: only the skipped segments are sent) and writes the
        workbook it owes under the next free name (``llm_replaces``: fill it, not the first); run again
        without, it leaves the step owed and says so (``llm_owed``).
    Other parameters
        As :func:`~qualcode.workflow.suggest`.

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
    before = coded_quotes(project)
    with using(workers, scheduler, progress=progress):
        if isinstance(source, Corpus):
            corpus = source
            report_frame = pd.DataFrame({"path": [], "doc_id": [], "status": []})
            documents = project.add_corpus(corpus) if len(corpus.documents) else pd.DataFrame(columns=_NO_CHANGES)
        else:
            corpus, documents, report_frame = add_files(project, source, attributes=attributes, unit=unit,
                                                        speakers=speakers, interviewer=interviewer,
                                                        survey=survey, doc_id=doc_id)
        # The round's name needs one column of the documents; the texts go now, before suggesting (memory).
        column = project.roles().get("round") or "round"  # the study's round column (Ronda, Vuelta …), or "round"
        rounds = list(corpus.documents[column].dropna().unique()) if column in corpus.documents.columns else []
        del corpus
        changed = list(documents.loc[documents["action"].isin(["added", "updated"]), "doc_id"])
        top_k = DEFAULT_TOP_K if top_k is None else top_k
        min_score = DEFAULT_MIN_SCORE if min_score is None else min_score
        plan = _resume_plan(project, documents, changed, out is not None,
                            {"methods": list(methods), "learn": learn, "top_k": top_k, "min_score": min_score,
                             "embedder": embedder, "codebook_version": _codebook_version(project)},
                            asks_llm=llm is not None)
        segments = project.segments_of(plan.todo + plan.owed)
        skipped: list[LLMSkippedWarning] = []
        asked = 0  # segments the LLM was asked about (not answered from its cache)
        if plan.todo and llm is not None:
            # With the LLM, one call: its answers are kept per segment in the project, and its failures keep
            # the stored suggestions of the segments it did not answer (workflow.suggest).
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", LLMWarning)
                found = suggest(project, methods=methods, learn=learn, embedder=embedder, documents=plan.todo,
                                top_k=top_k, min_score=min_score, llm=llm)
            asked = (found.attrs.get("llm_report") or {}).get("n_asked", 0)
            for warning in caught:  # passed on as they came; a skipped LLM is also said in the summary
                if isinstance(warning.message, LLMSkippedWarning):
                    skipped.append(warning.message)
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            kept = set(found.attrs.get("kept_segments") or ())
            if kept:  # the LLM did not answer these: what is stored for them (their earlier suggestions) counts
                found = _with_stored(project, found[~found["segment_id"].astype(str).isin(kept)],
                                     segments[segments["segment_id"].astype(str).isin(kept)])
        elif plan.todo:
            # Part by part, in bounded memory, with the suggestions of one call (workflow.suggest).
            found = suggest(project, methods=methods, learn=learn, embedder=embedder, documents=plan.todo,
                            top_k=top_k, min_score=min_score)
        else:
            found = combine([], top_k=1, min_score=0.0)
        if plan.owed:
            found = _with_stored(project, found, segments[segments["doc_id"].isin(plan.owed)])
        if plan.llm_reviewed:
            # The workbook that replaces the one written when the LLM failed holds every document that one did.
            found = _with_stored(project, found, project.segments_of(plan.llm_reviewed))
    seen = set(before["code_id"]) if len(before) else set()
    first = sorted(set(found["code_id"]) - seen)
    result = RoundResult(documents.reset_index(drop=True), report_frame, segments, found, first,
                         saturation_verdict(before), resumed=plan.resumed, owed=plan.owed,
                         n_unsuggested_elsewhere=plan.n_elsewhere,
                         llm_asked=sum(len(r["llm_owed"].get("segments", [])) for r in plan.llm_asked),
                         llm_owed=_llm_still_owed(plan.llm_owed), llm_sent=asked if plan.llm_asked else 0)
    # The workbook written when the LLM failed: the one a re-run that asks the LLM again replaces.
    earlier = next((Path(r["sheet"]) for r in plan.llm_asked if r.get("sheet") and Path(r["sheet"]).exists()), None)
    # Asked again and skipped again, with nothing else to suggest: a new workbook would repeat that one.
    only_owed = set(plan.todo) <= {d for r in plan.llm_asked for d in r["llm_owed"]["documents"]} and not plan.owed
    again = bool(skipped) and earlier is not None and only_owed
    # Done already by the printed commands (qualcode suggest, then review export): every answer came from the
    # cache and the workbook they wrote holds them; another one would repeat it.
    exported = next((Path(r["export"]) for r in plan.llm_asked if r.get("export") and Path(r["export"]).exists()),
                    None)
    done_by_export = exported is not None and only_owed and not skipped and not asked
    reports: list[Path] = []
    if out is not None and len(documents):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        if name is None:
            word = "ronda" if lang == "es" else "round"
            # A round attribute of 2 names the files ronda2; one that already reads "ronda2" or "R2" is kept as it is.
            value = str(rounds[0]).strip() if len(rounds) == 1 else ""
            number = value[:-2] if value.endswith(".0") else value
            name = (f"{word}{number}" if number.isdigit() else value) if value else word
        if len(found):
            todo = undecided(project, found, coder) if coder else found
            if plan.sheet is not None and plan.sheet.exists():
                # The interrupted run wrote it (atomically: it is whole); a coder may have started filling it.
                result.n_review_rows = len(todo)
                result.resumed_sheets.append(plan.sheet)
            elif again:
                result.llm_fill = earlier  # still the one to fill; the LLM step stays owed
            elif done_by_export and exported is not None and earlier is not None:
                result.llm_replaces = (exported, earlier)
            else:
                # The name comes from a cell of the attributes sheet (or --name): a file name inside --out, always.
                sheet = path_in(folder, name, prefix="revision_" if lang == "es" else "review_", suffix=".xlsx",
                                fallback="ronda" if lang == "es" else "round")
                if not overwrite and sheet.exists():
                    if sheet != earlier:  # that one is named below: this workbook replaces it
                        result.kept.append(sheet)
                    sheet = _free_path(sheet)
                if plan.record is not None:
                    # Recorded before writing: a re-run after the write keeps this file instead of adding another.
                    plan.record["sheet"] = str(sheet.absolute())
                    project.save_round(plan.record)
                result.n_review_rows = export_review_sheet(project, todo, sheet, lang=lang, coder=coder,
                                                           overwrite=overwrite)
                result.written.append(sheet)
                if earlier is not None:
                    result.llm_replaces = (sheet, earlier)
        target = folder / ("informe.xlsx" if lang == "es" else "report.xlsx")
        if report and not overwrite and target.exists() and not len(found) and plan.record is None:
            # A re-run with nothing new: another informe-N.xlsx beside the same report would only be noise.
            result.report_not_rewritten = target
        elif report:
            if not overwrite and target.exists():
                result.kept.append(target)
                target = _free_path(target)
            export_report(project, target, lang=lang, overwrite=overwrite)
            result.written.append(target)
            reports.append(target)
    sheets = [*result.resumed_sheets, *(p for p in result.written if p not in reports)]
    if result.llm_fill is not None:
        sheets = [result.llm_fill]
    reviewed = list(dict.fromkeys(plan.todo + plan.owed + plan.llm_reviewed))
    if skipped and llm is not None:
        result.llm_skipped = _llm_resume(skipped[0], llm, plan.todo, project.path, coder=coder, out=out,
                                         sheets=sheets, lang=lang, methods=methods, reviewed=reviewed)
    if plan.record is not None and out is not None:
        project.end_round(plan.record["id"])
    if llm is not None and (skipped or plan.llm_asked):
        _owe_llm(project, plan, skipped, llm, sheets[0] if sheets else None, reviewed,
                 _llm_workbook(sheets, out, lang))
    return result


def _owe_llm(project: Project, plan: _Plan, skipped: list[LLMSkippedWarning], llm: LLMCoder, sheet: Path | None,
             reviewed: list[str], export: Path) -> None:
    """Record the LLM step this round still owes (the segments its server skipped), or forget it: it is done.

    Kept among the rounds in progress, apart from the interrupted ones (``llm_owed``): a re-run of the round
    with the LLM asks it again for those documents (:func:`_resume_plan`), one without says it is owed.
    """
    failed = list(dict.fromkeys(s for w in skipped for s in w.segment_ids))
    if not failed:
        for record in plan.llm_asked:
            project.end_round(record["id"])
        return
    docs = project.segments_of(reviewed)
    owed = docs.loc[docs["segment_id"].astype(str).isin(set(failed)), "doc_id"]
    record = {"id": plan.llm_asked[0]["id"] if plan.llm_asked else None, "documents": reviewed,
              "sheet": str(sheet.absolute()) if sheet is not None else None, "export": str(export.absolute()),
              "llm_owed": {"documents": list(dict.fromkeys(map(str, owed))), "segments": failed,
                           "base_url": str(llm.base_url), "model": str(llm.model), "options": _llm_options(llm)}}
    if plan.llm_asked:
        record["started_at"] = plan.llm_asked[0].get("started_at")
    project.save_round(record)
    for extra in plan.llm_asked[1:]:
        project.end_round(extra["id"])


def llm_replaced(project: Project, suggestions: pd.DataFrame, workbook: str | Path) -> Path | None:
    """The review workbook a round wrote when its LLM failed, that ``workbook`` (of ``suggestions``) replaces.

    ``qualcode review export`` after ``qualcode suggest --llm`` (the commands a round prints when its LLM
    server failed) writes a workbook holding the LLM's suggestions too: the earlier one, of the round's same
    documents, then holds a part of the same rows, and applying both would count those rows twice.

    Returns
    -------
    Path or None
        That earlier workbook, when it exists, ``suggestions`` cover all of its documents and the LLM has
        answered some of the segments it had skipped; else ``None``.
    """
    ids = set(suggestions["segment_id"].astype(str))
    suggested: set[str] | None = None  # every stored segment id, read once, and only when a record needs it
    for record in project.rounds_in_progress():
        owed = record.get("llm_owed")
        if not owed or not record.get("sheet"):
            continue
        sheet = Path(record["sheet"])
        if not sheet.exists() or sheet.absolute() == Path(workbook).absolute():
            continue
        segments = project.segments_of(record["documents"])
        by_doc = dict(zip(segments["segment_id"].astype(str), segments["doc_id"].astype(str), strict=True))
        if suggested is None:
            suggested = set(project.suggestions["segment_id"].astype(str))
        stored = suggested & set(by_doc)
        # Every document of the round that has suggestions is in this workbook (rows decided already aside).
        covered = {by_doc[s] for s in stored} <= {by_doc[s] for s in ids if s in by_doc}
        answered = suggestions[suggestions["segment_id"].astype(str).isin(set(owed.get("segments", [])))]
        if covered and answered["method"].astype(str).str.contains("llm").any():
            return sheet
    return None


def _llm_still_owed(records: list[dict]) -> str | None:
    """The summary line of a re-run without the LLM while an earlier run's LLM step is owed, with how to finish."""
    if not records:
        return None
    n = sum(len(r["llm_owed"].get("segments", [])) for r in records)
    last = records[-1]["llm_owed"]
    sheet = next((r["sheet"] for r in records if r.get("sheet")), None)
    fill = f"; until then, {sheet} holds the other methods' suggestions" if sheet else ""
    return (f"the LLM step of this round is still owed: its server skipped {counted(n, 'segment')} in an earlier "
            f"run{fill}. To finish it, run this command again with --llm {shlex.quote(str(last['base_url']))} "
            f"--model {shlex.quote(str(last['model']))}{last.get('options', '')}: it asks the LLM for those segments "
            "only and writes the workbook to fill")


def _llm_resume(warning: LLMSkippedWarning, llm: LLMCoder, documents: list[str], project: Path | str, *,
                coder: str | None, out: str | Path | None, sheets: list[Path], lang: str,
                methods: Sequence[str], reviewed: Sequence[str] | None = None) -> str:
    """The summary line of a round whose LLM server failed: what was skipped, and how to ask again.

    The suggest command names the ``documents`` asked about; the review export command those of the round's
    workbook (``reviewed``: also those an interrupted run had suggested for). Each document is a ``-d``, and
    every value in both commands is quoted for a POSIX shell (:func:`shlex.quote`), so each can be pasted as
    it is, even with spaces or quotes in a path, a document id or a model name.
    """
    q = shlex.quote
    shown = " ".join(f"-d {q(d)}" for d in documents)
    first = str(warning).split(" First error: ", 1)[-1].rstrip(".")
    named = ",".join(m for m in methods if m != "llm")
    holds = (f"the review workbook ({sheets[0]}) holds the other methods' suggestions" if sheets else
             "no review workbook was written")
    who = f" --coder {q(coder)}" if coder else ""
    workbook = _llm_workbook(sheets, out, lang)
    instead = f"in place of {sheets[0]} (" if sheets else "("
    return (f"LLM skipped for {warning.n_failed} of {counted(warning.n_segments, 'segment')} ({first}); {holds}. "
            "When the server answers, run this same command again: it asks the LLM for the skipped segments only "
            f"and writes the workbook to fill{f' instead of {sheets[0]}' if sheets else ''}. Or ask the LLM again "
            f"with: qualcode suggest {q(str(project))} {shown}"
            f" --methods {q(f'{named},llm' if named else 'llm')} --llm {q(str(llm.base_url))} "
            f"--model {q(str(llm.model))}{_llm_options(llm)} (answers received are kept), then, {instead}the new "
            "workbook holds all of this round's suggestions, the LLM's included: fill only it), write a new workbook "
            f"with: qualcode review export {q(str(project))} {q(str(workbook))} "
            f"{' '.join(f'-d {q(d)}' for d in dict.fromkeys(reviewed if reviewed is not None else documents))}{who}"
            f"{' --lang en' if lang == 'en' else ''}")


def _llm_workbook(sheets: list[Path], out: str | Path | None, lang: str) -> Path:
    """The workbook the printed ``qualcode review export`` command writes after an LLM failure."""
    folder = Path(out) if out is not None else Path(".")
    return (sheets[0].with_name(f"{sheets[0].stem}-llm.xlsx") if sheets else
            folder / ("revision_llm.xlsx" if lang == "es" else "review_llm.xlsx"))


def _llm_options(llm: LLMCoder) -> str:
    """The user's LLM options that differ from the defaults, in CLI words (the prompt, and so the cached answers,
    depend on some); never the API key (``--api-key`` or QUALCODE_LLM_API_KEY is given again by the user)."""
    options = [("--llm-timeout", llm.timeout, TIMEOUT_SECONDS), ("--llm-concurrency", llm.concurrency, CONCURRENCY),
               ("--llm-examples", llm.codebook_examples, CODEBOOK_EXAMPLES),
               ("--llm-few-shot-chars", llm.few_shot_chars, FEW_SHOT_CHARS),
               ("--llm-max-tokens", llm.max_tokens, MAX_ANSWER_TOKENS)]
    return "".join(f" {name} {value:g}" for name, value, default in options if value != default)


@dataclass
class _Plan:
    todo: list[str]                   # documents to suggest for now
    owed: list[str]                   # documents whose suggestions an interrupted run stored, without a workbook
    resumed: list[str]                # of ``todo``: added earlier, never suggested
    n_elsewhere: int                  # documents added earlier, never suggested, not in this round
    record: dict | None = None        # the round in progress, as stored in the project
    sheet: Path | None = None         # the review workbook an interrupted run chose
    llm_asked: list[dict] = field(default_factory=list)  # LLM steps owed by an earlier run, asked again now
    llm_owed: list[dict] = field(default_factory=list)   # LLM steps owed, left as they are (no LLM this run)
    llm_reviewed: list[str] = field(default_factory=list)  # their workbook's other documents (stored suggestions)


def _resume_plan(project: Project, documents: pd.DataFrame, changed: list[str], writes: bool,
                 options: dict, asks_llm: bool = False) -> _Plan:
    """What this round has to do, including what an interrupted run of it left undone.

    A round is recorded in the project (:meth:`~qualcode.project.Project.save_round`) before its suggestions
    are stored and forgotten once its workbooks are written; documents added but never suggested are listed
    by the project in the transaction that adds them. Whatever point a run was killed at, the re-run
    suggests for what has no suggestions yet, writes the review workbook it owes from the stored ones, and
    keeps a workbook the killed run had already written.

    A run whose LLM server failed leaves an LLM step owed (:func:`_owe_llm`): with ``asks_llm`` its documents
    are suggested again (the LLM's cached answers are reused, so only what it skipped is sent) and its
    workbook's other documents go into the new workbook from the stored suggestions; without, it is left as it
    is (``llm_owed``), for the summary to say.
    """
    in_round = list(documents["doc_id"])
    pending = set(project.unsuggested)
    todo = list(changed) + [d for d in in_round if d in pending and d not in set(changed)]
    resumed = [d for d in todo if d not in set(changed)]
    plan = _Plan(todo, [], resumed, len(pending - set(in_round)))
    rounds = [r for r in project.rounds_in_progress() if set(r.get("documents", [])) <= set(in_round)]
    for record in (r for r in rounds if r.get("llm_owed")):
        if not asks_llm:
            plan.llm_owed.append(record)
            continue
        plan.llm_asked.append(record)
        plan.todo = list(dict.fromkeys([*plan.todo, *map(str, record["llm_owed"]["documents"])]))
    for record in plan.llm_asked:
        taken = set(plan.todo)
        plan.llm_reviewed = list(dict.fromkeys([*plan.llm_reviewed, *(d for d in record["documents"]
                                                                        if d not in taken)]))
    if not writes:
        return plan
    options = json.loads(json.dumps(options))  # as it reads back from the project
    previous = [r for r in rounds if not r.get("llm_owed")]
    for record in previous:
        left = [d for d in record["documents"] if d not in set(plan.todo) | set(plan.owed)]
        if record.get("options") == options:
            plan.owed += left
            if record.get("sheet") and plan.sheet is None:
                plan.sheet = Path(record["sheet"])
        else:
            # Stored under another codebook version or other options: this run's workbook needs them afresh.
            plan.todo += left
    if plan.todo or plan.owed:
        plan.record = {"id": previous[0]["id"] if previous else None, "documents": plan.todo + plan.owed,
                       "options": options, "sheet": str(plan.sheet) if plan.sheet else None}
        if previous:
            plan.record["started_at"] = previous[0].get("started_at")
        plan.record["id"] = project.save_round(plan.record)
        for record in previous[1:]:
            project.end_round(record["id"])
    plan.llm_reviewed = [d for d in plan.llm_reviewed if d not in set(plan.owed)]
    return plan


def _codebook_version(project: Project) -> str | None:
    try:
        return project.codebook().version
    except ProjectError:  # no codebook yet: suggest() says so, if there is anything to suggest
        return None


def _with_stored(project: Project, found: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """``found`` and the stored suggestions for ``segments`` under the current codebook, in the same form."""
    version = project.codebook().version
    stored = project.suggestions
    stored = stored[(stored["codebook_version"] == version) & stored["segment_id"].isin(set(segments["segment_id"]))]
    stored = stored.merge(segments[["segment_id", "doc_id"]], on="segment_id", how="left")
    stored = stored[list(found.columns)].astype(found.dtypes.to_dict())
    frames = [f for f in (found, stored) if len(f)]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else (frames[0] if frames else found)
