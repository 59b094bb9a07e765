"""The orchestration layer: every step that needs a :class:`~qualcode.project.Project` across stages.

The core packages (``io``, ``corpus``, ``codebook``, ``coders``, ``analysis``, ``export``) take and return
tables and never see a Project; this module reads what they need from the project, calls them, and stores what
they return. ``batch.py`` strings these steps into a round; the CLI and notebooks call them directly.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

import pandas as pd
from sklearn.base import clone

from .analysis import code_frequencies, first_appearance, saturation
from .codebook import Codebook, codebook_changes
from .codebook.qdc import check_description_form
from .coders import ensemble
from .coders.embedders import BATCH_SIZE, CachedEmbedder, MemoryEmbeddingCache, text_key
from .coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K
from .coders.evaluate import DEFAULT_CURVE, DEFAULT_REVIEW, METHODS_EVALUATED, CrossValidation, cross_validate
from .coders.llm import LLMCoder
from .corpus import Corpus, segment_id
from .errors import ParameterError, ProjectError, QualcodeWarning
from .export.charts import plot_frequencies, plot_saturation
from .export.excel import DEFAULT_BY, DEFAULT_ORDER, export_excel, report_tables
from .export.pseudonymize import Pseudonymizer as TextPseudonymizer
from .export.refi_import import PositionUnits, read_qdpx
from .export.refi_qda import check_for_tool, qdpx_bytes
from .io import assign_languages, merge_survey_attributes
from .io.atomic import atomic_write_bytes, check_writable
from .io.cells import reporting
from .io.paths import path_in
from .messages import say
from .parallel import using
from .project import Project, text_hash
from .review.decisions import coded_quotes, decisions
from .review.log import Decision
from .schemas import check, coded, columns, empty_table, returns
from .spans import clip, to_document, to_log, to_segment
from .version import __version__

# -- suggestions (coders ↔ project) ------------------------------------------------------------------------------


@returns("suggestions")
def suggest(source: Project | pd.DataFrame, codebook: Codebook | None = None, *,
            methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
            top_k: int | None = DEFAULT_TOP_K, min_score: float = DEFAULT_MIN_SCORE, embedder: str = "use",
            store: bool = True, documents: Sequence[str] | None = None, workers: int = 1,
            scheduler: str | None = None, progress: bool = False, llm: LLMCoder | None = None) -> pd.DataFrame:
    """Suggest codes in one call, for a Project or a segments table.

    Parameters
    ----------
    source : Project or DataFrame
        A project (its segments, its current codebook, its decisions and its
        embedding cache are used, and the suggestions are stored in it), or
        a segments table such as ``corpus.segments``.
    codebook : Codebook, optional
        Required with a segments table; defaults to the project's current codebook.
    methods : sequence of {"keyword", "embedding", "llm"}
        The zero-shot coders to combine.
    learn : bool, optional
        Add the learned coder (trained on the project's accepted and rejected
        decisions). Default: when the project holds decisions.
    llm : LLMCoder, optional
        For method ``"llm"``: your server (``qc.LLMCoder(base_url=..., model=...)``); with a project, its
        answers are kept in the project, its few-shot examples come from the project's decisions, and a
        server failure is a warning while the other coders' suggestions still arrive.
    top_k, min_score
        Per segment at most ``top_k`` codes scoring at least ``min_score``.
    store : bool
        With a project, store the suggestions there, replacing earlier ones
        for the same segments and codebook version.
    documents : sequence of str, optional
        Only these documents (e.g. what a new round added); the project's
        other suggestions are left as they are.
    workers : int
        Spread keyword matching and encoding over this many local processes;
        the result is identical to one worker.
    scheduler : str, optional
        Run that work on the Dask cluster at this address instead (extra
        ``qualcode[dask]``); only this process writes the project file.
    progress : bool
        Show progress bars (see :mod:`qualcode.progress`).

    Returns
    -------
    DataFrame
        {columns}

    Raises
    ------
    ParameterError
        For a source that is neither, a segments table without a codebook, documents with no segments,
        an unknown method.

    Notes
    -----
    The coders themselves work on tables (:func:`qualcode.coders.suggest`); this reads the project's
    segments, codebook and decisions, gives the coders the project's embedding cache, and stores what
    they return.

    Examples
    --------
    >>> suggestions = qc.suggest(project)  # doctest: +SKIP
    >>> suggestions.merge(project.segments[["segment_id", "text"]]).head()  # doctest: +SKIP
    """
    if isinstance(source, pd.DataFrame):
        return ensemble.suggest(source, codebook, methods=methods, learn=learn, top_k=top_k, min_score=min_score,
                                embedder=embedder, documents=documents, workers=workers, scheduler=scheduler,
                                progress=progress, llm=llm)
    if not isinstance(source, Project):
        raise ParameterError("suggest() takes a Project or a segments DataFrame.")
    codebook = codebook or source.codebook()
    counts = {str(d): int(n) for d, n in source.query(
        "SELECT d.doc_id, count(s.doc_id) FROM documents d LEFT JOIN segments s USING (doc_id) "
        "GROUP BY d.doc_id ORDER BY d.rowid")}
    if documents is None:
        wanted = list(counts)
    else:
        asked = {str(d) for d in documents}
        unknown_docs = sorted(d for d in asked if not counts.get(d))
        if unknown_docs:
            raise ParameterError(f"no segments for document(s) {unknown_docs[:5]}; add them to the project first.")
        wanted = [d for d in counts if d in asked]  # the project's order, as one call over its segments reads them
    if llm is not None and llm.cache is None:
        llm = clone(llm).set_params(cache=source.llm_cache())  # the caller's coder is left as it was
    made = decisions(source)
    model = ensemble.suggestion_ensemble(codebook, decisions=made, methods=methods, learn=learn, top_k=top_k,
                                         min_score=min_score, embedder=embedder, cache=source.embedding_cache(),
                                         llm=llm)
    # With the LLM, one part: its report, its one warning and its error when asked alone (before anything is
    # stored) are those of the whole call; at seconds per segment, its rounds are not the ones memory limits.
    parts = [wanted] if llm is not None else _round_parts(wanted, counts)
    with using(workers, scheduler, progress=progress):
        model.fit(codebook, made)
        if len(parts) > 1:
            _encode_as_one_call(source, model, parts)
        found = [_suggest_part(source, model, part, codebook.version, store) for part in parts]
    frames = [f for f in found if len(f)]
    result = (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]) if frames else found[0]
    result.attrs = found[-1].attrs
    return result


def _suggest_part(project: Project, model: ensemble.EnsembleCoder, documents: list[str], version: str,
                  store: bool) -> pd.DataFrame:
    """The fitted ``model``'s suggestions for one part of ``documents``, stored (``store``), its tables released."""
    segments = project.segments_of(documents)
    for coder in model.coders_:
        if isinstance(getattr(coder, "embedder_", None), CachedEmbedder):
            # Vectors come from the project's cache: a coder's in-memory copy of one part's goes with it.
            coder.embedder_ = CachedEmbedder(coder.embedder_.embedder, coder.embedder_.cache)
    result = model.suggest(segments)
    result.attrs.update(ensemble.run_attrs(model))
    if store:
        replace = list(segments["segment_id"])
        kept = _unanswered_with_stored(project, result, version)
        if kept:
            # The LLM gave these no answer (its server failed): their stored suggestions stay as they were
            # rather than being replaced by a run that lacks the LLM's; a re-run once it answers replaces them.
            # Their rows here are not stored: summaries count what is (attrs["kept_segments"]).
            replace = [s for s in replace if s not in kept]
            result.attrs["kept_segments"] = sorted(kept)
        project.add_suggestions(result[~result["segment_id"].astype(str).isin(kept)], replace_segments=replace,
                                codebook_version=version, run=result.attrs.get("run"))
    return result


