"""LLMCoder: a language model on the team's own OpenAI-compatible server codes each segment with the codebook.

What is sent
    To the one URL given (nothing else is contacted; see :mod:`qualcode.io.chat`), one request per distinct
    participant segment: the model name; a system message with the coding instructions and the codebook's
    description, code ids, labels, definitions, inclusion and exclusion criteria and up to
    ``codebook_examples`` example quotes per code, in the segment's language (the other language where a
    field is empty); a user message with the team's nearest accepted examples (few-shot, below), the
    interviewer's question before the segment (its last :data:`QUESTION_CHARS` characters) and the segment's
    text.
    Nothing else: no document or participant names, no attributes.
The answer
    JSON ``{"codes": [{"code_id", "quote", "reason", "confidence"}]}``, asked for as a JSON schema where the
    server supports it (JSON mode or plain text where not) and read tolerantly (:func:`read_answer`:
    reasoning blocks, code fences, prose around the object, trailing commas). An answer cut off at the token
    limit (``finish_reason`` ``length``, or JSON that stops midway: :func:`answer_cut`) is neither used nor
    kept: a re-run asks again.
Checks
    A code not in the codebook is refused; a quote is looked for in the segment (:func:`locate`: case,
    white space, typographic quotes and dashes, and end punctuation do not count; an ellipsis may join
    pieces; fuzzy only for quotes of at least :data:`FUZZY_MIN_CHARS` characters differing in at most
    ``100 − FUZZY_MIN_RATIO`` % of them). A quote not found is dropped; each is counted in
    :attr:`LLMCoder.report_` (``hallucination_rate``) and an :class:`~qualcode.errors.LLMWarning` says so.
    The words found become the suggestion's ``spans`` (document offsets) and evidence.
Scores (and how they fuse)
    For each segment it answered, the model's answer puts every code at one of :data:`LEVELS`: the
    confidence it stated (high, medium, low) for a code it chose with a quote found in the text, else
    ``none``. A level's score is the share of such (segment, code) pairs people coded: before any
    decision the documented prior :data:`PRIOR_SCORES`; after, the posterior mean given the decisions on
    segments the model answered before (:func:`calibration`, a beta prior worth :data:`PRIOR_WEIGHT`
    pairs). Scores are therefore probabilities, and a code the model looked at and left out is evidence
    against it: beside other coders (``min_score=0``, as an ensemble sets it) every code of an answered
    segment gets a row, and the fusion (:mod:`qualcode.coders.fusion`, evidence ``other``) starts from the
    model's calibrated probability and adds the keyword and embedding evidence to it; its weight is then
    fitted on the project's decisions like every coder's. Segments not answered (the server was down) get
    no row: no evidence either way. Alone, the coder returns the chosen codes (:data:`MIN_SCORE`).
Few-shot
    From the decisions (accepted or coded by hand) given to ``fit``: per code, the examples nearest to the
    segment (TF-IDF cosine over words, no model), at most ``few_shot_per_code`` per code and
    ``few_shot_chars`` characters in all, nearest first. The segment's own decisions are never shown.
Cache
    Each answer is kept by a hash of everything the answer depends on: model, :data:`PROMPT_VERSION`,
    codebook version, language, the segment's text, its question and the examples shown. A re-run sends
    nothing already answered; answers that could not be read are not kept (a re-run asks again), nor answers
    with no usable evidence (codes proposed, none with a quote found in the segment: a translation, a
    paraphrase), which count neither as suggestions nor as a ``none`` for the calibration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import sys
import threading
import time
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ..codebook import Codebook
from ..corpus import questions
from ..errors import (
    LLMContextError,
    LLMError,
    LLMInterrupted,
    LLMModelError,
    LLMSkippedWarning,
    LLMUnavailableError,
    LLMWarning,
    ParameterError,
)
from ..io.chat import BACKOFF_SECONDS, RETRIES, TIMEOUT_SECONDS, Cancelled, ChatClient, ChatReply, check_base_url
from ..messages import counted
from ..nlp.normalize import fold_fast, fold_label
from ..parallel import current
from ..progress import progress
from ..schemas import CODED, LANGS, check, returns, takes
from ..spans import to_document
from .base import SEGMENTS_IN, BaseCoder, CoderTags, participant_units, register_coder, typed_suggestions

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "ANSWER_LEVELS",
    "CODEBOOK_EXAMPLES",
    "CONCURRENCY",
    "CONSECUTIVE_FAILURES_FATAL",
    "CONTEXT_ERRORS_FATAL",
    "FEW_SHOT_CHARS",
    "FUZZY_MIN_CHARS",
    "FUZZY_MIN_RATIO",
    "LEVELS",
    "LEVEL_WORDS",
    "MAX_ANSWER_TOKENS",
    "MIN_SCORE",
    "PRIOR_SCORES",
    "PRIOR_WEIGHT",
    "PROMPT_VERSION",
    "LLMCoder",
    "LLMReport",
    "MemoryResponseCache",
    "ResponseCache",
    "answer_cut",
    "answer_level",
    "calibration",
    "locate",
    "read_answer",
]

#: Changes whenever the instructions, the codebook layout or the answer schema change: cached answers to an
#: older prompt are then not reused.
PROMPT_VERSION = "llm-1"
#: Requests in flight at once. Ollama answers up to 4 requests of one model in parallel by default
#: (OLLAMA_NUM_PARALLEL) and llama.cpp's server as many as its slots; more only wait in the server's queue,
#: where their time counts against the timeout.
CONCURRENCY = 4
#: Example quotes per code taken from the codebook: two show the code's range; more make the prompt (sent
#: with every segment) longer than the small contexts local servers start with.
CODEBOOK_EXAMPLES = 2
#: Characters of few-shot examples from the team's decisions per request, about 600 tokens: a handful of
#: quotes, small beside the codebook.
FEW_SHOT_CHARS = 2400
#: Few-shot examples per code, nearest first.
FEW_SHOT_PER_CODE = 2
#: A few-shot example longer than this is cut (its first words show how the team used the code).
EXAMPLE_CHARS = 400
#: The interviewer's turn before the segment is cut to its last this many characters (a long turn ends with
#: the question the segment answers; what comes before is often a comment on the last answer).
QUESTION_CHARS = 600
#: A quote found only approximately must be at least this long: in a short quote one changed word is
#: another claim, and short quotes are copied exactly by every model we know of.
FUZZY_MIN_CHARS = 20
#: ... and match a stretch of the segment at this rapidfuzz partial ratio or above: at most 4 % of the
#: characters differ (a typo, a dropped accent or comma, ``construyendo`` for ``construyéndose``); a
#: paraphrase scores near 80 and is dropped.
FUZZY_MIN_RATIO = 96.0
#: The confidence levels a model states, most confident first.
ANSWER_LEVELS = ("high", "medium", "low")
#: The words (and numbers) a model may state a confidence in, read as one of :data:`ANSWER_LEVELS`: the
#: schema asks for the English words, but a model writing in the segment's language often answers in Spanish,
#: and a server without JSON-schema support may get a number. Accents and case do not count. A number from 0
#: to 1 is read in thirds. Anything else is read as ``medium`` and counted (``n_unknown_level``).
LEVEL_WORDS = {"high": "high", "alta": "high", "alto": "high", "elevada": "high", "elevado": "high",
               "medium": "medium", "media": "medium", "medio": "medium", "moderate": "medium",
               "moderada": "medium", "moderado": "medium", "mid": "medium",
               "low": "low", "baja": "low", "bajo": "low"}
#: ... and ``none``: a code the model did not choose for a segment it answered (or chose with a quote that
#: is not in the segment: an unsupported claim counts as no claim).
LEVELS = (*ANSWER_LEVELS, "none")
#: What each level scores before any decision: the share of such (segment, code) pairs a person would code.
#: Assumptions, not measurements (no model was measured here). A stated "high" is taken to be right two
#: times in three, somewhat below what GPT-4 reached with a codebook (Cohen's κ ≥ 0.6 on most codes, Dunivin
#: 2024), as the small local models a team runs usually do worse; "medium" and "low" step down from it. A
#: code not chosen scores 0.01: in the sample's human coding 2.5 % of (participant turn, code) pairs are
#: coded (435 of 290 × 60), and a model finding about 60 % of them leaves some 40 % of that rate behind.
PRIOR_SCORES = {"high": 0.6, "medium": 0.45, "low": 0.3, "none": 0.01}
#: How many decided (segment, code) pairs each prior is worth: a chosen level's meaning moves after a few
#: decisions on such suggestions; "none" is a rate of about 1 %, which needs some hundreds of pairs to
#: read (300: five coded segments × 60 codes).
PRIOR_WEIGHT = {"high": 5.0, "medium": 5.0, "low": 5.0, "none": 300.0}
#: The default cut of the coder alone: above "none" (0.01), below every chosen level, so alone it returns
#: the codes the model chose, unless the decisions show that a level is almost never coded.
MIN_SCORE = 0.05
#: The longest answer asked for, in tokens: a dozen codes with a quote and a sentence each take under 1,000;
#: a model that runs on past this is cut (and the answer read as far as it got).
MAX_ANSWER_TOKENS = 2048
#: No tokenizer packs more than this many characters of Spanish or English prose into one token (most
#: pack about 4): a server reporting fewer prompt tokens than characters / 8 has cut the prompt (Ollama
#: silently keeps only its context length, 2,048 or 4,096 tokens by default).
CHARS_PER_TOKEN_MAX = 8
#: After this many segments that do not fit the model's context, the codebook itself does not fit: the
#: remaining segments are not sent.
CONTEXT_ERRORS_FATAL = 3
#: A segment whose request fails (an empty reply, a 5xx after every retry, no answer in time) is skipped and
#: the batch goes on; after this many failed segments in a row the server is taken to be failing as a whole
#: (a crashed model, a wrong key) and the remaining segments are not sent. Three: one or two failures in a
#: row happen to a busy server; three in a row at four requests in flight is most of what was out.
CONSECUTIVE_FAILURES_FATAL = 3
#: Codes read from one answer; the rest are dropped and counted. A segment with more than a few codes is
#: rare; an answer with hundreds is a model looping, and checking each quote costs time.
MAX_CODES_PER_ANSWER = 30
#: Seconds that answers already in flight when the user presses Ctrl-C are waited for (and kept) before the
#: interrupt goes on: a local model answers in seconds to minutes, and a user who pressed Ctrl-C expects the
#: prompt back at once; what is still out is asked again by the next run.
INTERRUPT_GRACE_SECONDS = 3.0
#: The reason shown in the evidence is cut to this many characters.
REASON_CHARS = 240
#: A refused quote is kept in the report's ``dropped`` table cut to this many characters (a runaway answer's
#: quote can be megabytes).
DROPPED_QUOTE_CHARS = 400

_ELLIPSIS = re.compile(r"\s*(?:\[\s*(?:\.\.\.|…)\s*\]|\(\s*(?:\.\.\.|…)\s*\)|\.\.\.+|…)\s*")
_EDGE = " .,;:!?¡¿\"'()[]-"
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_LANG_NAMES = {"es": "Spanish", "en": "English"}
_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep
# Segments compared with the examples at once: a block's dense similarity rows stay under ~40 MB even with
# 10,000 accepted examples.
_NEAREST_BLOCK = 512

INSTRUCTIONS = """\
You are a qualitative researcher applying a deductive codebook to one segment of an interview transcript.
Apply a code only when the segment itself meets the code's definition and inclusion criteria, and not its
exclusion criteria. Prefer the most specific code that fits. Many segments get no code; most get one or two.
Return an empty list when no code applies.
For every code you apply give:
- code_id: exactly one of the ids listed in the codebook below;
- quote: the shortest passage of the segment that shows the code, copied character for character from the
  segment (same words, same language, no paraphrase, no translation);
