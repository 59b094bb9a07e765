"""The orchestration layer: every step that needs a :class:`~qualcode.project.Project` across stages.

The core packages (``io``, ``corpus``, ``codebook``, ``coders``, ``analysis``, ``export``) take and return
tables and never see a Project; this module reads what they need from the project, calls them, and stores what
they return. ``batch.py`` strings these steps into a round; the CLI and notebooks call them directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .codebook import Codebook
from .coders import ensemble
from .coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K
from .errors import ParameterError
from .project import Project
from .review.decisions import decisions
from .schemas import returns

# -- suggestions (coders ↔ project) ------------------------------------------------------------------------------


@returns("suggestions")
def suggest(source: Project | pd.DataFrame, codebook: Codebook | None = None, *,
            methods: Sequence[str] = ("keyword", "embedding"), learn: bool | None = None,
            top_k: int = DEFAULT_TOP_K, min_score: float = DEFAULT_MIN_SCORE, embedder: str = "use",
            store: bool = True, documents: Sequence[str] | None = None, workers: int = 1,
            scheduler: str | None = None, progress: bool = False) -> pd.DataFrame:
    """Suggest codes in one call, for a Project or a segments table.

    Parameters
    ----------
    source : Project or DataFrame
        A project (its segments, its current codebook, its decisions and its
        embedding cache are used, and the suggestions are stored in it), or
        a segments table such as ``corpus.segments``.
    codebook : Codebook, optional
        Required with a segments table; defaults to the project's current codebook.
    methods : sequence of {"keyword", "embedding"}
        The zero-shot coders to combine.
    learn : bool, optional
        Add the learned coder (trained on the project's accepted and rejected
        decisions). Default: when the project holds decisions.
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
                                progress=progress)
    if not isinstance(source, Project):
        raise ParameterError("suggest() takes a Project or a segments DataFrame.")
    segments = source.segments
    codebook = codebook or source.codebook()
    result = ensemble.suggest(segments, codebook, decisions=decisions(source), methods=methods, learn=learn,
                              top_k=top_k, min_score=min_score, embedder=embedder,
                              cache=source.embedding_cache(), documents=documents, workers=workers,
                              scheduler=scheduler, progress=progress)
    if store:
        wanted = segments if documents is None else segments[segments["doc_id"].isin(set(documents))]
        source.add_suggestions(result, replace_segments=list(wanted["segment_id"]),
                               codebook_version=codebook.version)
    return result


# -- reports and exchange (export ↔ project) ----------------------------------------------------------------------