#: Segments suggested at a time for a project (about 0.6M words of interviews): its texts, vectors and scores
#: are held while it is suggested and stored, then released, so memory does not grow with a round's size. A
#: part of 10,000 segments peaked about 230 MB above a round of 1,600 (bench/round_scale.py: 947 against 717
#: MiB), well inside the 2 GiB budget, while each part is still large enough for the workers to share.
ROUND_PART_SEGMENTS = 10_000
#: Batches of texts (of the encoder's fixed BATCH_SIZE) encoded together while a round's texts are gathered:
#: enough for every worker to take several at once; pending texts are at most this many batches.
ENCODE_BATCHES = 16


def _round_parts(documents: list[str], counts: dict[str, int]) -> list[list[str]]:
    """``documents`` in their order, cut into runs of whole documents of about :data:`ROUND_PART_SEGMENTS`.

    Never empty: no documents make one empty part (whose suggestions are an empty table).
    """
    parts: list[list[str]] = []
    part: list[str] = []
    size = 0
    for doc in documents:
        part.append(doc)
        size += int(counts.get(doc, 0))
        if size >= ROUND_PART_SEGMENTS:
            parts.append(part)
            part, size = [], 0
    if part or not parts:
        parts.append(part)
    return parts


def _encode_as_one_call(project: Project, model: ensemble.EnsembleCoder, parts: list[list[str]]) -> None:
    """Encode the texts of ``parts`` (read one at a time) into the project's embedding cache as one call would.

    Encoding runs coder by coder over every part, as :class:`~qualcode.coders.ensemble.EnsembleCoder` does
    over one table, so each part is then suggested from vectors that are those of one call, to the bit.
    """
    encoders: dict[str, _RoundTexts] = {}
    for coder in model.coders_:
        if not coder.coder_tags().uses_embedder or not isinstance(getattr(coder, "embedder_", None), CachedEmbedder):
            continue
        texts = encoders.setdefault(coder.embedder_.name, _RoundTexts(coder.embedder_, BATCH_SIZE))
        for part in parts:
            texts.add(coder.texts_to_encode(project.segments_of(part)))
        texts.flush()


class _RoundTexts:
    """Encodes a round's texts part by part, in the batches one call over the whole round encodes them in.

    The encoder's floats depend on a batch's make-up, so suggestions are identical to a round suggested in
    one piece only when every text is encoded in the same batch as there: texts new to the project, in order
    of first appearance, cut into batches of ``BATCH_SIZE``. Texts are gathered part by part; whole runs of
    batches are encoded (in the workers, if any) and stored in the project's embedding cache as they fill; the
    last, partial batch waits for the next part's texts.
    """

    def __init__(self, embedder: CachedEmbedder, batch: int) -> None:
        self.embedder, self.batch = embedder, batch
        self.seen: set[bytes] = set()  # digests of texts already looked at (cached, encoded or pending)
        self.pending: list[str] = []

    def add(self, texts: list[str]) -> None:
        name, cache = self.embedder.name, self.embedder.cache
        new: dict[str, str] = {}
        for text in texts:
            key = text_key(text)
            digest = bytes.fromhex(key)
            if digest not in self.seen:
                self.seen.add(digest)
                new[key] = text
        held = cache.get([(name, k) for k in new]) if cache is not None and new else {}
        self.pending += [t for k, t in new.items() if (name, k) not in held]
        if len(self.pending) >= ENCODE_BATCHES * self.batch:
            self.flush(whole=True)

    def flush(self, *, whole: bool = False) -> None:
        cut = len(self.pending) - len(self.pending) % self.batch if whole else len(self.pending)
        if cut:
            # A fresh wrapper each time: its in-memory copy of the vectors goes with it; the cache keeps them.
            CachedEmbedder(self.embedder.embedder, self.embedder.cache).encode(self.pending[:cut])
            self.pending = self.pending[cut:]


def _unanswered_with_stored(project: Project, result: pd.DataFrame, version: str) -> set[str]:
    """Segments the LLM got no answer for (``result.attrs["llm_report"]``) that hold stored suggestions."""
    failed = (result.attrs.get("llm_report") or {}).get("failed_segments") or []
    if not failed:
        return set()
    stored = project.query("SELECT DISTINCT segment_id FROM suggestions WHERE codebook_version = ?", [version])
    return set(failed) & {str(row[0]) for row in stored}