- reason: one short sentence saying how the passage meets the code's definition;
- confidence: high, medium or low.
The interviewer's question is context only: never quote it and never code it.
Answer with JSON only, in this form: {"codes": [{"code_id": "...", "quote": "...", "reason": "...",
"confidence": "high"}]}"""


@runtime_checkable
class ResponseCache(Protocol):
    """Where the LLM coder keeps answers: ``get(model, keys)`` returns those it holds, ``put(model, items)``.

    Implementations: :class:`MemoryResponseCache` and the project's (``project.llm_cache()``).
    """

    def get(self, model: str, keys: Sequence[str]) -> dict[str, str]: ...

    def put(self, model: str, items: dict[str, str]) -> None: ...


class MemoryResponseCache:
    """A :class:`ResponseCache` in memory (tests, one-off sessions).

    Examples
    --------
    >>> cache = MemoryResponseCache()
    >>> cache.put("m", {"k": '{"codes": []}'})
    >>> cache.get("m", ["k", "other"])
    {'k': '{"codes": []}'}
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], str] = {}

    def get(self, model: str, keys: Sequence[str]) -> dict[str, str]:
        return {k: self.answers[(model, k)] for k in keys if (model, k) in self.answers}

    def put(self, model: str, items: dict[str, str]) -> None:
        self.answers.update({(model, k): v for k, v in items.items()})

    def __deepcopy__(self, memo: dict) -> MemoryResponseCache:
        return self  # shared by the coders cloned from one another (sklearn.clone deep-copies params)

    def __repr__(self) -> str:
        return f"MemoryResponseCache({len(self.answers)} answers)"


