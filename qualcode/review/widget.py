"""The review widget: decide on suggestions one at a time in a notebook.

:class:`ReviewQueue` holds the logic and needs no widget library: the
suggestions a coder has not decided yet, in reading order, each shown with
the interviewer's question before it and its evidence highlighted. Its
:meth:`~ReviewQueue.accept`, :meth:`~ReviewQueue.reject` and
:meth:`~ReviewQueue.other` write to the project at once (one transaction
each, ``source="widget"``), so closing the notebook mid-way loses nothing and
opening the queue again starts where the coder stopped.

:class:`ReviewWidget` draws a queue with ipywidgets (``pip install
"qualcode[notebook]"``): buttons, a code drop-down, a memo, a progress bar and
a shortcut box; :func:`review_widget` builds both in one call.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..coders import EnsembleCoder
from ..coders.active import QUEUE_ORDERS, learning_order
from ..errors import MissingDependencyError, ParameterError, QualcodeError
from ..project import Project
from ..schemas import check, check_lang, returns
from ..spans import clip, merge, to_segment
from ..spans import parse as parse_spans
from .decisions import decisions, insert, prepare, undecided
from .log import Decision
from .table import evidence_text, review_table

__all__ = [
    "SHORTCUTS",
    "ReviewItem",
    "ReviewProgress",
    "ReviewQueue",
    "ReviewWidget",
    "highlight_html",
    "review_widget",
]

#: Keys typed in the widget's shortcut box and the action each one runs.
SHORTCUTS = {"a": "accept", "r": "reject", "o": "other", "s": "skip", "b": "back", "v": "back"}

_TEXT = {
    "es": {"accept": "Aceptar", "reject": "Rechazar", "other": "Otro código", "skip": "Saltar", "back": "Volver",
           "question": "Pregunta previa", "no_question": "(sin pregunta previa)", "score": "puntaje",
           "evidence": "evidencia", "memo": "memo (opcional)", "choose": "elija un código",
           "shortcuts": ("atajos: escriba aquí a = aceptar · r = rechazar · o = otro código · s = saltar · "
                         "v = volver"),
           "decided": "decididas", "skipped": "saltadas", "of": "de", "done": "No queda nada por revisar.",
           "empty": "No hay sugerencias por revisar: todas están decididas, o falta qc.suggest(project).",
           "saved": "Guardado", "unknown_key": "tecla {key!r} sin acción; use a, r, o, s o v.",
           "pick_code": "Elija primero un código en la lista «otro código».", "already": "ya decidida aquí",
           "accept_done": "aceptada", "reject_done": "rechazada", "other_done": "rechazada, codificada como",
           "skip_done": "saltada (vuelve al final)"},
    "en": {"accept": "Accept", "reject": "Reject", "other": "Other code", "skip": "Skip", "back": "Back",
           "question": "Question before", "no_question": "(no question before)", "score": "score",
           "evidence": "evidence", "memo": "memo (optional)", "choose": "choose a code",
           "shortcuts": "shortcuts: type here a = accept · r = reject · o = other code · s = skip · b = back",
           "decided": "decided", "skipped": "skipped", "of": "of", "done": "Nothing left to review.",
           "empty": "No suggestions to review: all are decided, or run qc.suggest(project) first.",
           "saved": "Saved", "unknown_key": "key {key!r} does nothing; use a, r, o, s or b.",
           "pick_code": "Choose a code in the 'other code' list first.", "already": "already decided here",
           "accept_done": "accepted", "reject_done": "rejected", "other_done": "rejected, coded as",
           "skip_done": "skipped (comes back at the end)"},
}


def highlight_html(text: str, spans: Sequence[Sequence[int]] | None, *, tag: str = "mark") -> str:
    """HTML for ``text`` with ``spans`` wrapped in ``<mark>``, everything else escaped.

    Parameters
    ----------
    text : str
        The words to show (participant data: never trusted as HTML).
    spans : sequence of (start, end)
        Offsets within ``text``; overlapping or touching spans are merged and
        parts outside ``text`` are ignored.
    tag : str
        The element that marks a span.

    Examples
    --------
    >>> highlight_html("Confío en <ellas> & más", [(0, 6), (10, 17), (12, 14)])
    '<mark>Confío</mark> en <mark>&lt;ellas&gt;</mark> &amp; más'
    """
    inside = (clip(span, (0, len(text))) for span in (spans or ()))
    merged = merge(span for span in inside if span is not None)
    out, at = [], 0
    for start, end in merged:
        out.append(html.escape(text[at:start]))
        out.append(f"<{tag}>{html.escape(text[start:end])}</{tag}>")
        at = end
    out.append(html.escape(text[at:]))
    return "".join(out)


class ReviewItem(NamedTuple):
    """One suggestion as the reviewer sees it.

    ``spans`` are the suggestion's spans in document offsets (like
    ``suggestions.spans`` and ``segments.start``/``end``), clipped to the
    segment; ``quote`` is the segment's text. ``quote_html`` (``quote`` with
    the spans marked) and ``question_html`` are escaped and safe to display. ``status`` is what
    happened to it in this queue: ``None``, ``"accept"``, ``"reject"``,
    ``"other"`` or ``"skip"``.
    """

    position: int
    segment_id: str
    doc_id: str
    speaker: str | None
    code_id: str
    code_label: str
    code_definition: str | None
    method: str | None
    score: float | None
    evidence: str | None
    question: str | None
    quote: str
    spans: list[tuple[int, int]]
    quote_html: str
    question_html: str | None
    status: str | None


class ReviewProgress(NamedTuple):
    """Where a queue stands: ``decided``, ``skipped`` (and not decided since) and ``total`` suggestions."""

    decided: int
    skipped: int
    total: int

    @property
    def remaining(self) -> int:
        """Suggestions not decided yet, skipped ones included."""
        return self.total - self.decided


class ReviewQueue:
    """The suggestions one coder still has to decide, one at a time, saved as they are decided.

    Parameters
    ----------
    project : Project
        Where the suggestions come from and the decisions go.
    coder : str
        Who decides. Suggestions this coder has already decided (accepted,
        rejected, or coded by hand on the same segment) are left out.
    suggestions : DataFrame, optional
        Rows with ``segment_id`` and ``code_id`` (and optionally ``method``,
        ``score``, ``evidence``, ``spans`` in document offsets,
        ``codebook_version``), e.g. the result of ``qc.suggest``. Default:
        the suggestions stored in the project for its current codebook.
    lang : {"es", "en"}
        Language of code labels (and of the widget's words).
    order : {"document", "score", "learn"}
        ``"document"``: in reading order, document by document, best
        suggestion first within a turn. ``"score"``: highest score first.
        ``"learn"``: what teaches the learned coder most first, uncertain
        (score near 0.5) and unlike the segments before it
        (:func:`qualcode.coders.active.learning_order`).
    question_chars : int
        The interviewer's question is cut to this many characters.
    learner : EnsembleCoder, optional
        A fitted :class:`~qualcode.coders.EnsembleCoder`: after every decision it learns from the
        project's decisions (``learner.update``, no re-encoding) and the items still to decide get its
        new scores.

    Notes
    -----
    ``skip`` saves nothing: the suggestion stays undecided and comes back
    after the others. ``other(code_id)`` records that the suggested code is
    wrong and another one applies: it rejects the suggested code and codes
    the segment by hand with ``code_id``, both in one transaction (as ``other
    code`` does in a review workbook). ``back`` shows the previous item again;
    deciding it again appends a new decision, which becomes the current one.

    Examples
    --------
    >>> queue = ReviewQueue(project, coder="ana", lang="es")  # doctest: +SKIP
    >>> queue.current().quote_html  # doctest: +SKIP
    >>> queue.accept(); queue.progress  # doctest: +SKIP
    ReviewProgress(decided=1, skipped=0, total=46)
    """

    def __init__(self, project: Project, coder: str, *, suggestions: pd.DataFrame | None = None,
                 lang: str = "es", order: str = "document", question_chars: int = 600,
                 learner: EnsembleCoder | None = None) -> None:
        if not isinstance(coder, str) or not coder.strip():
            raise ParameterError("coder must be a non-empty name, e.g. ReviewQueue(project, coder='ana').")
        check_lang(lang)
        if order not in QUEUE_ORDERS:
            raise ParameterError(f"order must be one of {', '.join(map(repr, QUEUE_ORDERS))}, not {order!r}.")
        self.project = project
        self.coder = coder.strip()
        self.lang = lang
        self.order = order
        self.learner = learner
        codebook = project.codebook()
        other_lang = "en" if lang == "es" else "es"
        self.codes: dict[str, str] = {c.id: c.label.get(lang) or c.label.get(other_lang) or c.id for c in codebook}
        self._definitions = {c.id: c.definition.get(lang) or c.definition.get(other_lang) or None for c in codebook}
        self._table = self._build(suggestions, codebook.version, question_chars)
        self._status: list[str | None] = [None] * len(self._table)
        self._history: list[int] = []
        self._position = 0

    # -- building -------------------------------------------------------------------
    def _build(self, suggestions: pd.DataFrame | None, version: str, question_chars: int) -> pd.DataFrame:
        if suggestions is None:
            rows = self.project.suggestions
            # Suggestions made against an older codebook may name codes that no longer exist.
            rows = rows[rows["codebook_version"] == version]
        else:
            if not isinstance(suggestions, pd.DataFrame):
                raise ParameterError("suggestions must be a DataFrame with segment_id and code_id "
                                     "(e.g. the result of qc.suggest), or None for the project's stored ones.")
            check(suggestions, "suggestions", columns=["segment_id", "code_id"], values=False, where="suggestions")
            rows = suggestions
        rows = rows.copy()
        wanted = ["segment_id", "code_id", "method", "score", "evidence", "spans", "codebook_version", "created_at"]
        for column in wanted:
            if column not in rows.columns:
                rows[column] = None
        rows = rows[wanted]
        unknown = sorted(set(rows["code_id"]) - set(self.codes))
        if unknown:
            raise ParameterError(f"code id(s) {unknown[:5]} are not in the project's current codebook; "
                                 "re-run qc.suggest(project) or pass suggestions made with this codebook.")
        table = review_table(self.project, rows, question_chars=question_chars)
        # One item per (segment, code): the newest and best row when several methods were stored.
        table["_score"] = pd.to_numeric(table["score"], errors="coerce").fillna(-1.0)
        table["_created"] = table["created_at"].astype("string").fillna("")
        table = table.sort_values(["_created", "_score"], ascending=False, kind="stable")
        table = table.drop_duplicates(["segment_id", "code_id"], keep="first")
        table = undecided(self.project, table, self.coder)
        if self.order == "score":
            keys, ascending = ["_score", "reading_order", "code_id"], [False, True, True]
        else:
            keys, ascending = ["reading_order", "_score", "code_id"], [True, False, True]
        table = table.sort_values(keys, ascending=ascending, kind="stable").reset_index(drop=True)
        if self.order == "learn":
            table = table.iloc[learning_order(table)].reset_index(drop=True)
        return table

    # -- reading ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._table)

    @property
    @returns("review_queue")
    def table(self) -> pd.DataFrame:
        """The whole queue, one row per suggestion to review:

        {columns}
        """
        out = self._table[["segment_id", "doc_id", "code_id", "method", "score"]].copy()
        out["status"] = pd.array(self._status, dtype="string")
        return out

    @property
    def position(self) -> int:
        """Index of the current item in :attr:`table` (``len(queue)`` once every item is decided)."""
        return self._position

    @property
    def finished(self) -> bool:
        """Whether every suggestion in the queue is decided."""
        return self._position >= len(self._table)

    @property
    def can_go_back(self) -> bool:
        """Whether :meth:`back` has a previous item to show."""
        return bool(self._history)

    @property
    def progress(self) -> ReviewProgress:
        """How many suggestions are decided and skipped, out of how many."""
        decided = sum(s in ("accept", "reject", "other") for s in self._status)
        skipped = sum(s == "skip" for s in self._status)
        return ReviewProgress(decided, skipped, len(self._status))

    def item(self, position: int) -> ReviewItem:
        """The item at ``position`` in the queue (see :meth:`current`)."""
        if not 0 <= position < len(self._table):
            raise ParameterError(f"position {position} is outside the queue (0 to {len(self._table) - 1}).")
        row = self._table.iloc[position]
        start, end = int(row["start"]), int(row["end"])
        # What falls inside the segment (a hand-made suggestions table may carry anything in ``spans``).
        inside = (clip(span, (start, end)) for span in parse_spans(row["spans"]))
        spans = sorted({span for span in inside if span is not None})
        question = row["question"] if isinstance(row["question"], str) else None
        score = None if pd.isna(row["score"]) else float(row["score"])
        return ReviewItem(
            position=position, segment_id=row["segment_id"], doc_id=str(row["doc_id"]),
            speaker=row["speaker"] if isinstance(row["speaker"], str) else None, code_id=row["code_id"],
            code_label=self.codes[row["code_id"]], code_definition=self._definitions.get(row["code_id"]),
            method=row["method"] if isinstance(row["method"], str) else None, score=score,
            evidence=evidence_text(row["evidence"]), question=question, quote=row["text"], spans=spans,
            quote_html=highlight_html(row["text"], [to_segment(span, start) for span in spans]),
            question_html=html.escape(question) if question is not None else None, status=self._status[position])

    def current(self) -> ReviewItem | None:
        """The suggestion to decide now, or ``None`` when nothing is left."""
        return None if self.finished else self.item(self._position)

    # -- deciding ---------------------------------------------------------------------
    def _rows(self, position: int) -> pd.DataFrame:
        return self._table.iloc[[position]][["segment_id", "code_id", "method", "score", "codebook_version"]]

    def _require_current(self) -> int:
        if self.finished:
            raise ParameterError("the queue is finished: every suggestion is decided. Use back() to change one, "
                                 "or build a new queue.")
        return self._position

    def _decide(self, position: int, status: str, records: list[Decision]) -> pd.DataFrame:
        saved = insert(self.project, records)
        self._status[position] = status
        self._learn()
        self._move_on(position)
        return saved

    def _learn(self) -> None:
        """Let the learner learn from every decision so far and give the undecided items its new scores."""
        if self.learner is None:
            return
        self.learner.update(decisions(self.project))
        pending = [i for i, status in enumerate(self._status) if status in (None, "skip")]
        if not pending:
            return
        ids = set(self._table["segment_id"].iloc[pending])
        segments = self.project.segments
        fresh = self.learner.scores(segments[segments["segment_id"].isin(ids)])
        new = fresh.set_index(["segment_id", "code_id"])["score"]
        rows = self._table.iloc[pending]
        keys = pd.MultiIndex.from_arrays([rows["segment_id"], rows["code_id"]])
        found = new.reindex(keys).to_numpy()
        known = [(i, float(v)) for i, v in zip(pending, found, strict=True) if not pd.isna(v)]
        if known:
            scores = self._table["score"].copy()
            scores.iloc[[i for i, _ in known]] = [v for _, v in known]
            self._table["score"] = scores

    def accept(self, memo: str | None = None) -> pd.DataFrame:
        """Accept the current suggestion: one ``accept`` decision, saved now; return it."""
        position = self._require_current()
        return self._decide(position, "accept", prepare(self.project, "accept", self._rows(position),
                                                        coder=self.coder, memo=memo, source="widget"))

    def reject(self, memo: str | None = None) -> pd.DataFrame:
        """Reject the current suggestion: one ``reject`` decision, saved now; return it."""
        position = self._require_current()
        return self._decide(position, "reject", prepare(self.project, "reject", self._rows(position),
                                                        coder=self.coder, memo=memo, source="widget"))

    def other(self, code_id: str, memo: str | None = None) -> pd.DataFrame:
        """Another code applies instead: reject the suggested code and code the segment with ``code_id``.

        Both decisions are saved in one transaction; both are returned.

        Raises
        ------
        ParameterError
            If ``code_id`` is not in the codebook, or is the suggested code.
        """
        position = self._require_current()
        suggested = self._table.iloc[position]["code_id"]
        if code_id not in self.codes:
            raise ParameterError(f"code {code_id!r} is not in the project's codebook; see project.codes.")
        if code_id == suggested:
            raise ParameterError(f"{code_id!r} is the suggested code; use accept() instead of other().")
        rows = self._rows(position)
        records = prepare(self.project, "reject", rows, coder=self.coder, memo=memo, source="widget")
        manual = rows[["segment_id"]].assign(code_id=code_id)
        records += prepare(self.project, "manual", manual, coder=self.coder, memo=memo, source="widget")
        return self._decide(position, "other", records)

    def skip(self) -> ReviewItem | None:
        """Leave the current suggestion undecided (nothing is saved); it comes back after the others."""
        position = self._require_current()
        if self._status[position] is None:
            self._status[position] = "skip"
        self._move_on(position)
        return self.current()

    def back(self) -> ReviewItem | None:
        """Show the previously shown suggestion again (``None`` and no move at the start)."""
        if not self._history:
            return None
        self._position = self._history.pop()
        return self.current()

    def _move_on(self, position: int) -> None:
        """Go to the next undecided item: first those never seen, then skipped ones, in queue order."""
        self._history.append(position)
        n = len(self._status)
        after = [(position + k) % n for k in range(1, n + 1)]
        for wanted in (None, "skip"):
            for candidate in after:
                if self._status[candidate] == wanted:
                    self._position = candidate
                    return
        self._position = n


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise MissingDependencyError(
            'the review widget needs ipywidgets: pip install "qualcode[notebook]" (then restart the kernel). '
            "Without it, review in Excel with qc.export_review_sheet.") from None
    return ipywidgets


class ReviewWidget:
    """A notebook widget that walks one coder through a :class:`ReviewQueue`.

    Shows the interviewer's question, the quote with its evidence marked, the
    suggested code (label, definition, method, score, evidence) and the
    progress; buttons accept, reject, choose another code from a drop-down, skip
    or go back, and every decision is saved to the project at once.

    Keyboard shortcuts: click into the shortcut box (the last line) and type
    ``a`` (accept), ``r`` (reject), ``o`` (the code chosen in the drop-down),
    ``s`` (skip) or ``b``/``v`` (back). Each letter acts once and the box
    clears itself, so it works in JupyterLab and Notebook without any
    extension beyond ipywidgets.

    Parameters
    ----------
    queue : ReviewQueue
        What to review; its ``lang`` sets the widget's words.

    Attributes
    ----------
    box : ipywidgets.VBox
        The widget itself; it is what displays (put it in your own layouts).
    accept_button, reject_button, other_button, skip_button, back_button : ipywidgets.Button
    other_code : ipywidgets.Dropdown
        Codes of the codebook for "other code".
    memo : ipywidgets.Text
        Kept with the next decision, then cleared.
    shortcuts : ipywidgets.Text
        The shortcut box.

    Examples
    --------
    >>> ReviewWidget(ReviewQueue(project, coder="ana"))  # doctest: +SKIP
    """

    def __init__(self, queue: ReviewQueue) -> None:
        w = _ipywidgets()
        self.queue = queue
        text = _TEXT[queue.lang]
        self._text = text
        self.progress_bar = w.IntProgress(value=0, min=0, max=max(len(queue), 1), layout=w.Layout(width="240px"))
        self.progress_text = w.HTML()
        self.question = w.HTML()
        self.quote = w.HTML()
        self.details = w.HTML()
        self.status = w.HTML()

        keys = {action: key for key, action in reversed(SHORTCUTS.items())}
        keys["back"] = "b" if queue.lang == "en" else "v"

        def button(key: str, style: str) -> Any:
            b = w.Button(description=text[key], button_style=style, tooltip=f"{text[key]} ({keys[key]})")
            b.add_class(f"qualcode-{key}")
            return b

        self.accept_button = button("accept", "success")
        self.reject_button = button("reject", "danger")
        self.skip_button = button("skip", "")
        self.back_button = button("back", "")
        self.other_button = button("other", "warning")
        # A first entry that means "none chosen", so the empty drop-down says what it is for.
        options: list[tuple[str, str | None]] = [(f"— {text['choose']} —", None)]
        options += [(f"{label} ({code_id})", code_id) for code_id, label in queue.codes.items()]
        self.other_code = w.Dropdown(options=options, value=None, layout=w.Layout(width="420px"))
        self.other_code.add_class("qualcode-other-code")
        self.memo = w.Text(placeholder=text["memo"], layout=w.Layout(width="420px"))
        self.shortcuts = w.Text(placeholder=text["shortcuts"], continuous_update=True,
                                layout=w.Layout(width="620px"))
        self.shortcuts.add_class("qualcode-shortcuts")

        self.accept_button.on_click(lambda _: self._act("accept"))
        self.reject_button.on_click(lambda _: self._act("reject"))
        self.other_button.on_click(lambda _: self._act("other"))
        self.skip_button.on_click(lambda _: self._act("skip"))
        self.back_button.on_click(lambda _: self._act("back"))
        self.shortcuts.observe(self._on_key, names="value")

        self.box = w.VBox([
            w.HBox([self.progress_bar, self.progress_text]),
            self.question, self.quote, self.details,
            w.HBox([self.accept_button, self.reject_button, self.skip_button, self.back_button]),
            w.HBox([self.other_code, self.other_button]),
            self.memo, self.status, self.shortcuts,
        ])
        self.box.add_class("qualcode-review")
        self._render()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Displaying the object displays its box, so the last line of a cell can be the widget.
        return self.box._repr_mimebundle_(**kwargs)

    # -- actions -----------------------------------------------------------------------
    def _act(self, action: str) -> None:
        t, queue = self._text, self.queue
        item = queue.current()
        memo = self.memo.value.strip() or None
        try:
            if action == "back":
                queue.back()
                message = ""
            elif item is None:
                message = t["done"]
            elif action == "skip":
                queue.skip()
                message = f"«{html.escape(item.code_label)}» {t['skip_done']}"
            elif action == "other":
                chosen = self.other_code.value
                if chosen is None:
                    self._render(f"<span style='color:#b00'>{html.escape(t['pick_code'])}</span>")
                    return
                saved = queue.other(chosen, memo=memo)
                message = (f"{t['saved']}: «{html.escape(item.code_label)}» {t['other_done']} "
                           f"«{html.escape(queue.codes[chosen])}» (#{', #'.join(map(str, saved['decision_id']))})")
            else:
                saved = getattr(queue, action)(memo=memo)
                message = (f"{t['saved']}: «{html.escape(item.code_label)}» {t[action + '_done']} "
                           f"(#{saved['decision_id'].iloc[0]})")
        except QualcodeError as exc:
            # In a notebook a callback's exception goes to a log panel few people open: show it here.
            self._render(f"<span style='color:#b00'>{html.escape(str(exc))}</span>")
            return
        if action in ("accept", "reject", "other"):
            self.memo.value = ""
            self.other_code.value = None
        self._render(message)

    def _on_key(self, change: dict[str, Any]) -> None:
        typed = change["new"]
        if not typed:
            return
        # Clear first: the reset fires this observer again with "", which returns above.
        self.shortcuts.value = ""
        for key in typed.strip().lower():
            action = SHORTCUTS.get(key)
            if action is None:
                self._render(html.escape(self._text["unknown_key"].format(key=key)))
            else:
                self._act(action)

    # -- drawing -----------------------------------------------------------------------
    def _render(self, message: str = "") -> None:
        t, queue = self._text, self.queue
        done = queue.progress
        self.progress_bar.max = max(done.total, 1)
        self.progress_bar.value = done.decided
        self.progress_text.value = (f"&nbsp;{done.decided} {t['of']} {done.total} {t['decided']}"
                                    + (f" · {done.skipped} {t['skipped']}" if done.skipped else ""))
        item = queue.current()
        finished = item is None
        for b in (self.accept_button, self.reject_button, self.skip_button, self.other_button):
            b.disabled = finished
        self.back_button.disabled = not queue.can_go_back
        self.status.value = f"<small>{message}</small>" if message else ""
        if item is None:  # finished
            self.question.value = ""
            self.quote.value = f"<b>{html.escape(t['done'] if done.total else t['empty'])}</b>"
            self.details.value = ""
            return
        question = item.question_html or f"<i>{html.escape(t['no_question'])}</i>"
        self.question.value = (f"<div style='color:#555'><b>{html.escape(t['question'])}:</b> "
                               f"<span style='white-space:pre-wrap'>{question}</span></div>")
        who = html.escape(f"{item.doc_id} · {item.speaker or '?'}")
        self.quote.value = (f"<div style='color:#777;font-size:90%'>{who}</div>"
                            "<div class='qualcode-quote' style='white-space:pre-wrap;border-left:4px solid #2f5597;"
                            f"padding:4px 10px;margin:4px 0;font-size:110%'>{item.quote_html}</div>")
        facts = [f"{t['score']} {item.score:.2f}" if item.score is not None else None, item.method]
        lines = [f"<b>{html.escape(item.code_label)}</b> <code>{html.escape(item.code_id)}</code> · "
                 + html.escape(" · ".join(f for f in facts if f))]
        if item.status in ("accept", "reject", "other"):
            lines[0] += f" · <i>{html.escape(t['already'])}: {html.escape(t[item.status + '_done'])}</i>"
        if item.code_definition:
            lines.append(f"<span style='color:#555'>{html.escape(item.code_definition)}</span>")
        if item.evidence:
            lines.append(f"{html.escape(t['evidence'])}: {html.escape(item.evidence)}")
        self.details.value = "<br>".join(lines)


def review_widget(project: Project | str | Path, coder: str, *, lang: str = "es",
                  suggestions: pd.DataFrame | None = None, order: str = "document") -> ReviewWidget:
    """A widget to review suggestions one at a time in a notebook, each decision saved at once.

    Parameters
    ----------
    project : Project or path
        The project (a path is opened).
    coder : str
        Who decides; suggestions this coder already decided are left out.
    lang : {"es", "en"}
        Words of the widget and code labels.
    suggestions : DataFrame, optional
        What to review (default: the project's stored suggestions for its
        current codebook); see :class:`ReviewQueue`.
    order : {"document", "score", "learn"}
        Reading order, highest score first, or what teaches the learned coder most first (see :class:`ReviewQueue`).

    Returns
    -------
    ReviewWidget
        Displays itself as the last line of a cell; ``.queue`` holds the logic.

    Raises
    ------
    MissingDependencyError
        Without ipywidgets (``pip install "qualcode[notebook]"``).

    Examples
    --------
    >>> qc.suggest(project)  # doctest: +SKIP
    >>> qc.review_widget(project, coder="ana")  # doctest: +SKIP
    """
    _ipywidgets()  # before any work, so a missing dependency is the first thing said
    if not isinstance(project, Project):
        project = Project.open(project)
    return ReviewWidget(ReviewQueue(project, coder, suggestions=suggestions, lang=lang, order=order))