# -- reports and exchange (export ↔ project) ----------------------------------------------------------------------


class PseudonymizedProject(Project):
    """A temporary pseudonymized copy of a project (see :func:`pseudonymized_project`); writers treat it as any project.

    ``pseudonymizer`` is the :class:`~qualcode.export.Pseudonymizer` that made
    it: the report says what it covered.

    Examples
    --------
    >>> with pseudonymized_project(project, qc.Pseudonymizer(["Rosa"])) as hidden:  # doctest: +SKIP
    ...     isinstance(hidden, PseudonymizedProject)
    True
    """

    pseudonymizer: TextPseudonymizer
    #: The original project's imported notes (:func:`imported_notes`), pseudonymized as its memos are.
    notes: pd.DataFrame


@contextmanager
def pseudonymized_project(project: Project, pseudonymizer: TextPseudonymizer) -> Iterator[PseudonymizedProject]:
    """A temporary pseudonymized copy of ``project``, for writing outputs that leave the machine.

    Names are learnt from the whole project (transcripts, memos, the
    words of decisions, speaker labels) and replaced everywhere: document
    texts and ids, source paths, speaker labels, attribute names and
    values, segments (offsets moved with the words), decisions' words,
    memos and coder names (coders are the team, so their names stay
    unless one is listed or detected), the codebook's texts and the
    project's name. Writers given the copy write no name; the copy (a
    file in a private temporary folder) is deleted when the block ends.

    Parameters
    ----------
    project : Project
        A copy is yielded as it is (already pseudonymized).
    pseudonymizer : Pseudonymizer
        Learns the project's names (keeping those it knows).

    Yields
    ------
    PseudonymizedProject
        A :class:`qualcode.Project`; write reports and ``.qdpx`` from it.

    Examples
    --------
    >>> with qc.Pseudonymizer(["Rosa"]).project(project) as hidden:  # doctest: +SKIP
    ...     qc.export_report(hidden, "informe.xlsx")
    ...     qc.export_refi_qda(hidden, "estudio.qdpx")
    """
    if isinstance(project, PseudonymizedProject):
        yield project
        return
    rows = project.snapshot()
    try:
        codebook = project.codebook()
    except ProjectError:
        codebook = None
    notes = imported_notes(project)
    pseudonymizer.learn([r["text"] for r in rows["documents"]] + [r["memo"] for r in rows["decisions"]]
                        + [r["quote"] for r in rows["decisions"]]
                        + [str(t) for c in ("text", "name", "quote") for t in notes[c].dropna()],
                        speakers=[r["speaker"] for r in rows["segments"]])
    hidden = _pseudonymized_rows(pseudonymizer, rows)
    hidden_notes = _pseudonymized_notes(pseudonymizer, rows, notes)
    folder = tempfile.mkdtemp(prefix="qualcode-pseudonymized-")  # private to this user (0700)
    name = pseudonymizer.transform_id(Path(project.path).stem)
    try:
        view = PseudonymizedProject.from_snapshot(
            path_in(folder, name, suffix=".qualcode", fallback="project"), hidden,
            pseudonymizer.transform_codebook(codebook) if codebook is not None else None)
        view.pseudonymizer = pseudonymizer
        view.notes = hidden_notes
        try:
            yield view
        finally:
            view.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _pseudonymized_notes(pseudonymizer: TextPseudonymizer, rows: dict[str, list[dict]],
                         notes: pd.DataFrame) -> pd.DataFrame:
    """Imported notes with every name replaced as in memos (texts, titles, authors as coders, words) and each
    annotation's offsets moved with the words of its document; its document id as the documents' ids are."""
    p = pseudonymizer
    if not len(notes):
        return notes
    new_ids = _pseudonymized_ids(p, rows)
    movers = {d["doc_id"]: p.mover(d["text"])[1] for d in rows["documents"]}
    out = notes.copy()
    for column in ("text", "name", "quote", "author"):
        out[column] = [p.transform(v) if isinstance(v, str) else v for v in notes[column].astype(object)]
    out["doc_id"] = [new_ids.get(d, p.transform_id(d)) if isinstance(d, str) else d
                     for d in notes["doc_id"].astype(object)]
    for column in ("start", "end"):
        out[column] = [movers[d](int(v)) if isinstance(d, str) and d in movers and not pd.isna(v) else v
                       for d, v in zip(notes["doc_id"].astype(object), notes[column].astype(object), strict=True)]
    return check(out.astype(notes.dtypes.to_dict()), "imported_notes")


def _pseudonymized_ids(p: TextPseudonymizer, rows: dict[str, list[dict]]) -> dict[str, str]:
    """Each document's id → its pseudonymized id (a name's pseudonym may make two ids equal: kept apart)."""
    ids: dict[str, str] = {}
    for doc in rows["documents"]:
        new = p.transform_id(doc["doc_id"])
        while new in ids.values():
            new += "_"
        ids[doc["doc_id"]] = new
    return ids