@dataclass
class LLMReport:
    """What the last ``suggest`` did: segments, requests, and what was refused or dropped.

    ``hallucination_rate`` is the share of proposed (known-code) suggestions whose quote is not in the
    segment. ``dropped`` lists what was refused, one record per proposed code: ``segment_id``, ``code_id``,
    ``quote`` (as the model wrote it, cut to :data:`DROPPED_QUOTE_CHARS`) and ``why`` (``not in the text``,
    ``no quote``, ``unknown code``); in a notebook, ``pd.DataFrame(result.attrs["llm_report"]["dropped"])``.
    It holds transcript-like text: it is never logged or printed (:meth:`summary` gives counts only).

    ``n_stored`` answers received in this call were kept in the cache (``n_not_cached`` others were used only
    in this call). ``failed_segments`` are the segments without a usable answer (their stored suggestions are
    kept), of two kinds: ``unanswered_segments`` got no answer from the server (a request that failed: an empty
    reply, a 5xx after every retry, no answer in time, or not sent after the batch stopped; ``n_failed``
    counts them): a re-run once the server answers asks again; ``unusable_segments`` got an answer that
    could not be used, for the reasons counted in ``unusable`` (segments per reason: ``codes not in the
    codebook``, ``quotes not in the text``, ``no quote``, ``cut at max_tokens``, ``not JSON``): a re-run asks
    again, but a model at temperature 0 may answer the same. Neither kind is cached. Each was skipped and the
    batch went on.

    ``n_by_label`` codes were given by their label instead of their id (case and accents aside, in any of the
    codebook's languages) and taken as that code; ``n_unknown_level`` stated a confidence that is not one of
    :data:`LEVEL_WORDS` and was read as ``medium``.

    ``stopped`` is the error that stopped the batch (server down, model missing, the context too short,
    :data:`CONSECUTIVE_FAILURES_FATAL` failures in a row), else ``None``; ``errors`` lists them all.
    """

    n_segments: int = 0
    n_cached: int = 0
    n_asked: int = 0
    n_requests: int = 0
    n_answered: int = 0
    n_unreadable: int = 0
    n_cut: int = 0
    n_failed: int = 0
    n_proposed: int = 0
    n_unknown_code: int = 0
    n_no_quote: int = 0
    n_not_in_text: int = 0
    n_fuzzy: int = 0
    n_too_many: int = 0
    n_kept: int = 0
    n_no_evidence: int = 0
    n_not_cached: int = 0
    n_stored: int = 0
    n_by_label: int = 0
    n_unknown_level: int = 0
    max_tokens: int = MAX_ANSWER_TOKENS
    response_format: str | None = None
    stopped: str | None = None
    stopped_kind: str | None = None
    errors: list[str] = field(default_factory=list)
    failed_segments: list[str] = field(default_factory=list)
    unanswered_segments: list[str] = field(default_factory=list)
    unusable_segments: list[str] = field(default_factory=list)
    unusable: dict[str, int] = field(default_factory=dict)
    dropped: list[dict[str, str]] = field(default_factory=list, repr=False)

    @property
    def hallucination_rate(self) -> float:
        known = self.n_proposed - self.n_unknown_code
        return self.n_not_in_text / known if known else 0.0

    def summary(self) -> str:
        """One paragraph in words.

        Examples
        --------
        >>> LLMReport(n_segments=1, n_asked=1, n_requests=1, n_answered=1, n_proposed=1, n_kept=1).summary()
        'LLM coder: 1 segment (0 answers from the cache, 1 asked in 1 request); 1 code proposed, 1 kept.'
        """
        parts = [f"{counted(self.n_segments, 'segment')} ({counted(self.n_cached, 'answer')} from the cache, "
                 f"{self.n_asked} asked in {counted(self.n_requests, 'request')})",
                 f"{counted(self.n_proposed, 'code')} proposed, {self.n_kept} kept"]
        if self.n_by_label:
            parts.append(f"{counted(self.n_by_label, 'code')} given by {'its' if self.n_by_label == 1 else 'their'} "
                         "label, taken")
        if self.n_unknown_code:
            parts.append(f"{counted(self.n_unknown_code, 'code')} not in the codebook (neither an id nor a label) "
                         "refused")
        if self.n_not_in_text or self.n_no_quote:
            parts.append(f"{counted(self.n_not_in_text, 'quote')} not in the segment and {self.n_no_quote} without a "
                         f"quote dropped (hallucination rate {self.hallucination_rate:.1%})")
        if self.n_unknown_level:
            parts.append(f"{counted(self.n_unknown_level, 'confidence')} not high, medium or low (nor alta, media, "
                         "baja, nor a number from 0 to 1) read as medium")
        if self.n_no_evidence:
            why = [f"{n} with {cause}" for cause, n in self.unusable.items() if cause in _NO_EVIDENCE]
            parts.append(f"{counted(self.n_no_evidence, 'answer')} with no usable evidence ({', '.join(why)}): not "
                         "kept; a re-run asks again, but the model may answer the same")
        if self.n_too_many:
            parts.append(f"{counted(self.n_too_many, 'code')} beyond {MAX_CODES_PER_ANSWER} in one answer dropped")
        if self.n_unreadable:
            parts.append(f"{counted(self.n_unreadable, 'answer')} could not be read as JSON (not kept; a re-run asks "
                         "again)")
        if self.n_cut:
            parts.append(f"{counted(self.n_cut, 'answer')} cut at max_tokens ({self.max_tokens} tokens) before "
                         "the end (not kept; a re-run asks again, or allow a longer answer: max_tokens= / "
                         "--llm-max-tokens)")
        if self.n_failed:
            parts.append(f"{counted(self.n_failed, 'segment')} got no answer (the server failed)")
        return "LLM coder: " + "; ".join(parts) + "."

    def as_dict(self) -> dict[str, Any]:
        """The counts, the hallucination rate and the errors, as plain data (``result.attrs["llm_report"]``)."""
        return {**{k: (list(v) if isinstance(v, list) else v) for k, v in vars(self).items()},
                "hallucination_rate": self.hallucination_rate}


#: Why an answer could not be used, when it was read: every code it names is unknown, or none of the known
#: ones comes with a quote found in the segment.
_NO_EVIDENCE = ("codes not in the codebook", "quotes not in the text", "no quote")


def answer_level(stated: str) -> str | None:
    """The :data:`ANSWER_LEVELS` level a stated confidence means (:data:`LEVEL_WORDS`), ``None`` if none.

    Examples
    --------
    >>> [answer_level(w) for w in ("Alta", "medio", "LOW", "0.9", "0.5", "0.1", "sure", "")]
    ['high', 'medium', 'low', 'high', 'medium', 'low', None, None]
    """
    word = fold_label(str(stated)).strip(" .")
    if word in LEVEL_WORDS:
        return LEVEL_WORDS[word]
    try:
        number = float(word)
    except ValueError:
        return None
    if not 0 <= number <= 1:
        return None
    return "high" if number >= 2 / 3 else "medium" if number >= 1 / 3 else "low"


def _user_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside qualcode: a warning then points at the user's line (their
    notebook cell), not at qualcode's decorators."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


# -- the answer ---------------------------------------------------------------------------------------------------


def _json_span(text: str) -> str | None:
    """The first JSON object or array in ``text``, closed if the text was cut off inside it."""
    return _json_span_cut(text)[0]


def _json_span_cut(text: str) -> tuple[str | None, bool]:
    """:func:`_json_span`, and whether the text was cut off inside it (what is returned was closed here)."""
    start = next((i for i, c in enumerate(text) if c in "{["), None)
    if start is None:
        return None, False
    stack: list[str] = []
    in_string = escaped = False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            stack.append("}" if c == "{" else "]")
        elif c in "}]":
            if stack and stack[-1] == c:
                stack.pop()
            if not stack:
                return text[start:i + 1], False
    # Cut off (the answer hit its token limit): close what is open, dropping a dangling key or comma.
    tail = text[start:]
    if in_string:
        tail += '"'
    tail = re.sub(r'(,\s*"[^"]*"\s*:?\s*|,\s*|:\s*)$', "", tail)
    return tail + "".join(reversed(stack)), True


def answer_cut(text: str) -> bool:
    """Whether a model's answer stops inside its JSON (it ran out of tokens): such an answer is incomplete.

    :func:`read_answer` still reads what it holds, but the coder neither uses nor keeps it (a re-run asks
    again): its last quote is cut short, and codes it would have named are missing.

    Examples
    --------
    >>> answer_cut('{"codes": [{"code_id": "carga", "quote": "Agot')
    True
    >>> answer_cut('Here it is: {"codes": []}')
    False
    """
    text = _THINK.sub("", text or "").strip()
    fenced = _FENCE.search(text)
    for candidate in ([fenced.group(1)] if fenced else []) + [text]:
        found, cut = _json_span_cut(candidate)
        if found is not None:
            return cut
    return False


def read_answer(text: str) -> list[dict[str, str]] | None:
    """The proposed codes in a model's answer, or ``None`` when no JSON can be read from it.

    Tolerates what local models do around JSON: a ``<think>`` block, code fences, prose before or after,
    trailing commas, a bare list, an answer cut off at the token limit, ``code``/``evidence`` for
    ``code_id``/``quote``.

    Examples
    --------
    >>> read_answer('Sure! ```json\\n{"codes": [{"code_id": "a.b", "quote": "sí", "reason": "r",}]}\\n```')
    [{'code_id': 'a.b', 'quote': 'sí', 'reason': 'r', 'confidence': ''}]
    >>> read_answer('{"codes": [{"code_id": "a", "quote": "la red nos ay') [0]["quote"]
    'la red nos ay'
    >>> read_answer("I cannot help with that.") is None
    True
    """
    text = _THINK.sub("", text or "").strip()
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1)] if fenced else []
    candidates.append(text)
    data: Any = None
    for candidate in candidates:
        found = _json_span(candidate)
        if found is None:
            continue
        for attempt in (found, _TRAILING_COMMA.sub(r"\1", found)):
            try:
                data = json.loads(attempt)
                break
            except ValueError:
                continue
        if data is not None:
            break
    if data is None:
        return None
    if isinstance(data, dict):
        items = data.get("codes")
        if items is None:
            items = next((v for v in data.values() if isinstance(v, list)), None)
            if items is None and ("code_id" in data or "code" in data):
                items = [data]
        data = items
    if not isinstance(data, list):
        return None
    out = []
    for item in data:
        if isinstance(item, str):
            item = {"code_id": item}
        if not isinstance(item, dict):
            continue
        code = item.get("code_id", item.get("code", item.get("id", "")))
        quote = item.get("quote", item.get("evidence", item.get("text", "")))
        out.append({"code_id": str(code or "").strip(), "quote": str(quote or ""),
                    "reason": str(item.get("reason", "") or ""),
                    "confidence": str(item.get("confidence", "") or "").strip().lower()})
    return out