def _pseudonymized_rows(pseudonymizer: TextPseudonymizer, rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The project's stored rows with every name replaced and every offset moved with its words."""
    p = pseudonymizer
    ids = _pseudonymized_ids(p, rows)
    texts, movers = {}, {}
    documents = []
    for doc in rows["documents"]:
        text, movers[doc["doc_id"]] = p.mover(doc["text"])
        texts[doc["doc_id"]] = text
        attributes = json.loads(doc["attributes"] or "{}")
        documents.append({**doc, "doc_id": ids[doc["doc_id"]], "text": text,
                          "source_path": p.transform_id(doc["source_path"]),
                          "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                          "attributes": json.dumps({p.transform_id(k): p.transform(v)
                                                    for k, v in attributes.items()}, ensure_ascii=False)})
    starts: dict[str, tuple[str, int, int]] = {}  # old segment id → (old doc id, old start, new start)
    segment_ids: dict[str, str] = {}
    seen: dict[tuple[str, str], int] = {}
    segments = []
    for seg in sorted(rows["segments"], key=lambda s: (s["doc_id"], s["start"])):
        moved = movers[seg["doc_id"]]
        start, end = moved(seg["start"]), moved(seg["end"])
        text = texts[seg["doc_id"]][start:end]
        doc_id = ids[seg["doc_id"]]
        k = seen.get((doc_id, text), 0)
        seen[(doc_id, text)] = k + 1
        segment_ids[seg["segment_id"]] = segment_id(doc_id, text, k)
        starts[seg["segment_id"]] = (seg["doc_id"], seg["start"], start)
        segments.append({**seg, "segment_id": segment_ids[seg["segment_id"]], "doc_id": doc_id, "start": start,
                         "end": end, "text": text, "text_sha": text_hash(text),
                         "speaker": p.transform(seg["speaker"]), "field": p.transform(seg["field"])})

    def span(row: dict) -> dict:
        # Stored spans count from their segment's start: to document offsets, moved with the words of the
        # document, and back to the new segment's start. A missing end (to the segment's end) stays missing.
        where = starts.get(row["segment_id"])
        out = {"segment_id": segment_ids.get(row["segment_id"], row["segment_id"])}
        if where is not None:
            old_doc, old_start, new_start = where
            moved = movers[old_doc]
            for column in ("span_start", "span_end"):
                if row[column] is not None:
                    at, _ = to_document((int(row[column]), int(row[column])), old_start)
                    out[column], _ = to_segment((moved(at), moved(at)), new_start)
        return out

    decisions = [{**d, **span(d), "doc_id": ids.get(d["doc_id"], p.transform_id(d["doc_id"])),
                  "quote": p.transform(d["quote"]), "memo": p.transform(d["memo"]),
                  "coder": p.transform(d["coder"])} for d in rows["decisions"]]
    anchors = [{**a, **(span(a) if a["segment_id"] is not None else {})} for a in rows["anchors"]]
    meta = [{**m, "value": p.transform_id(m["value"])} for m in rows["meta"] if m["key"] == "name"]
    return {"meta": meta, "documents": documents, "segments": segments, "decisions": decisions,
            "anchors": anchors}


class Pseudonymizer(TextPseudonymizer):
    """Consistent pseudonyms for the names in a study, and pseudonymized copies of whole projects.

    The text-level :class:`qualcode.export.Pseudonymizer` (same parameters;
    ``fit``, ``transform``, ``transform_id``, ``mapping`` …) with
    :meth:`project`, which needs a :class:`~qualcode.project.Project` and so
    lives here. This is ``qc.Pseudonymizer``.

    Examples
    --------
    >>> p = Pseudonymizer(["Marcela"]).fit(["La tía Gloria habló con Marcela."])
    >>> p.transform("La tía Gloria habló con Marcela.")
    'La tía Persona 2 habló con Persona 1.'
    """

    def project(self, project: Project) -> AbstractContextManager[PseudonymizedProject]:
        """A temporary pseudonymized copy of ``project``: see :func:`pseudonymized_project`.

        Examples
        --------
        >>> with qc.Pseudonymizer(["Rosa"]).project(project) as hidden:  # doctest: +SKIP
        ...     qc.export_report(hidden, "informe.xlsx")
        """
        return pseudonymized_project(project, self)


#: How a reject that ends a renamed code's decision begins (set_codebook recognises its own moves by it).
_MOVED = "moved to "


@returns("codebook_set")
def set_codebook(project: Project, codebook: Codebook, *, carry_renamed: bool = True, source: str = "notebook",
                 dry_run: bool = False) -> pd.DataFrame:
    """Make ``codebook`` the project's current version; carry the decisions of renamed codes to their new id.

    A *renamed* code (see :func:`qualcode.codebook_changes`: an id that goes
    while a new one comes with the same label or definition) is the same
    code: with ``carry_renamed`` each coder's current accept or coding on the
    old id is appended again on the new id (same segment, words, memo and
    coder), and a reject on the old id, memo ``"moved to <new id> …"``, ends
    the old one, so the code is counted once. Nothing is deleted: the old
    decisions stay in the log's history, and where a coder has already
    decided the new id on a segment, their own decision stands. Decisions on
    *removed* codes are kept under the old id and reported.

    Parameters
    ----------
    project : Project
    codebook : Codebook
        The new version.
    carry_renamed : bool
        Carry decisions of renamed codes (``qualcode codebook set --no-carry`` turns it off).
    source : str
        Recorded with the carried decisions (``"cli"`` from the command line).
    dry_run : bool
        Compute what would change; change nothing.

    Returns
    -------
    DataFrame
        {columns}

    Raises
    ------
    ProjectError
        If the project file cannot be written.

    Examples
    --------
    >>> changes = qc.set_codebook(project, qc.load_codebook("nic_study_v2.yaml"))  # doctest: +SKIP
    >>> changes.loc[changes["change"] == "renamed", ["old_code_id", "code_id", "carried"]]  # doctest: +SKIP
    """
    try:
        old = project.codebook()
    except ProjectError:
        old = Codebook(codebook.id, codes=[])
    changes = codebook_changes(old, codebook)
    current = decisions(project)
    coded_now = coded(current)
    per_code = coded_now.groupby("code_id")["segment_id"].nunique()
    changes["coded_segments"] = changes["old_code_id"].map(per_code).fillna(0).astype("int64")
    changes["carried"] = 0
    if dry_run or old.version == codebook.version:
        return changes
    version = project.add_codebook(codebook)
    renamed = changes[changes["change"] == "renamed"]
    if not carry_renamed or renamed.empty:
        return changes
    places = project.segments.set_index("segment_id")[["start", "end"]]
    # A coder's own decision on the new id stands; a reject that only records an earlier move does not.
    decided_new = {(r.segment_id, r.code_id, r.coder) for r in current.itertuples(index=False)
                   if not (r.decision == "reject" and isinstance(r.memo, str) and r.memo.startswith(_MOVED))}
    moves: list[Decision] = []
    carried: dict[str, int] = {}
    for old_id, new_id in zip(renamed["old_code_id"], renamed["code_id"], strict=True):
        for row in coded_now[coded_now["code_id"] == old_id].itertuples(index=False):
            if (row.segment_id, new_id, row.coder) in decided_new:
                continue  # the coder has decided the new code there already: theirs stands
            segment = places.loc[row.segment_id]
            common = {"doc_id": row.doc_id, "quote": row.quote, "memo": row.memo if isinstance(row.memo, str)
                      else None, "source": source, "codebook_version": version}
            if row.decision == "accept":
                moves.append(Decision.accept(row.segment_id, new_id, row.coder, method=row.method,
                                             score=None if pd.isna(row.score) else float(row.score), **common))
            else:
                span = to_log((int(row.start), int(row.end)), (int(segment["start"]), int(segment["end"])))
                moves.append(Decision.manual(row.segment_id, new_id, row.coder, span=span, **common))
            carried[old_id] = carried.get(old_id, 0) + 1
        ended = coded_now[coded_now["code_id"] == old_id].drop_duplicates(["segment_id", "coder"])
        for row in ended.itertuples(index=False):
            if (row.segment_id, new_id, row.coder) in decided_new:
                continue
            moves.append(Decision.reject(row.segment_id, old_id, row.coder, doc_id=row.doc_id, quote=row.quote,
                                         memo=f"{_MOVED}{new_id} (codebook version {version})", source=source,
                                         codebook_version=version))
    project.log.append(moves)
    changes["carried"] = changes["old_code_id"].map(carried).fillna(0).astype("int64").where(
        changes["change"] == "renamed", 0)
    return changes


def export_report(project: Project, path: str | Path | IO[bytes], *, lang: str = "es", coder: str | None = None,
                  pseudonymizer: TextPseudonymizer | None = None, charts: bool = True,
                  by: Sequence[str] = DEFAULT_BY, order: str | None = DEFAULT_ORDER,
                  overwrite: bool = False) -> dict[str, pd.DataFrame]:
    """Write the project's report workbook (coded quotes, frequencies, saturation, codebook, charts).

    Parameters
    ----------
    project : Project
    path : path
        The ``.xlsx`` to write.
    lang : {"es", "en"}
        Labels and sheet titles.
    coder : str, optional
        Only this coder's decisions (default: everyone's).
    pseudonymizer : Pseudonymizer, optional
        Write the report from a pseudonymized copy of the project (see
        :func:`pseudonymized_project`): no listed or detected name, in any case
        or accent, in any sheet, column, chart or sheet name; the 'about'
        sheet says what was covered. Its mapping is not written here.
    charts : bool, default True
        Add the frequency and saturation charts (when there are coded quotes).
    by : sequence of str
        Attribute columns (the study's names) or roles to tabulate codes by;
        by default the roles role, site, stage and round that the study has
        (:meth:`Project.roles`).
    order : str, optional
        Analysis order for first appearance and saturation: the ``date`` role
        by default, or any attribute column (dates are ordered as dates).
    overwrite : bool, default False
        Replace an existing workbook at ``path`` (a report may hold a
        colleague's notes: without it, :class:`~qualcode.errors.OutputExistsError`).

    Returns
    -------
    dict of DataFrame
        The tables written (those of :func:`qualcode.report_tables`; also usable with :func:`qualcode.export_tables`).

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (nothing is written).
    ParameterError
        If ``by`` or ``order`` names a column the study does not have (the message lists those it has).

    Examples
    --------
    >>> tables = qc.export_report(project, "informe.xlsx", lang="es")  # doctest: +SKIP
    """
    if isinstance(path, (str, Path)):
        check_writable([path], overwrite=overwrite)
    # One report for the workbook, charts included (their labels are drawn in it).
    with reporting(path, "an .xlsx workbook"):
        return _export_report(project, path, lang=lang, coder=coder, pseudonymizer=pseudonymizer, charts=charts, by=by,
                              order=order, overwrite=overwrite)


def _former_labels(project: Project, code_ids: Sequence[str], lang: str) -> dict[str, str]:
    """Each code's label in the last stored codebook version that had it (for codes a later version removed)."""
    other = "en" if lang == "es" else "es"
    marks = ", ".join("?" * len(code_ids))
    rows = project.query_frame(
        f"SELECT c.code_id, c.label_{lang} AS label, c.label_{other} AS other FROM codes c JOIN codebooks b "
        f"USING (version) WHERE c.code_id IN ({marks}) ORDER BY b.seq", list(code_ids))
    return {str(code): str(label or alt) for code, label, alt in zip(rows["code_id"], rows["label"], rows["other"],
                                                                     strict=True) if label or alt}