# -- where a quote is --------------------------------------------------------------------------------------------

_FOLD = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
                       "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"',
                       "–": "-", "—": "-", "‑": "-", "‐": "-", "−": "-", "\u00a0": " "})


def _normalised(text: str) -> tuple[str, list[int]]:
    """``text`` lower-cased, quotes and dashes unified, white space runs as one space; each char's source index."""
    chars: list[str] = []
    where: list[int] = []
    space = False
    for i, c in enumerate(text.translate(_FOLD)):
        if c.isspace():
            if not space and chars:
                chars.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        for low in c.lower():
            chars.append(low)
            where.append(i)
    return "".join(chars), where


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def locate(quote: str, text: str) -> tuple[list[tuple[int, int]], bool] | None:
    """Where ``quote`` is in ``text``: its spans (offsets in ``text``) and whether a fuzzy match was needed.

    ``None`` when it is not there. An ellipsis (``...``, ``…``, ``[...]``) may join pieces found in order.

    Examples
    --------
    >>> text = "Bueno, yo creo que la confianza se fue construyendo de a poco, en las reuniones."
    >>> locate("La confianza se fue  construyendo", text)
    ([(19, 51)], False)
    >>> locate("la confianza … en las reuniones", text)
    ([(19, 31), (63, 79)], False)
    >>> locate("la confianza se construyó poco a poco", text) is None
    True
    """
    if len(quote) > 2 * len(text) + 100:  # cannot be in the text; and fuzzy matching costs grow with its length
        return None
    quote = unicodedata.normalize("NFC", quote)
    norm, where = _normalised(text)
    pieces = [p.strip(_EDGE) for p in _ELLIPSIS.split(quote.translate(_FOLD))]
    pieces = [_normalised(p)[0] for p in pieces if p.strip(_EDGE)]
    if not pieces:
        return None
    spans: list[tuple[int, int]] = []
    fuzzy = False
    at = 0
    for piece in pieces:
        found = norm.find(piece, at)
        if found >= 0:
            lo, hi = found, found + len(piece)
        elif len(piece) >= FUZZY_MIN_CHARS:
            match = fuzz.partial_ratio_alignment(piece, norm[at:], score_cutoff=FUZZY_MIN_RATIO)
            if match is None:
                return None
            lo, hi = at + match.dest_start, at + match.dest_end
            lo, hi = _word_bounds(norm, lo, hi)
            fuzzy = True
        else:
            return None
        if hi <= lo:
            return None
        spans.append((where[lo], where[hi - 1] + 1))
        at = hi
    return spans, fuzzy


# -- few-shot ----------------------------------------------------------------------------------------------------


@dataclass
class _Examples:
    """The team's accepted examples, indexed for nearest-neighbour look-up."""

    codes: list[str]
    segments: list[str]
    texts: list[str]
    vectorizer: TfidfVectorizer | None
    matrix: Any

    @classmethod
    def from_decisions(cls, decisions: pd.DataFrame | None, known: set[str]) -> _Examples:
        if decisions is None or decisions.empty:
            return cls([], [], [], None, None)
        check(decisions, "decisions", columns=["segment_id", "code_id", "decision", "quote"], values=False,
              where="decisions")
        rows = decisions[decisions["decision"].isin(CODED) & decisions["code_id"].isin(known)]
        rows = rows[rows["quote"].notna()]
        rows = rows.assign(quote=rows["quote"].astype(str).str.strip())
        rows = rows[rows["quote"] != ""].drop_duplicates(["code_id", "quote"])
        rows = rows.sort_values(["code_id", "segment_id", "quote"], kind="stable")
        if rows.empty:
            return cls([], [], [], None, None)
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = [_cut(q, EXAMPLE_CHARS) for q in rows["quote"]]
        vectorizer = TfidfVectorizer(preprocessor=fold_fast, token_pattern=r"(?u)\b\w\w+\b", sublinear_tf=True)
        matrix = vectorizer.fit_transform(texts)
        return cls(list(rows["code_id"]), list(rows["segment_id"]), texts, vectorizer, matrix)

    def nearest(self, texts: list[str], segment_ids: list[str], *, per_code: int,
                budget: int) -> list[list[tuple[str, str]]]:
        """For each text, (code, example) pairs: nearest first, at most ``per_code`` a code, ``budget`` chars."""
        if self.vectorizer is None or budget <= 0 or per_code <= 0:
            return [[] for _ in texts]
        out: list[list[tuple[str, str]]] = []
        queries = self.vectorizer.transform(texts)
        for lo in range(0, len(texts), _NEAREST_BLOCK):
            sims = (queries[lo:lo + _NEAREST_BLOCK] @ self.matrix.T).toarray()
            out.extend(self._choose(sims, segment_ids[lo:lo + _NEAREST_BLOCK], per_code, budget))
        return out

    def _choose(self, sims: np.ndarray, segment_ids: list[str], per_code: int,
                budget: int) -> list[list[tuple[str, str]]]:
        out = []
        for row, segment_id in zip(sims, segment_ids, strict=True):
            # Ties (no shared word) in the examples' stored order, so the choice never depends on the batch.
            order = np.argsort(-row, kind="stable")
            chosen: list[tuple[str, str]] = []
            per: dict[str, int] = {}
            used = 0
            for j in order.tolist():
                code, example = self.codes[j], self.texts[j]
                if self.segments[j] == segment_id or per.get(code, 0) >= per_code:
                    continue
                if used + len(example) > budget:
                    continue
                chosen.append((code, example))
                per[code] = per.get(code, 0) + 1
                used += len(example)
            out.append(chosen)
        return out


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars].rstrip() + " …"


def _cut_start(text: str, chars: int) -> str:
    """The last ``chars`` characters: an interviewer's turn ends with the question the segment answers."""
    return text if len(text) <= chars else "… " + text[-chars:].lstrip()


# -- the prompt --------------------------------------------------------------------------------------------------


def _field(values: dict[str, Any], lang: str) -> Any:
    """A per-language field in ``lang``, or in the other language when empty there."""
    value = values.get(lang)
    if value:
        return value
    return next((values[other] for other in LANGS if values.get(other)), values.get(lang))


def codebook_prompt(codebook: Codebook, lang: str, *, examples: int = CODEBOOK_EXAMPLES) -> str:
    """The system message for segments in ``lang``: the instructions, then every code's structured fields.

    Examples
    --------
    >>> from qualcode.codebook import Code
    >>> cb = Codebook("demo", codes=[Code("trust", label={"es": "Confianza"}, definition={"en": "Trust."})])
    >>> print(codebook_prompt(cb, "es").split("CODEBOOK")[1])
     (demo)
    - code_id: trust
      label: Confianza
      definition: Trust.
    """
    lines = [INSTRUCTIONS, "", f"CODEBOOK ({_field(codebook.title, lang) or codebook.id})"]
    description = _field(codebook.description, lang)
    if description:
        lines.append(" ".join(description.split()))
    for code in codebook:
        lines.append(f"- code_id: {code.id}")
        for name, title in (("label", "label"), ("definition", "definition"), ("inclusion", "include when"),
                            ("exclusion", "exclude when")):
            value = _field(getattr(code, name), lang)
            if value:
                lines.append(f"  {title}: {' '.join(str(value).split())}")
        quotes = (_field(code.examples, lang) or [])[:examples]
        if quotes:
            lines.append("  examples: " + " | ".join(f"«{' '.join(q.split())}»" for q in quotes))
    return "\n".join(lines)


def segment_prompt(text: str, question: str | None, lang: str, shots: Sequence[tuple[str, str]]) -> str:
    """The user message: the team's examples, the interviewer's question, the segment.

    Examples
    --------
    >>> print(segment_prompt("Nos sentimos solas.", "¿Cómo fue?", "es", [("isolation", "Estaba sola.")]))
    Segments this team coded before (code_id: words):
    - isolation: «Estaba sola.»
    <BLANKLINE>
    Interviewer's question (context only): «¿Cómo fue?»
    <BLANKLINE>
    Segment to code (Spanish):
    <segment>
    Nos sentimos solas.
    </segment>
    """
    parts = []
    if shots:
        parts.append("Segments this team coded before (code_id: words):\n"
                     + "\n".join(f"- {code}: «{' '.join(example.split())}»" for code, example in shots))
    if question:
        shown = " ".join(_cut_start(question, QUESTION_CHARS).split())
        parts.append(f"Interviewer's question (context only): «{shown}»")
    parts.append(f"Segment to code ({_LANG_NAMES.get(lang, lang)}):\n<segment>\n{text}\n</segment>")
    return "\n\n".join(parts)