def _export_report(project: Project, path: str | Path | IO[bytes], *, lang: str, coder: str | None,
                   pseudonymizer: TextPseudonymizer | None, charts: bool, by: Sequence[str], order: str | None,
                   overwrite: bool) -> dict[str, pd.DataFrame]:
    if pseudonymizer is not None and not isinstance(project, PseudonymizedProject):
        with pseudonymized_project(project, pseudonymizer) as hidden:
            return _export_report(hidden, path, lang=lang, coder=pseudonymizer.transform(coder) if coder else None,
                                  pseudonymizer=None, charts=charts, by=by, order=order, overwrite=overwrite)
    names = project.pseudonymizer if isinstance(project, PseudonymizedProject) else None
    codebook = project.codebook()
    quotes = coded_quotes(project, coder=coder)
    roles = project.roles()
    gone = sorted({*quotes["code_id"]} - {c.id for c in codebook})
    former = _former_labels(project, gone, lang) if gone else {}
    segments = project.segments  # read once: a join of the corpus and the attributes
    tables = report_tables(quotes, codebook, segments=segments, lang=lang, by=by, order=order, roles=roles,
                           former_labels=former)
    if names is not None:  # the data are pseudonymized already; this pass also covers what tables derive (titles)
        tables = {names.transform(title): names.scrub(frame) for title, frame in tables.items()}
    figures = {}
    if charts and len(quotes):
        column = (roles.get(order) or order) if order is not None else None
        column = column if column in quotes.columns else None
        # The quotes and segments carry the study's roles (io.roles.role_column): no renaming needed.
        figures[say("chart.frequencies", lang)] = plot_frequencies(code_frequencies(quotes, segments=segments),
                                                                   codebook=codebook, lang=lang)
        try:
            verdict = saturation(quotes, order=column, lang=lang).iloc[0]
        except ParameterError:
            verdict = None
        figures[say("chart.saturation", lang)] = plot_saturation(first_appearance(quotes, order=column), verdict,
                                                                 lang=lang)
    about = {"qualcode": __version__, say("about.project", lang): Path(project.path).name,
             say("about.codebook", lang): f"{codebook.id} {codebook.version}",
             say("about.quotes", lang): len(quotes),
             say("about.coders", lang): ", ".join(sorted(quotes["coder"].unique())) if len(quotes) else "",
             say("about.pseudonymized", lang): names.coverage() if names is not None else say("about.no", lang),
             say("about.roles", lang): ", ".join(f"{say('role.' + role, lang)}={column}"
                                                 for role, column in roles.columns.items())
             or say("about.none", lang),
             say("about.saturation", lang): say("about.saturation_note", lang)}
    export_excel(tables, path, charts=figures, about=about, lang=lang, overwrite=overwrite)
    return tables


def export_refi_qda(project: Project, path: str | Path, *, lang: str = "es", description: str = "yaml",
                    overwrite: bool = False, pseudonymizer: TextPseudonymizer | None = None,
                    for_tool: str | None = None) -> Path:
    """Write the project as a REFI-QDA ``.qdpx`` (validated against the official schema; atomic).

    Parameters
    ----------
    project : Project
    path : path
        The ``.qdpx`` to write.
    lang : {"es", "en"}
        Which label names the codes in the other tool.
    description : {"yaml", "plain"}
        How each code's definition, criteria, examples and keywords are written in its description:
        a YAML block, or plain prose for the other tool's users (``lang``'s section first); qualcode
        reads both back exactly.
    overwrite : bool, default False
        Replace an existing file at ``path``.
    pseudonymizer : Pseudonymizer, optional
        Write a pseudonymized copy of the project (see
        :func:`pseudonymized_project`): sources' text and names, selections,
        memos, cases, variables and users hold no listed or detected name;
        selections still point at the same words. The notes of an imported
        project are written pseudonymized the same way (texts, titles, authors).
    for_tool : {None, "qualcoder"}
        ``"qualcoder"`` writes participant-level values on each document only
        (not also on the participant's case), so QualCoder users can filter
        documents by them (QualCoder links no document to a case it imports),
        and a source's second and later imported memos as journals (QualCoder
        drops a note a source refers to).

    A project imported from another tool (:func:`import_refi_qda`) writes
    back the memos it kept as notes (:func:`imported_notes`: journals,
    annotations, source, case, code and project memos), each where the
    spec puts it (see :func:`qualcode.export.refi_qda.qde_bytes`), so
    qualcode → ``.qdpx`` → qualcode → ``.qdpx`` keeps them.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (nothing is written).
    ExchangeFileError
        Never for user data; only if the written XML does not validate (a bug).

    Examples
    --------
    >>> qc.export_refi_qda(project, "estudio.qdpx")  # doctest: +SKIP
    PosixPath('estudio.qdpx')
    """
    check_description_form(description)
    check_for_tool(for_tool)
    check_writable([path], overwrite=overwrite)
    with reporting(path, "XML (the .qdpx project)"):
        if pseudonymizer is not None and not isinstance(project, PseudonymizedProject):
            with pseudonymized_project(project, pseudonymizer) as hidden:
                _write_qdpx(hidden, path, lang=lang, description=description, overwrite=overwrite,
                            for_tool=for_tool)
        else:
            _write_qdpx(project, path, lang=lang, description=description, overwrite=overwrite, for_tool=for_tool)
    return Path(path)


def _write_qdpx(project: Project, path: str | Path, *, lang: str, description: str, overwrite: bool,
                for_tool: str | None = None) -> None:
    stored = project.query("SELECT value FROM meta WHERE key = 'name'")
    name = stored[0][0] if stored else Path(project.path).stem
    try:
        codebook = project.codebook()
    except ProjectError:  # documents without codes yet (an imported project that had none): written without codes
        codebook = Codebook(name, title={"es": name, "en": name})
    # A project imported from another tool writes back the memos it kept as notes (journals, annotations …);
    # one the other tool left undated is dated when the project was imported (said in a warning).
    documents = project.documents
    imported_at = str(documents["added_at"].min()) if "added_at" in documents and len(documents) else None
    data = qdpx_bytes(codebook, documents, decisions(project), name=name, lang=lang,
                      description=description, roles=project.roles().columns, notes=imported_notes(project),
                      for_tool=for_tool, note_date=imported_at)
    atomic_write_bytes(path, data, overwrite=overwrite)


def import_refi_qda(path: str | Path, project_path: str | Path, *, unit: str = "turn",
                    position_units: PositionUnits | str = "auto") -> Project:
    """Create a project from a ``.qdpx`` written by qualcode or another tool.

    Documents keep their text exactly (positions in the file refer to it);
    speaker labels are found as in plain-text transcripts. Each coded
    selection becomes a manual decision of the user who made it, on every
    segment it overlaps; several selections of one code by one coder in one
    segment stay several codings. Coding memos, in whichever form the tool
    wrote them, become the decisions' memos; case and source variables become
    document attributes. Memos with no coding to go on (annotations, source,
    case and project memos, journals) are kept as the project's imported
    notes (:func:`imported_notes`); everything the file holds that qualcode
    cannot (pictures, PDF page areas, time selections, code groups, Links,
    Graphs …) is counted in the import report (:func:`import_report`), kept
    with the project too.

    Parameters
    ----------
    path : path
        The ``.qdpx`` archive (read by :func:`qualcode.export.read_qdpx`).
    project_path : path
        The new project file (must not exist).
    unit : str, default "turn"
        Segmentation unit of the documents.
    position_units : {"auto", "utf16", "codepoints"}, default "auto"
        How the file counts positions: "auto" follows the tool that wrote it
        (NVivo counts UTF-16 code units, so an emoji counts 2) and measures
        when that is not known (the report says it guessed).

    Returns
    -------
    Project
        The new project, open.

    Raises
    ------
    ExchangeFileError
        For an unsafe or damaged archive (C6), one without a ``.qde`` file,
        or one whose text sources are all missing from it.
    ProjectError
        If ``project_path`` exists.
    OutputExistsError
        If a file named ``project_path`` appeared during the import (it is never replaced).

    Nothing is left behind when any of these is raised: the project is
    built in a hidden file beside ``project_path`` and moved into place only
    when the import is complete, so a retry is never refused.

    Warns
    -----
    QualcodeWarning
        Once, for what was not imported, renamed or guessed (the import
        report's rows with those outcomes).

    Examples
    --------
    >>> project = qc.import_refi_qda("estudio.qdpx", "estudio.qualcode")  # doctest: +SKIP
    >>> qc.import_report(project)  # doctest: +SKIP
    """
    path, project_path = Path(path), Path(project_path)
    # Built in a hidden file, moved into place only when complete: a failed import leaves nothing behind.
    with Project.building(project_path) as project:
        contents = read_qdpx(path, position_units=position_units)
        docs, codebook = contents.documents, contents.codebook
        assign_languages(docs, None, None)
        corpus = Corpus._from_documents(docs, unit=unit)
        if any(d.attributes for d in docs):
            merge_survey_attributes(corpus, docs)
        report = contents.report  # it counts the codings skipped below (no code book, or a code not in it)
        records, skipped, split = _imported_decisions(contents.selections, corpus.segments, codebook)
        if split:  # qualcode codes turns: said in the report, never silently
            row = pd.DataFrame([{"what": "a coding that runs across several speaker turns", "count": split,
                                 "outcome": "changed", "why": "qualcode codes within turns: it is coded on each turn "
                                 "it covers (the speaker labels between are not coded), its memo on the first",
                                 "where": ""}])
            report = pd.concat([report, row.astype(report.dtypes.to_dict())], ignore_index=True) if len(report) \
                else row
        summary = {"file": path.name, "origin": contents.origin, "positions": contents.positions,
                   "report": report.astype(object).where(report.notna(), None).to_dict("records"),
                   "notes": contents.notes.astype(object).where(contents.notes.notna(), None).to_dict("records")}
        with project.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES ('name', ?)", (contents.name,))
            db.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (_IMPORT_KEY, json.dumps(summary)))
        project.add_corpus(corpus)
        if codebook is not None:
            project.add_codebook(codebook)
        project.log.append(records)
    if skipped:
        warnings.warn(f"{path}: {skipped} coding(s) refer to codes or sources that could not be read; not imported.",
                      QualcodeWarning, stacklevel=2)
    return Project.open(project_path)


# The meta key of what import_refi_qda kept besides the study: the file's name, origin, position reading, import
# report and notes (JSON). Kept in meta, the project's key/value table, so the file format does not change.
_IMPORT_KEY = "refi_import"


def _import_summary(project: Project) -> dict:
    rows = project.query("SELECT value FROM meta WHERE key = ?", (_IMPORT_KEY,))
    return json.loads(rows[0][0]) if rows else {}


@returns("import_report")
def import_report(project: Project) -> pd.DataFrame:
    """What the REFI-QDA import that made ``project`` did not take as it was: one row per kind.

    Each row says what (a Set, a picture source, a memo kept as a note, the
    reading of positions …), how many, the outcome (``not imported``,
    ``imported as note``, ``renamed``, ``changed``, ``converted``, ``guessed``),
    why and what to do, and where in the file (lines of the ``.qde``).

    Parameters
    ----------
    project : Project
        A project made by :func:`import_refi_qda` (any other has an empty report).

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> qc.import_report(qc.import_refi_qda("nvivo.qdpx", "nvivo.qualcode"))  # doctest: +SKIP
    """
    rows = _import_summary(project).get("report", [])
    if not rows:
        return empty_table("import_report")
    frame = pd.DataFrame(rows, columns=columns("import_report"))
    return frame.astype(dict.fromkeys(("what", "outcome", "why", "where"), "string") | {"count": "int64"})


@returns("imported_notes")
def imported_notes(project: Project) -> pd.DataFrame:
    """Memos another tool held with no coding to go on, kept by the REFI-QDA import that made ``project``.

    Annotations (a memo on words of a document, no code), source and case
    memos (per document), project memos and journals (``doc_id`` missing).
    Coding memos are not here: they are the decisions' ``memo``.

    Parameters
    ----------
    project : Project
        A project made by :func:`import_refi_qda` (any other has none).

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> qc.imported_notes(project).query("kind == 'annotation'")  # doctest: +SKIP
    """
    if isinstance(project, PseudonymizedProject):  # the original's notes, pseudonymized with the rest
        return project.notes
    rows = _import_summary(project).get("notes", [])
    if not rows:
        return empty_table("imported_notes")
    frame = pd.DataFrame(rows, columns=columns("imported_notes"))
    return frame.astype({c: "string" for c in columns("imported_notes") if c not in ("start", "end")}
                        | {"start": "Int64", "end": "Int64"})