def answer_schema(code_ids: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of an answer (``response_format``), code ids as an enum."""
    item = {"type": "object",
            "properties": {"code_id": {"type": "string", "enum": list(code_ids)},
                           "quote": {"type": "string"},
                           "reason": {"type": "string"},
                           "confidence": {"type": "string", "enum": list(ANSWER_LEVELS)}},
            "required": ["code_id", "quote", "reason", "confidence"], "additionalProperties": False}
    return {"type": "object", "properties": {"codes": {"type": "array", "items": item}},
            "required": ["codes"], "additionalProperties": False}


# -- what a level means -----------------------------------------------------------------------------------------


def calibration(states: dict[str, dict[str, str]], decisions: pd.DataFrame | None,
                codes: Sequence[str]) -> pd.DataFrame:
    """What each :data:`LEVELS` level of the model's answers turned out to mean on the project's decisions.

    Per level, the (segment, code) pairs of decided segments the model answered: a pair is coded when a
    person accepted the code there or coded it by hand; not coded when they rejected it, or coded the
    segment with other codes only (the fusion's labels, :mod:`qualcode.coders.fusion`). The score is the
    posterior mean of a beta prior centred on :data:`PRIOR_SCORES` and worth :data:`PRIOR_WEIGHT` pairs:
    ``(prior · weight + n_coded) / (weight + n_coded + n_not_coded)``.

    Parameters
    ----------
    states : dict
        Per answered segment id, the level of each code the model chose there (with its quote found).
    decisions : DataFrame, optional
        ``segment_id``, ``code_id``, ``decision`` (:func:`qualcode.decisions`).
    codes : sequence of str
        The codebook's code ids.

    Returns
    -------
    DataFrame
        Indexed by level: ``prior``, ``weight``, ``n_coded``, ``n_not_coded``, ``score``.

    Examples
    --------
    >>> decided = pd.DataFrame({"segment_id": ["s1", "s2"], "code_id": ["a", "a"], "decision": ["accept", "reject"]})
    >>> calibration({"s1": {"a": "high"}, "s2": {"a": "high"}}, decided, ["a", "b"])["score"].round(3).tolist()
    [0.571, 0.45, 0.3, 0.01]
    """
    counts = {level: [0, 0] for level in LEVELS}
    if decisions is not None and len(decisions) and states:
        known = set(codes)
        rows = decisions[decisions["segment_id"].isin(set(states)) & decisions["code_id"].isin(known)]
        coded: dict[str, set[str]] = {}
        rejected: dict[str, set[str]] = {}
        for segment, code, yes in zip(rows["segment_id"], rows["code_id"], rows["decision"].isin(CODED),
                                      strict=True):
            (coded if yes else rejected).setdefault(str(segment), set()).add(str(code))
        for segment in sorted(set(coded) | set(rejected)):
            chosen = states.get(segment, {})
            yes = coded.get(segment, set())
            # A coded segment: every other code was looked at and not applied. Rejects only: those codes.
            no = (known - yes) if yes else rejected.get(segment, set())
            for code in yes:
                counts[chosen.get(code, "none")][0] += 1
            for code in no:
                counts[chosen.get(code, "none")][1] += 1
    table = pd.DataFrame({"prior": [PRIOR_SCORES[lv] for lv in LEVELS], "weight": [PRIOR_WEIGHT[lv] for lv in LEVELS],
                          "n_coded": [counts[lv][0] for lv in LEVELS], "n_not_coded": [counts[lv][1] for lv in LEVELS]},
                         index=pd.Index(LEVELS, name="level"))
    table["score"] = ((table["prior"] * table["weight"] + table["n_coded"])
                      / (table["weight"] + table["n_coded"] + table["n_not_coded"]))
    return table


# -- the coder ---------------------------------------------------------------------------------------------------


def _labels(codebook: Codebook) -> dict[str, str]:
    """Each code's id, and its labels in every language folded (case, accents, white space), → its id.

    A model shown ids and labels sometimes answers with the label; the review workbook takes a label for its code
    too. A label two codes share names neither, and an id is never shadowed by another code's label.
    """
    ids = {c.id for c in codebook}
    named: dict[str, set[str]] = {}
    for code in codebook:
        for label in code.label.values():
            if label and label.strip():
                named.setdefault(fold_label(label), set()).add(code.id)
    out = {fold_label(k): next(iter(v)) for k, v in named.items() if len(v) == 1 and k not in ids}
    out.update({i: i for i in ids})
    return out


@register_coder
class LLMCoder(BaseCoder):
    """Suggest codes with a language model on your own OpenAI-compatible server (Ollama, llama.cpp, vLLM).

    See the module docstring for exactly what is sent, how answers are checked, what is cached and what a
    score means. Only ``base_url`` is contacted, and only by ``suggest`` (``fit`` prepares the prompts and
    the calibration offline).

    Parameters
    ----------
    base_url : str
        The server's OpenAI-compatible base URL, e.g. ``http://localhost:11434/v1`` (Ollama),
        ``http://localhost:8080/v1`` (llama.cpp), ``http://localhost:8000/v1`` (vLLM). Required to fit
        (``None`` only so that :func:`~qualcode.coders.get_coder` can name the method).
    model : str
        The model's name on that server (required to fit, like ``base_url``).
    api_key : str, optional
        Sent as a bearer token to that server, if it asks for one.
    cache : ResponseCache, optional
        Where answers are kept between sessions (``project.llm_cache()``); without one, only in this object.
    concurrency : int
        Requests in flight at once (:data:`CONCURRENCY`).
    timeout, retries, backoff : float, int, float
        Seconds to wait for one answer; tries again after a 429, a 5xx or a dropped connection, pausing
        ``backoff`` seconds, doubled each time (see :mod:`qualcode.io.chat`).
    codebook_examples : int
        Example quotes per code from the codebook (:data:`CODEBOOK_EXAMPLES`).
    max_tokens : int
        The longest answer asked for, in tokens (:data:`MAX_ANSWER_TOKENS`), sent as ``max_tokens``; the server
        reserves it in the model's context beside the prompt, so a model with a small context may need less. Not
        part of a cached answer's key: an answer is the same whatever room it had, and one cut at the limit is
        never kept.
    few_shot_chars, few_shot_per_code : int
        The few-shot budget from the team's decisions (0 for none).
    min_score : float
        Drop suggestions scoring below this (:data:`MIN_SCORE`: the codes the model did not choose). An
        ensemble sets it to 0, so that a code the model looked at and left out counts against it.
    skip_roles : str or tuple of str
        Speaker roles never coded.
    on_error : {"raise", "warn"}
        When the server fails as a whole (down, model missing, context too short,
        :data:`CONSECUTIVE_FAILURES_FATAL` failed segments in a row) or every request sent failed: raise the
        :class:`~qualcode.errors.LLMError`, or warn and return the suggestions of the segments answered
        (what :func:`qualcode.suggest` does beside other coders). A segment whose own request fails is
        skipped either way: a warning, and listed in :attr:`report_` (``failed_segments``).

    Attributes
    ----------
    report_ : LLMReport
        What the last ``suggest`` sent, received, refused and dropped.
    calibration_ : DataFrame
        What each level scores (:func:`calibration`): the prior, and the counts from the decisions given
        to ``fit`` on segments the model answered before.
    n_requests_ : int
        HTTP requests sent since ``fit`` (tries included).

    Examples
    --------
    >>> coder = LLMCoder("http://localhost:11434/v1", "qwen2.5:7b-instruct")  # doctest: +SKIP
    >>> coder.fit(codebook, decisions).suggest(corpus.segments)  # doctest: +SKIP
    >>> coder.report_.hallucination_rate, coder.calibration_  # doctest: +SKIP
    """

    method = "llm"
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "base_url": [str, None],
        "model": [str, None],
        "api_key": [str, None],
        "cache": [None, HasMethods(["get", "put"])],
        "concurrency": [Interval(Integral, 1, None, closed="left")],
        "timeout": [Interval(Real, 0, None, closed="neither")],
        "retries": [Interval(Integral, 0, None, closed="left")],
        "backoff": [Interval(Real, 0, None, closed="left")],
        "codebook_examples": [Interval(Integral, 0, None, closed="left")],
        "max_tokens": [Interval(Integral, 1, None, closed="left")],
        "few_shot_chars": [Interval(Integral, 0, None, closed="left")],
        "few_shot_per_code": [Interval(Integral, 0, None, closed="left")],
        "min_score": [Interval(Real, 0, 1, closed="both")],
        "skip_roles": [str, tuple, list],
        "on_error": [StrOptions({"raise", "warn"})],
    }
    _parameter_hints: ClassVar[dict[str, str]] = {
        **BaseCoder._parameter_hints,
        "base_url": "give your server's base URL, e.g. http://localhost:11434/v1 (--llm URL)",
        "model": "give the model's name on that server, e.g. qwen2.5:7b-instruct (--model NAME)",
        "cache": "pass project.llm_cache() or qualcode.coders.MemoryResponseCache()",
        "timeout": "give the seconds to wait for one answer (--llm-timeout), more than 0",
        "concurrency": "give the number of requests at once (--llm-concurrency), 1 or more",
        "max_tokens": "give the longest answer in tokens (--llm-max-tokens), 1 or more",
    }

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None, *,
                 cache: ResponseCache | None = None, concurrency: int = CONCURRENCY,
                 timeout: float = TIMEOUT_SECONDS, retries: int = RETRIES, backoff: float = BACKOFF_SECONDS,
                 codebook_examples: int = CODEBOOK_EXAMPLES, few_shot_chars: int = FEW_SHOT_CHARS,
                 few_shot_per_code: int = FEW_SHOT_PER_CODE, min_score: float = MIN_SCORE,
                 skip_roles: str | tuple[str, ...] = ("interviewer", "unknown"), on_error: str = "raise",
                 max_tokens: int = MAX_ANSWER_TOKENS) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key = api_key
        self.cache = cache
        self.concurrency = concurrency
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.codebook_examples = codebook_examples
        self.few_shot_chars = few_shot_chars
        self.few_shot_per_code = few_shot_per_code
        self.min_score = min_score
        self.skip_roles = skip_roles
        self.on_error = on_error
        self.max_tokens = max_tokens

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        # The key stays out of notebooks' outputs and logs.
        shown = super().__repr__(N_CHAR_MAX)
        return shown.replace(repr(self.api_key), "'***'") if self.api_key else shown

    def coder_tags(self) -> CoderTags:
        """Sends each segment to a server: not spread over worker processes (threads wait for the answers),
        and an ensemble fits its fusion on the answers it holds (:meth:`answered`), never asking for more."""
        return CoderTags(language_aware=True, per_segment=False, remote=True)

    def unsupported(self, codebook: Codebook) -> str | None:
        """Why this coder cannot suggest: it needs your server's URL and model name."""
        if not self.base_url or not self.model:
            return "needs your own OpenAI-compatible server: give its URL and the model's name (--llm URL --model NAME)"
        return None

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> LLMCoder:
        """Check the options; prepare the prompts, the few-shot index and the calibration (no request is sent).

        The calibration (:attr:`calibration_`) counts, per level, the decisions on segments this model
        answered before under this codebook version (kept in ``cache``).
        """
        self._validate_params()
        if self.base_url is None:
            raise ParameterError("the LLM coder needs your server's URL: base_url= (--llm URL), e.g. "
                                 "http://localhost:11434/v1.")
        check_base_url(self.base_url)
        if self.model is None or not self.model.strip():
            raise ParameterError("give the model's name on the server (model=, --model), e.g. qwen2.5:7b-instruct.")
        if not len(codebook):
            raise ParameterError(f"codebook {codebook.id!r} has no codes to ask the model about.")
        self.client_ = ChatClient(self.base_url, self.model, api_key=self.api_key, timeout=self.timeout,
                                  retries=self.retries, backoff=self.backoff)
        self.code_ids_ = [c.id for c in codebook]
        self.labels_ = _labels(codebook)
        self.schema_ = answer_schema(self.code_ids_)
        self.system_ = {lang: codebook_prompt(codebook, lang, examples=self.codebook_examples) for lang in LANGS}
        self.examples_ = _Examples.from_decisions(decisions, set(self.code_ids_))
        self.n_examples_ = len(self.examples_.texts)
        self.report_ = LLMReport()
        self._answers: dict[str, str] = {}
        self._unusable: dict[str, str] = {}  # this suggest's answers with no usable evidence (never kept)
        self._not_cached: set[str] = set()  # this suggest's answers to a prompt perhaps cut (used, never kept)
        self._why: dict[str, str] = {}  # this suggest's answers that could not be used, and why
        self.codebook_version_ = codebook.version
        decided = [] if decisions is None or decisions.empty else sorted({str(s) for s in decisions["segment_id"]})
        self.known_ = self._held_states(decided)
        self.calibration_ = calibration(self.known_, decisions, self.code_ids_)
        self.scores_ = {str(k): float(v) for k, v in self.calibration_["score"].items()}
        return self

    @property
    def n_requests_(self) -> int:
        return self.client_.n_requests

    def _code_of(self, named: str) -> tuple[str | None, bool]:
        """The code id an answer names (an id, or a code's label as the review workbook takes one), and whether
        it was named by its label; ``(None, False)`` for a code not in the codebook."""
        if self.labels_.get(named) == named:  # an id (ids map to themselves)
            return named, False
        code = self.labels_.get(fold_label(named))
        return code, code is not None

    def _key(self, lang: str, user: str) -> str:
        parts = [str(self.model), PROMPT_VERSION, self.codebook_version_, str(self.codebook_examples), lang, user]
        return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()

    def _segment_key(self, segment_id: str) -> str:
        # What this model last answered for a segment (its checked levels), for the calibration.
        parts = ["segment", str(self.model), PROMPT_VERSION, self.codebook_version_, str(segment_id)]
        return hashlib.sha256("\x1e".join(parts).encode("utf-8")).hexdigest()

    def _held_states(self, segment_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The checked levels this model gave the segments it answered before (from the cache)."""
        if not segment_ids or self.cache is None:
            return {}
        keys = {self._segment_key(s): s for s in segment_ids}
        found = self.cache.get(str(self.model), list(keys))
        out: dict[str, dict[str, str]] = {}
        known = set(self.code_ids_)
        for key, text in found.items():
            try:
                data = json.loads(text)
            except ValueError:
                continue
            if isinstance(data, dict):
                out[keys[key]] = {str(c): str(v) for c, v in data.items() if c in known and v in LEVELS}
        return out

    def _level_rows(self, segment_id: object, doc_id: object, levels: dict[str, str],
                    chosen: dict[str, dict]) -> list[dict]:
        """One segment's rows: the codes chosen with their level's score, the others at ``none``'s score."""
        rows = []
        for code in self.code_ids_:
            row = chosen.get(code)
            score = self.scores_[levels.get(code, "none")]
            if score < self.min_score:
                continue
            if row is None:
                row = {"segment_id": segment_id, "doc_id": doc_id, "code_id": code, "method": self.method,
                       "evidence": "", "spans": [], "codebook_version": self.codebook_version_}
            rows.append({**row, "score": round(score, 4)})
        return rows

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def answered(self, segments: pd.DataFrame) -> pd.DataFrame:
        """The scores of the segments the model answered before (as seen by ``fit``), without any request.

        What an ensemble fits its fusion weights on for decided segments (the tag ``remote``): their answers
        are already known, and asking the server again would cost a request per decided segment.
        """
        self._check_fitted()
        rows: list[dict] = []
        for segment_id, doc_id in zip(segments["segment_id"], segments["doc_id"], strict=True):
            levels = self.known_.get(str(segment_id))
            if levels is not None:
                rows.extend(self._level_rows(segment_id, doc_id, levels, {}))
        return typed_suggestions(rows)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Ask the model about every participant segment not answered before; the checked suggestions.

        Raises
        ------
        LLMError
            With ``on_error="raise"``, when the server fails as a whole or no request sent got an answer
            (answers received before are kept).
        """
        self._check_fitted()
        report = self.report_ = LLMReport(max_tokens=self.max_tokens)
        asked_before = segments.assign(question=questions(segments))
        units = participant_units(asked_before, self.skip_roles)
        report.n_segments = len(units)
        if units.empty:
            return typed_suggestions([])
        texts = [str(t) for t in units["text"]]
        langs = [lang if lang in LANGS else LANGS[0] for lang in units["language"].astype(object).fillna("")]
        asked = [q if isinstance(q, str) and q.strip() else None for q in units["question"]]
        shots = self.examples_.nearest(texts, [str(s) for s in units["segment_id"]], per_code=self.few_shot_per_code,
                                       budget=self.few_shot_chars)
        users = [segment_prompt(t, q, lang, s) for t, q, lang, s in zip(texts, asked, langs, shots, strict=True)]
        keys = [self._key(lang, user) for lang, user in zip(langs, users, strict=True)]
        todo = {k: (lang, user, text) for k, lang, user, text in zip(keys, langs, users, texts, strict=True)
                if k not in self._answers}
        if todo and self.cache is not None:
            found = self.cache.get(str(self.model), list(todo))
            self._answers.update(found)
            for k in found:
                todo.pop(k)
        report.n_cached = len(set(keys)) - len(todo)
        requests_before = self.client_.n_requests
        self._unusable = {}
        self._not_cached = set()
        self._why = {}
        failures = self._ask(todo, report)
        report.n_requests = self.client_.n_requests - requests_before
        report.response_format = None if not report.n_asked else report.response_format
        rows = self._rows(units, texts, keys, report)
        # Segments without an answer (server failure, an answer cut off or unreadable): no evidence either way.
        report.failed_segments = [str(s) for s, k in zip(units["segment_id"], keys, strict=True)
                                  if k not in self._answers]
        # Of two kinds: the server failed (a re-run once it answers asks again), or its answer could not be used.
        for segment, key in zip(units["segment_id"].astype(str), keys, strict=True):
            if key in self._answers:
                continue
            if key in self._why:
                report.unusable_segments.append(segment)
                report.unusable[self._why[key]] = report.unusable.get(self._why[key], 0) + 1
            else:
                report.unanswered_segments.append(segment)
        for key in self._not_cached:  # used in this run only: a later suggest asks again, as a re-run does
            self._answers.pop(key, None)
        if failures:
            # An answer with no usable evidence is counted as such, not also as no answer.
            report.n_failed = len(report.unanswered_segments)
            # A segment's own failure was skipped (listed in the report) and the batch went on; the server
            # failing as a whole, or every request sent failing (nothing done), is an error.
            if self.on_error == "raise" and (report.stopped is not None or len(failures) >= report.n_asked):
                raise failures[0]
        if failures or report.n_unknown_code or report.n_not_in_text or report.n_no_quote or report.n_unreadable \
                or report.n_too_many or report.n_cut or report.n_no_evidence or report.n_unknown_level \
                or report.n_by_label:
            if failures:
                warnings.warn(LLMSkippedWarning(f"{report.summary()} First error: {failures[0]}",
                                                n_failed=report.n_failed, n_segments=report.n_segments,
                                                segment_ids=tuple(report.failed_segments)),
                              stacklevel=_user_stacklevel())
            else:
                warnings.warn(LLMWarning(report.summary(), segment_ids=tuple(report.failed_segments)),
                              stacklevel=_user_stacklevel())
        return typed_suggestions(rows)

    def _ask(self, todo: dict[str, tuple[str, str, str]], report: LLMReport) -> list[LLMError]:
        """Send the requests (``concurrency`` at once); keep and cache each answer as it arrives."""
        if not todo:
            return []
        stop = threading.Event()
        lock = threading.Lock()
        failures: list[LLMError] = []
        fatal: list[LLMError] = []  # what stopped the batch (at most one)
        context_errors = 0
        in_a_row = 0  # segments failed since the last answer
        # Whole answers to a prompt the server may have cut: (key, tokens counted, characters sent).
        few_tokens: list[tuple[str, int, int]] = []
        few_keys: set[str] = set()

        def failed(error: LLMError) -> None:
            """Skip the segment, or stop the batch when the server as a whole fails.

            Decided here, in the worker, so that no further request starts after a fatal failure. Fatal: a
            server that is down or unreachable (every request would fail the same way), a model it does not
            have, :data:`CONTEXT_ERRORS_FATAL` segments that do not fit the context (the codebook itself does
            not), or :data:`CONSECUTIVE_FAILURES_FATAL` failed segments in a row. Anything else (an empty reply,
            a 5xx after every retry, no answer in time) costs only its segment: counted, listed, not kept.
            """
            nonlocal context_errors, in_a_row
            with lock:
                failures.append(error)
                in_a_row += 1
                context_errors += isinstance(error, LLMContextError)
                if fatal:
                    return
                down = isinstance(error, LLMUnavailableError) and not error.transient
                if down or isinstance(error, LLMModelError) or context_errors >= CONTEXT_ERRORS_FATAL:
                    fatal.append(error)
                elif in_a_row >= CONSECUTIVE_FAILURES_FATAL:
                    fatal.append(type(error)(
                        f"the LLM server at {self.client_.url} failed on {in_a_row} segments in a row, so the "
                        "rest were not sent; run the same command again once it answers (answers already "
                        f"received are kept). The last failure: {error}", url=self.client_.url))
                if fatal:
                    stop.set()

        def answered() -> None:
            nonlocal in_a_row
            with lock:
                in_a_row = 0

        def one(key: str, lang: str, user: str) -> tuple[str, ChatReply | None, bool]:
            if stop.is_set():
                return key, None, False
            system = self.system_[lang]
            messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
            try:
                reply = self.client_.complete(messages, self.schema_, max_tokens=self.max_tokens, stop=stop)
            except LLMError as exc:
                failed(exc)
                return key, None, True
            sent = len(system) + len(user)
            if reply.prompt_tokens is not None and reply.prompt_tokens < sent / CHARS_PER_TOKEN_MAX:
                if reply.finish_reason == "stop":
                    # A whole answer: the count may leave out a cached prompt (some servers count only the
                    # tokens not cached); a warning, not a discarded answer. But not cached either: if the
                    # prompt was cut, a re-run with a longer context must ask again, not reuse it forever.
                    with lock:
                        few_tokens.append((key, reply.prompt_tokens, sent))
                        few_keys.add(key)
                    answered()
                    return key, reply, True
                failed(LLMContextError(
                    f"the LLM server at {self.client_.url} read only {reply.prompt_tokens} tokens of a prompt of "
                    f"{sent} characters: it cut the prompt to its context length. Give the model a longer "
                    "context (for Ollama: OLLAMA_CONTEXT_LENGTH=32768 or num_ctx in a Modelfile), or send less: fewer "
                    "codebook examples per code (codebook_examples= / --llm-examples) or fewer characters of the "
                    "team's examples (few_shot_chars= / --llm-few-shot-chars).", url=self.client_.url))
                return key, None, True
            answered()
            return key, reply, True

        def take(key: str, reply: ChatReply | None, sent: bool) -> None:
            """Count an answer; keep (and cache) it if it is whole, readable and has usable evidence."""
            report.n_asked += sent
            if reply is None:
                return
            if key in few_keys:
                self._not_cached.add(key)
            text = reply.text
            report.response_format = reply.form
            if reply.finish_reason == "length" or answer_cut(text):
                # Cut at max_tokens: its last quote is cut short and its later codes missing. Not kept, so
                # that a re-run asks again (instead of a broken answer counted as a hallucination forever).
                report.n_cut += 1
                self._why[key] = "cut at max_tokens"
                return
            items = read_answer(text)
            if items is None:
                report.n_unreadable += 1
                self._why[key] = "not JSON"
                return
            if not self._has_evidence(items, todo[key][2]):
                self._why[key] = self._why_unusable(items)
                # Codes proposed, none with a quote in the segment (a translation, a paraphrase): not a
                # "none" for every code, and not kept, so that a re-run asks again. _rows counts its drops.
                self._unusable[key] = text
                return
            self._answers[key] = text
            if key in self._not_cached:
                report.n_not_cached += 1
                return
            if self.cache is not None:
                self.cache.put(str(self.model), {key: text})
            kept.append(key)

        # Daemon threads, not a ThreadPoolExecutor: on Ctrl-C no queued request may start, and a request still
        # waiting for its answer after the grace must not keep the process from exiting.
        pending: queue.SimpleQueue[tuple[str, str, str]] = queue.SimpleQueue()
        for key, (lang, user, _) in todo.items():
            pending.put((key, lang, user))
        done: queue.SimpleQueue[tuple[str, ChatReply | None, bool] | BaseException] = queue.SimpleQueue()

        def work() -> None:
            while not stop.is_set():
                try:
                    key, lang, user = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put(one(key, lang, user))
                except Cancelled as exc:  # asked if a try was sent before Ctrl-C or the batch's stop
                    done.put((key, None, exc.tries > 0))
                except BaseException as exc:  # a bug: handed to the caller's thread, which raises it
                    done.put(exc)

        kept: list[str] = []
        threads = [threading.Thread(target=work, name=f"qualcode-llm-{i}", daemon=True)
                   for i in range(min(self.concurrency, len(todo)))]
        enabled = current().progress
        with progress(len(todo), f"ask {self.model} about {counted(len(todo), 'segment')}", enabled=enabled) as bar:
            received = 0
            try:
                for thread in threads:
                    thread.start()
                while received < len(todo):
                    try:
                        item = done.get(timeout=0.1)
                    except queue.Empty:
                        if any(t.is_alive() for t in threads):
                            continue
                        try:  # a worker's last answer may have come just before it ended
                            item = done.get_nowait()
                        except queue.Empty:
                            break  # stopped after a fatal failure: the rest were never sent
                    received += 1
                    bar.update()
                    if isinstance(item, BaseException):
                        stop.set()
                        raise item
                    take(*item)
            except KeyboardInterrupt:
                stop.set()  # no new request; answers in flight that arrive within the grace are kept
                deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
                while time.monotonic() < deadline and any(t.is_alive() for t in threads):
                    with contextlib.suppress(queue.Empty):
                        item = done.get(timeout=0.05)
                        if not isinstance(item, BaseException):
                            take(*item)
                while True:
                    try:
                        item = done.get_nowait()
                    except queue.Empty:
                        break
                    if not isinstance(item, BaseException):
                        take(*item)
                raise LLMInterrupted(n_kept=len(kept), n_asked=len(todo)) from None
        if few_tokens:
            _, tokens, chars = few_tokens[0]
            warnings.warn(LLMWarning(
                f"the LLM server at {self.client_.url} counted only {tokens} tokens of a prompt of {chars} "
                f"characters ({counted(len(few_tokens), 'answer')} like this, used in this run but not cached: a "
                "re-run asks again): either it counts only the part of the prompt it had not cached, or it cut "
                "the prompt to its context length. If the suggestions look unrelated to the codebook, give the "
                "model a longer context (for Ollama: OLLAMA_CONTEXT_LENGTH=32768)."), stacklevel=_user_stacklevel())
        report.n_stored = len(kept)
        report.errors = [str(e) for e in failures]
        report.stopped = str(fatal[0]) if fatal else None
        # What a re-run needs: the server back ("unavailable"), or a change of the user's ("model", "context").
        report.stopped_kind = (None if not fatal else "context" if isinstance(fatal[0], LLMContextError) else
                               "model" if isinstance(fatal[0], LLMModelError) else "unavailable")
        # The most telling failure first: the one that stopped the batch, then the segments' own in order.
        return fatal + [e for e in failures if not fatal or e is not fatal[0]]

    def _has_evidence(self, items: list[dict[str, str]], text: str) -> bool:
        """Whether an answer is a usable one: it proposes no code, or at least one it proposes is in the codebook
        with a quote found in ``text``."""
        items = items[:MAX_CODES_PER_ANSWER]
        return not items or any(self._code_of(item["code_id"])[0] is not None and item["quote"].strip()
                                and locate(item["quote"], text) is not None for item in items)

    def _why_unusable(self, items: list[dict[str, str]]) -> str:
        """Why an answer with no usable evidence (:meth:`_has_evidence`) is so, in words (:data:`_NO_EVIDENCE`)."""
        known = [item for item in items[:MAX_CODES_PER_ANSWER] if self._code_of(item["code_id"])[0] is not None]
        if not known:
            return "codes not in the codebook"
        return "no quote" if not any(item["quote"].strip() for item in known) else "quotes not in the text"

    def _rows(self, units: pd.DataFrame, texts: list[str], keys: list[str], report: LLMReport) -> list[dict]:
        rows: list[dict] = []
        records: dict[str, str] = {}
        starts = [int(s) for s in units["start"]]
        counted: set[str] = set()
        for i, key in enumerate(keys):
            usable = key in self._answers
            if usable:
                report.n_answered += 1
            elif key in self._unusable and key not in counted:
                # No usable evidence: its drops are counted (once per answer); it gives no row and no level.
                counted.add(key)
                report.n_no_evidence += 1
            else:
                continue
            items = read_answer(self._answers[key] if usable else self._unusable[key]) or []
            start = starts[i]
            by_code: dict[str, dict] = {}
            levels: dict[str, str] = {}
            report.n_too_many += max(0, len(items) - MAX_CODES_PER_ANSWER)
            for item in items[:MAX_CODES_PER_ANSWER]:
                report.n_proposed += 1
                resolved, by_label = self._code_of(item["code_id"])
                code = resolved or item["code_id"]
                report.n_by_label += by_label
                why = ("unknown code" if resolved is None else "no quote" if not item["quote"].strip()
                       else None)
                found = locate(item["quote"], texts[i]) if why is None else None
                if found is None:
                    why = why or "not in the text"
                    report.n_unknown_code += why == "unknown code"
                    report.n_no_quote += why == "no quote"
                    report.n_not_in_text += why == "not in the text"
                    report.dropped.append({"segment_id": str(units.at[i, "segment_id"]), "code_id": code,
                                           "quote": _cut(item["quote"], DROPPED_QUOTE_CHARS), "why": why})
                    continue
                spans, fuzzy = found
                report.n_fuzzy += fuzzy
                words = " … ".join(texts[i][a:b] for a, b in spans)
                reason = _cut(" ".join(item["reason"].split()), REASON_CHARS)
                level = answer_level(item["confidence"])
                if level is None:  # read as medium, and counted: a stated level not understood is not silent
                    report.n_unknown_level += bool(item["confidence"])
                    level = "medium"
                evidence = f"«{_cut(words, 160)}»" + (f" {reason}" if reason else "")
                row = by_code.get(code)
                if row is None:
                    by_code[code] = {"segment_id": units.at[i, "segment_id"], "doc_id": units.at[i, "doc_id"],
                                     "code_id": code, "method": self.method, "evidence": evidence,
                                     "spans": [list(to_document(s, start)) for s in spans],
                                     "codebook_version": self.codebook_version_}
                    levels[code] = level
                else:  # the same code with another passage: one suggestion, every passage, its best level
                    row["evidence"] += " | " + evidence
                    row["spans"] += [list(to_document(s, start)) for s in spans]
                    levels[code] = min(levels[code], level, key=ANSWER_LEVELS.index)
            if not usable:
                continue
            report.n_kept += len(by_code)
            rows.extend(self._level_rows(units.at[i, "segment_id"], units.at[i, "doc_id"], levels, by_code))
            if key in self._not_cached:
                continue  # nor its levels: the calibration learns from answers that are kept
            records[self._segment_key(str(units.at[i, "segment_id"]))] = json.dumps(levels, sort_keys=True)
        if records and self.cache is not None:
            self.cache.put(str(self.model), records)
        return rows