def _imported_decisions(selections: pd.DataFrame, segments: pd.DataFrame,
                        codebook: Codebook | None) -> tuple[list[Decision], int, int]:
    """One manual decision per (selection, coding, overlapped segment); how many codings had no code; and how
    many codings ran across several segments (coded on each, the memo kept on the first piece only)."""
    version = codebook.version if codebook is not None else None
    # Per document, segments sorted by start (they do not overlap): each selection finds its segments by
    # bisection, so a file with many selections costs n log n, not selections × segments.
    by_doc = {}
    for doc_id, group in segments.sort_values(["doc_id", "start"]).groupby("doc_id", sort=False):
        by_doc[doc_id] = tuple(group[c].tolist() for c in ("segment_id", "start", "end", "text"))
    records = []
    skipped = split = 0
    for doc_id, start, end, code_id, who, memo, created in selections.itertuples(index=False, name=None):
        if code_id is None or codebook is None:
            skipped += 1
            continue
        ids, starts, ends, texts = by_doc.get(doc_id, ((), (), (), ()))
        k = bisect.bisect_right(ends, start)
        pieces = 0
        while k < len(ids) and starts[k] < end:
            seg_start, seg_end = starts[k], ends[k]
            part = clip((start, end), (seg_start, seg_end))
            if part is not None:
                # Each selection is its own coding: two selections of one code in one turn stay two. A memo is
                # written once: on the first piece of a selection that runs across turns.
                records.append(Decision.imported(
                    ids[k], code_id, who, doc_id=doc_id, quote=texts[k][slice(*to_segment(part, seg_start))],
                    span=to_log(part, (seg_start, seg_end)), created_at=created, memo=memo if not pieces else None,
                    codebook_version=version))
                pieces += 1
            k += 1
        split += pieces > 1
    return records, skipped, split


# -- evaluation (coders ↔ project) --------------------------------------------------------------------------------


def evaluate_project(project: Project, *, methods: Sequence[str] = METHODS_EVALUATED, k: int = 3, folds: int = 5,
                     curve: Sequence[int] = DEFAULT_CURVE, review: Sequence[int] = DEFAULT_REVIEW,
                     coder: str | None = None, seed: int = 0, embedder: str = "use",
                     llm: LLMCoder | None = None) -> CrossValidation:
    """How good would the suggestions have been on this project? Cross-validated against its human decisions.

    The gold coding is the project's current accept and manual decisions (an imported ``.qdpx`` coded in
    another tool arrives as manual decisions). The segments evaluated are the participant segments of the
    documents that have at least one decision (those someone read); a coded segment counts as positive for
    its codes, every other pair as negative. Folds are grouped by the participant role
    (:meth:`Project.roles`), else by document; ``grouped_by`` says which.

    Parameters
    ----------
    project : Project
    methods : sequence of str
        Among ``keyword``, ``embedding``, ``learned``, ``default`` (what :func:`suggest` gives); the
        prior, content-only and supervised baselines are always measured.
    k, folds, curve, review, seed, embedder
        See :func:`qualcode.coders.evaluate.cross_validate`.
    coder : str, optional
        Only this coder's decisions are the gold coding (default: everyone's, pooled).
    llm : LLMCoder, optional
        Also measure the LLM on your server, alone (``llm``) and fused with the others (``default+llm``), on
        the same folds (see :func:`~qualcode.coders.evaluate.cross_validate`). Its answers are kept in the
        project, so a re-run sends nothing new; a server failure is a note and the rest is still measured.

    Returns
    -------
    CrossValidation
        ``summary``, ``scores`` (per code), ``curve``, ``reliability``, ``grouped_by``, ``notes``.

    Raises
    ------
    ParameterError
        When the project has no accept or manual decision (of ``coder``), or none on participant turns.

    Examples
    --------
    >>> result = qc.evaluate_project(project, folds=5)  # doctest: +SKIP
    >>> result.summary[["system", "f1", "recall_at_k"]]  # doctest: +SKIP
    """
    decided = decisions(project, coder=coder)
    who = f" by {coder!r}" if coder else ""
    gold = coded(decided)
    if gold.empty:
        raise ParameterError(f"the project has no accepted or hand-coded segments{who} to evaluate against: "
                             "review suggestions (qualcode review export / apply), code by hand, or import a "
                             ".qdpx coded in another tool.")
    codebook = project.codebook()
    notes = []
    known = {c.id for c in codebook}
    unknown = gold[~gold["code_id"].isin(known)]
    if len(unknown):
        notes.append(f"{len(unknown)} coding(s) name codes not in the current codebook; not evaluated.")
        gold = gold[gold["code_id"].isin(known)]
    segments = project.segments
    read = set(decided["doc_id"].dropna())
    evaluated = segments[(segments["speaker_role"] == "participant") & segments["doc_id"].isin(read)]
    outside = gold[~gold["segment_id"].isin(set(evaluated["segment_id"]))]
    if len(outside):
        notes.append(f"{len(outside)} coding(s) on interviewer or unknown-speaker turns are not evaluated: the "
                     "coders suggest for participant turns only.")
    if evaluated.empty or len(outside) == len(gold):
        raise ParameterError(f"no accepted or hand-coded participant turn{who} to evaluate against; "
                             "the coders suggest for participant turns only.")
    evaluated = evaluated.reset_index(drop=True)
    column = project.roles().get("participant")
    groups = evaluated["doc_id"].astype(str)
    grouped_by = "document (no participant column: declare one with qualcode roles PROJECT --set participant=COLUMN)"
    if column and column in evaluated.columns:
        people = evaluated[column].astype("string")
        if people.nunique() >= 2:
            groups = people.fillna("document:" + evaluated["doc_id"].astype(str)).astype(str)
            grouped_by = f"participant (column {column})"
    cache = MemoryEmbeddingCache() if project.read_only else project.embedding_cache()
    if llm is not None and llm.cache is None and not project.read_only:
        llm = clone(llm).set_params(cache=project.llm_cache())  # the caller's coder is left as it was
    result = cross_validate(evaluated, codebook, gold, groups.to_numpy(), methods=methods, k=k, folds=folds,
                            curve=curve, review=review, seed=seed, embedder=embedder, cache=cache,
                            grouped_by=grouped_by, llm=llm)
    result.notes[:0] = notes
    return result
