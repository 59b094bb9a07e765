"""Pseudonymization: replace people's names with consistent pseudonyms before anything leaves the machine (E4).

Names come from a list the team provides (participants, colleagues, staff)
and from detection: a capitalised word after a form of address people use
for someone (``la tía Gloria``, ``don Patricio``, ``la señora Marta``,
``Mrs Lee``), and a spaCy pipeline with named-entity recognition when the
team names one that is installed (none is needed or downloaded), and
speaker labels that read as names (``Rosa:``). A name is matched as a whole
word in any case and with or without accents (``María``, ``MARIA``,
``maria``), in texts and in ids (``ent_rosa_marzo``). The same name always
gets the same pseudonym; the mapping stays in memory and is written only
where the user asks (:meth:`Pseudonymizer.save_mapping`).

Outputs are pseudonymized at the data, before any writer sees them:
:func:`qualcode.workflow.pseudonymized_project` (``qc.Pseudonymizer(...).project(project)``)
makes a temporary pseudonymized copy of a project (texts, ids, speakers,
attributes, memos, offsets moved with the words) and the report, table,
chart and ``.qdpx`` writers write from it. This module works on texts, ids
and codebooks only; it never sees a project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

import pandas as pd

from ..codebook.model import LIST_FIELDS, TEXT_FIELDS
from ..corpus import Corpus, segment_id
from ..errors import InputFileError, MissingDependencyError, ParameterError
from ..io.atomic import atomic_write_text
from ..io.cells import csv_frame
from ..io.encoding import decode_bytes, normalize_text
from ..io.text import CODE_LIKE as _CODE_LIKE
from ..io.text import NOT_SPEAKERS as _NOT_SPEAKERS
from ..io.text import ROLE_WORDS as _ROLE_WORDS
from ..io.text import WORD_AND_NUMBER as _WORD_AND_NUMBER
from ..nlp.normalize import fold, fold_label
from ..nlp.words import stop_words as _stop_words
from ..schemas import check

if TYPE_CHECKING:
    # typing.Self is Python 3.11+; qualcode supports 3.10.
    from typing_extensions import Self

    from ..codebook.model import Codebook

_T = TypeVar("_T")

__all__ = ["Pseudonymizer", "quote_tags"]

# Forms of address after which a capitalised word is a person's name.
_CUES = ("tía", "tia", "tío", "tio", "don", "doña", "dona", "señora", "senora", "señor", "senor", "sra", "sr",
         "srta", "profesora", "profesor", "educadora", "mrs", "mr", "ms", "miss", "dr", "dra")
# A capitalised word, or one in capitals (transcripts typed in capitals: "LA TÍA GLORIA").
_WORD = r"(?:[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+|[A-ZÁÉÍÓÚÑ]{2,}(?![a-záéíóúñü]))"
_NAME = rf"{_WORD}(?:[ \t]+{_WORD})?"
_CUE_PATTERN = re.compile(rf"\b(?i:{'|'.join(_CUES)})\.?\s+({_NAME})")
# Capitalised words that follow a cue but are not people ("la señora del Servicio" is not caught anyway).
_NOT_NAMES = {"Servicio", "Local", "Slep", "SLEP", "Dios", "Ministerio", "Junji", "JUNJI", "Integra"}
# Speaker labels that are capitalised words but name a role or a crowd, not a person (folded).
_NOT_NAME_LABELS = {
    "voz", "voces", "todos", "todas", "varios", "varias", "grupo", "equipo", "publico", "audiencia", "asistente",
    "alumno", "alumna", "estudiante", "apoderado", "apoderada", "mama", "papa", "madre", "padre", "abuela",
    "abuelo", "hijo", "hija", "nino", "nina", "hombre", "mujer", "otro", "otra", "otros", "familia", "vecina",
    "vecino", "host", "guest", "audience", "voice", "everyone", "all", "student", "parent", "mother", "father",
    "man", "woman", "other", "group", "team", "unknown", "desconocido", "desconocida", "inaudible", "narrador",
    "narradora", "narrator", "traductor", "traductora", "translator", "observador", "observadora", "observer",
}
# Letters on neither side: "Rosa" is found in "ROSA:", "rosa_marzo" and "Rosa2", never inside "Rosario".
_BEFORE, _AFTER = r"(?<![^\W\d_])", r"(?![^\W\d_])"
# What may separate the words of a name: in text, spaces (or a hyphen); in ids and file names, also _ and .
_TEXT_GAP, _ID_GAP = r"[\s\-]+", r"[\s_.\-]+"
_COVERED = ("quotes, transcripts, speaker labels, document and file ids, attribute names and values, memos, "
            "the codebook, chart labels and the project's name")


@cache
def _fold_char(char: str) -> str:
    if char in "’‘ʼ`´":  # one apostrophe: "D’Angelo" is "D'Angelo"
        return "'"
    return "".join(c for c in unicodedata.normalize("NFD", char.casefold()) if not unicodedata.combining(c))


def _folded(text: str) -> tuple[str, list[int] | None]:
    """``text`` case- and accent-folded, and where each folded character came from (None: same place).

    Folding is per character so a match in the folded text maps back to the
    exact characters of the original (a decomposed ``i`` + accent included).
    """
    table = {ord(c): _fold_char(c) for c in set(text)}
    if all(len(v) == 1 for v in table.values()):
        return text.translate(table), None
    out: list[str] = []
    index: list[int] = []
    for i, char in enumerate(text):
        piece = table[ord(char)]
        out.append(piece)
        index.extend([i] * len(piece))
    index.append(len(text))
    return "".join(out), index


def _key(name: str) -> str:
    """How a name is compared: folded, its words separated by one space (``María  José`` → ``maria jose``)."""
    return " ".join(w for w in re.split(r"[\s_.\-]+", _folded(name)[0]) if w)


def _slug(pseudonym: str, matched: str) -> str:
    """The pseudonym as it goes into an id or file name: no spaces, in the case the name was written."""
    slug = re.sub(r"\s+", "_", pseudonym.strip())
    if matched.islower():
        return slug.lower()
    if matched.isupper():
        return slug.upper()
    return slug


def _label_is_a_name(label: str, common: AbstractSet[str]) -> bool:
    """A speaker label that reads as a person's name: ``Rosa``, ``Ana María`` (not ``Entrevistadora``, ``D2``)."""
    words = label.split()
    if not 1 <= len(words) <= 3 or not all(w.isalpha() and w[0].isupper() for w in words):
        return False
    folded = fold_label(label)
    first = folded.split(" ")[0]
    if len(folded) < 3 or first in _ROLE_WORDS or first in _NOT_NAME_LABELS or folded in _NOT_SPEAKERS \
            or _CODE_LIKE.match(folded) or _WORD_AND_NUMBER.match(folded):
        return False
    return not any(w in common for w in folded.split(" ")) and words[0] not in _NOT_NAMES


class Pseudonymizer:
    """Consistent pseudonyms for the names in a study: in its texts, ids, labels, attributes and memos.

    Names are matched as whole words in any case and with or without accents
    (listing ``María`` replaces ``MARIA``, ``maria`` and ``Maria`` too, never
    ``Mariano``). Use ``qc.Pseudonymizer(...).project(project)`` (or the ``pseudonymizer=`` parameter of
    :func:`qualcode.export_report` and :func:`qualcode.export_refi_qda`) to
    write outputs from a pseudonymized copy of a whole project.

    Parameters
    ----------
    names : sequence of str or mapping, optional
        Names to replace; a mapping also gives each one its pseudonym.
    detect : bool
        Also find names after forms of address (``tía``, ``don``, ``Mrs`` …)
        and speaker labels that read as names (``Rosa:``; not ``Entrevistadora:``
        nor ``D2:``).
    spacy_model : str, optional
        An installed spaCy pipeline with an NER component (``PER``/``PERSON``
        entities are replaced too).
    template : str
        How new pseudonyms are made; ``{n}`` is a running number.

    Examples
    --------
    >>> p = Pseudonymizer(["Marcela"]).fit(["La tía Gloria habló con Marcela."])
    >>> p.transform("La tía Gloria habló con Marcela.")
    'La tía Persona 2 habló con Persona 1.'
    >>> p.transform("MARCELA y marcela, no Marcelo")
    'Persona 1 y Persona 1, no Marcelo'
    >>> p.transform_id("ent_marcela_marzo")
    'ent_persona_1_marzo'
    """

    def __init__(self, names: Sequence[str] | Mapping[str, str] | None = None, *, detect: bool = True,
                 spacy_model: str | None = None, template: str = "Persona {n}") -> None:
        self.names = names
        self.detect = detect
        self.spacy_model = spacy_model
        self.template = template

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> Self:
        """A Pseudonymizer for the names in a file: one per line, or a CSV with ``name`` (and ``pseudonym``) columns.

        The file's encoding is detected as for transcripts (UTF-8 with or
        without BOM, UTF-16, Windows-1252 …); blank lines and lines starting
        with ``#`` are skipped.

        Raises
        ------
        InputFileError
            When the file is missing, unreadable or lists no name.

        Examples
        --------
        >>> Pseudonymizer.from_file("nombres.txt")  # doctest: +SKIP
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputFileError(f"{path}: cannot read the names file ({exc.strerror or exc}); give a text file "
                                 "with one name per line.", path=path) from None
        text = normalize_text(decode_bytes(data, path=path)[0])
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        names: list[str] | dict[str, str] = lines
        header = [c.strip().lower() for c in lines[0].split(",")] if lines else []
        if header[:1] == ["name"] or header[:1] == ["nombre"]:
            import csv

            rows = list(csv.reader(lines[1:]))
            if len(header) > 1:
                names = {r[0].strip(): r[1].strip() for r in rows if r and r[0].strip() and len(r) > 1}
                names.update({r[0].strip(): "" for r in rows if r and r[0].strip() and len(r) == 1})
            else:
                names = [r[0].strip() for r in rows if r and r[0].strip()]
        if not names:
            raise InputFileError(f"{path}: the names file lists no name; write one name per line.", path=path)
        return cls(names, **options)

    # -- learning the names ------------------------------------------------------
    def fit(self, texts: Iterable[str], *, speakers: Iterable[str] = ()) -> Self:
        """Collect the names to replace: the given list, and names detected in ``texts`` and ``speakers`` labels."""
        self.mapping_: dict[str, str] = {}
        self.sources_: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        given = self.names or []
        items = given.items() if isinstance(given, Mapping) else [(n, None) for n in given]
        for name, pseudonym in items:
            self._add(str(name), pseudonym or None, "listed")
        for name in list(self.mapping_):
            self._add_first_name(name, "listed")
        return self.learn(texts, speakers)

    def _add_first_name(self, name: str, source: str) -> None:
        """A full name's first word alone is the same person ("Marta Rojas" … "Marta"): the same pseudonym."""
        words = name.split()
        first = fold(words[0]) if len(words) > 1 else ""
        if len(first) >= 3 and first not in _ROLE_WORDS and first not in _stop_words("es") | _stop_words("en"):
            self._add(words[0], self._keys[_key(name)], source)

    def _add(self, name: str, pseudonym: str | None, source: str) -> None:
        name = name.strip()
        key = _key(name) if name else ""
        if not key or not re.search(r"[^\W\d_]", key):
            return
        if key not in self._keys:
            used = set(self._keys.values())
            n = len(used) + 1
            while not pseudonym and self.template.format(n=n) in used:
                n += 1
            self._keys[key] = pseudonym or self.template.format(n=n)
        if name not in self.mapping_:
            self.mapping_[name] = self._keys[key]
            self.sources_[name] = source

    def learn(self, texts: Iterable[str], speakers: Iterable[str] = ()) -> Self:
        """Add the names detected in ``texts`` and ``speakers`` (names already known keep their pseudonym).

        Unlike :meth:`fit`, names learnt before are kept: a project's copy
        learns from its memos and decisions too (see
        :func:`qualcode.workflow.pseudonymized_project`). Fits first when not
        fitted yet.

        Examples
        --------
        >>> p = Pseudonymizer(["Rosa"]).fit([]).learn(["Habló don Patricio."])
        >>> p.transform("Rosa y Patricio")
        'Persona 1 y Persona 2'
        """
        if not hasattr(self, "mapping_"):
            return self.fit(texts, speakers=speakers)
        texts = list(dict.fromkeys(t for t in texts if isinstance(t, str)))  # memos repeat: read each once
        found: list[str] = []
        common = _stop_words("es") | _stop_words("en")
        if self.detect:
            labels = dict.fromkeys(s.strip() for s in speakers if isinstance(s, str))
            found += [label for label in labels if _label_is_a_name(label, common)]
            for text in texts:
                found += [m.group(1) for m in _CUE_PATTERN.finditer(text)]
        if self.spacy_model:
            found += self._entities(texts, self.spacy_model)
        for name in found:
            words = name.split()
            while len(words) > 1 and fold(words[-1]) in common:  # "la tía Gloria Que …": Gloria
                words.pop()
            first = words[0] if words else ""
            # "la señora Directora" names a role: replacing "directora" everywhere would rewrite the study.
            if first and first not in _NOT_NAMES and fold(first) not in common and fold(first) not in _ROLE_WORDS \
                    and fold(first) not in _NOT_NAME_LABELS:
                self._add(" ".join(words), None, "detected")
                self._add_first_name(" ".join(words), "detected")
        self._compile()
        return self

    def _compile(self) -> None:
        # Longest first, so "Marta Rojas" is replaced before "Marta".
        keys = sorted(self._keys, key=len, reverse=True)
        if not keys:
            self._text_pattern = self._id_pattern = None
            return
        for attr, gap in (("_text_pattern", _TEXT_GAP), ("_id_pattern", _ID_GAP)):
            alternatives = "|".join(gap.join(re.escape(w) for w in k.split(" ")) for k in keys)
            setattr(self, attr, re.compile(f"{_BEFORE}(?:{alternatives}){_AFTER}"))

    def _entities(self, texts: list[str], model: str) -> list[str]:
        try:
            import spacy

            nlp = spacy.load(model)
        except (ImportError, OSError) as exc:
            raise MissingDependencyError(
                f"spaCy pipeline {model!r} is not installed; install it as a package or leave "
                "spacy_model unset (qualcode downloads no model).") from exc
        return [ent.text for doc in nlp.pipe(texts) for ent in doc.ents if ent.label_ in ("PER", "PERSON")]

    # -- replacing ---------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "mapping_"):
            raise ParameterError("call fit(texts) before transform().")

    def _replace(self, text: str, *, ids: bool = False) -> tuple[str, list[int], list[int]]:
        """``text`` with every name replaced, the original end of each replacement and the running shift there."""
        pattern = self._id_pattern if ids else self._text_pattern
        if pattern is None or not text:
            return text, [], []
        folded, index = _folded(text)
        pieces, ends, shifts, last, shift = [], [], [], 0, 0
        for match in pattern.finditer(folded):
            start, end = (match.start(), match.end()) if index is None else (index[match.start()], index[match.end()])
            pseudonym = self._keys[_key(match.group())]
            replacement = _slug(pseudonym, text[start:end]) if ids else pseudonym
            pieces += [text[last:start], replacement]
            shift += len(replacement) - (end - start)
            ends.append(end)
            shifts.append(shift)
            last = end
        pieces.append(text[last:])
        return "".join(pieces), ends, shifts

    @overload
    def transform(self, text: str) -> str: ...

    @overload
    def transform(self, text: _T) -> _T: ...

    def transform(self, text: object) -> object:
        """``text`` with every known name replaced, in any case or accent (non-text values pass through)."""
        self._fitted()
        return self._replace(text)[0] if isinstance(text, str) else text

    @overload
    def transform_id(self, value: str) -> str: ...

    @overload
    def transform_id(self, value: _T) -> _T: ...

    def transform_id(self, value: object) -> object:
        """An id or file name with every known name replaced (``ent_rosa_marzo`` → ``ent_persona_1_marzo``).

        In ids, ``_``, ``.``, ``-`` and digits separate words, and the
        pseudonym is written without spaces in the case the name had.
        """
        self._fitted()
        return self._replace(value, ids=True)[0] if isinstance(value, str) else value

    def transform_frame(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """A copy of ``frame`` with names replaced in the given text columns."""
        out = frame.copy()
        for column in columns:
            if column in out.columns:
                out[column] = out[column].map(self.transform)
        return out

    def scrub(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Every text cell and column name of ``frame`` with names replaced (the last pass before writing)."""
        out = frame.rename(columns=lambda c: self.transform(c) if isinstance(c, str) else c)
        for column in out.columns:
            if out[column].dtype == object or isinstance(out[column].dtype, pd.StringDtype):
                out[column] = out[column].map(
                    lambda v: self.transform(v) if isinstance(v, str)
                    else [self.transform(x) for x in v] if isinstance(v, list) else v).astype(out[column].dtype)
        return out

    def mover(self, text: str) -> tuple[str, Callable[[int], int]]:
        """The new text and a function moving an offset of the old text to the same place in the new one.

        Examples
        --------
        >>> new, moved = Pseudonymizer(["Ana"], detect=False).fit([]).mover("Ana dijo sí")
        >>> new, new[moved(4):]
        ('Persona 1 dijo sí', 'dijo sí')
        """
        from bisect import bisect_right

        new, ends, shifts = self._replace(text)

        def moved(offset: int) -> int:
            k = bisect_right(ends, offset)
            return min(offset + (shifts[k - 1] if k else 0), len(new))

        return new, moved

    def transform_corpus(self, corpus: Corpus) -> Corpus:
        """A new Corpus whose documents and segments carry pseudonyms, offsets recomputed.

        Names are replaced in each document's text and id; every segment's
        ``start``/``end`` is moved to the same words in the new text (so
        ``text[start:end] == segment text`` still holds) and its
        ``segment_id`` is computed afresh. Speakers and every text attribute
        are replaced too.
        """
        if not hasattr(self, "mapping_"):
            self.fit(list(corpus.documents["text"]), speakers=corpus.segments["speaker"].dropna().unique())
        documents = corpus.documents.copy()
        segments = corpus.segments.copy()
        ids = {d: self.transform_id(d) for d in documents["doc_id"]}
        texts, movers = {}, {}
        for doc_id, text in zip(documents["doc_id"], documents["text"], strict=True):
            texts[doc_id], movers[doc_id] = self.mover(text)
        new_start = [movers[d](int(s)) for d, s in zip(segments["doc_id"], segments["start"], strict=True)]
        new_end = [movers[d](int(e)) for d, e in zip(segments["doc_id"], segments["end"], strict=True)]
        documents["text"] = pd.array([texts[d] for d in documents["doc_id"]], dtype="string")
        segments["start"] = pd.array(new_start, dtype="Int64")
        segments["end"] = pd.array(new_end, dtype="Int64")
        segments["text"] = pd.array([texts[d][a:b] for d, a, b in zip(segments["doc_id"], new_start, new_end,
                                                                          strict=True)], dtype="string")
        for frame in (documents, segments):
            frame["doc_id"] = frame["doc_id"].map(ids).astype(frame["doc_id"].dtype)
        seen: dict[tuple[str, str], int] = {}
        new_ids = []
        for doc_id, text in zip(segments["doc_id"], segments["text"], strict=True):
            k = seen.get((doc_id, text), 0)
            seen[(doc_id, text)] = k + 1
            new_ids.append(segment_id(doc_id, text, k))
        segments["segment_id"] = pd.array(new_ids, dtype="string")
        keep = {"doc_id", "segment_id", "text", "format", "encoding", "language", "sha256", "speaker_role"}
        for frame in (documents, segments):
            for column in frame.columns:
                if column not in keep and (frame[column].dtype == object or isinstance(frame[column].dtype,
                                                                                        pd.StringDtype)):
                    transform = self.transform_id if column == "source_path" else self.transform
                    frame[column] = frame[column].map(transform).astype(frame[column].dtype)
        return Corpus(documents, segments, unit=corpus.unit)

    def transform_codebook(self, codebook: Codebook) -> Codebook:
        """The codebook with names replaced in its texts (labels, definitions, examples …); ids unchanged."""
        from dataclasses import replace

        def texts(value: dict) -> dict:
            return {lang: self.transform(v) for lang, v in value.items()}

        codes = []
        for code in codebook:
            # Field name -> its per-language texts (TEXT_FIELDS) or lists (LIST_FIELDS), names replaced.
            changes: dict[str, Any] = {f: texts(getattr(code, f)) for f in TEXT_FIELDS}
            changes.update({f: {lang: [self.transform(x) for x in v] for lang, v in getattr(code, f).items()}
                            for f in LIST_FIELDS})
            codes.append(replace(code, **changes))
        return replace(codebook, codes=codes, title=texts(codebook.title), description=texts(codebook.description),
                       references=[self.transform(r) for r in codebook.references])

    def counts(self) -> tuple[int, int, int]:
        """People replaced: in all, listed, detected only (a name listed twice in two spellings counts once)."""
        self._fitted()
        listed = {self._keys[_key(n)] for n, s in self.sources_.items() if s == "listed"}
        detected = {self._keys[_key(n)] for n, s in self.sources_.items() if s == "detected"} - listed
        return len(listed | detected), len(listed), len(detected)

    def coverage(self) -> str:
        """What pseudonymization covered, in one line for a report's 'about' sheet (no name shown).

        Examples
        --------
        >>> print(Pseudonymizer(["Rosa"], detect=False).fit([]).coverage())  # doctest: +ELLIPSIS
        yes: 1 name (1 listed, 0 detected) replaced wherever it appears: quotes, ...
        """
        n, listed, detected = self.counts()
        return (f"yes: {n} name{'s' if n != 1 else ''} ({listed} listed, {detected} detected) replaced "
                f"wherever {'they appear' if n != 1 else 'it appears'}: {_COVERED}, in any case or accent; "
                "coder names stay unless listed or detected; a name neither listed nor detected is not replaced")

    @property
    def mapping(self) -> pd.DataFrame:
        """The name → pseudonym table (keep it apart from the exports)."""
        pairs = sorted(self.mapping_.items(), key=lambda kv: kv[1])
        return pd.DataFrame(pairs, columns=["name", "pseudonym"])

    def save_mapping(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Write the mapping to a CSV the user chose (atomically); nothing else ever writes it.

        An existing mapping is replaced only with ``overwrite=True`` (it may be
        the only key to earlier pseudonymized outputs).
        """
        # Names starting with = + - @ are neutralised reversibly (a leading apostrophe; see safe.csv_value).
        text = csv_frame(self.mapping, Path(path).name, exact=True).to_csv(index=False, lineterminator="\n")
        atomic_write_text(path, text, overwrite=overwrite)



def quote_tags(quotes: pd.DataFrame, *, role: str = "role", stage: str = "stage",
               participant: str = "participant") -> pd.Series:
    """Tags like the reference report's (``Dfinal1``, ``Pintermediate2``): role initial, stage, participant number.

    Participants are numbered within each (role initial, stage) in order of first appearance, so a tag names
    one participant: ``Directora`` and ``Director`` share the initial ``D`` and are numbered together.

    Examples
    --------
    >>> q = pd.DataFrame({"role": ["principal", "principal", "supporting professional"],
    ...                   "stage": ["final", "final", "final"], "participant": ["D02", "D05", "PA2"]})
    >>> quote_tags(q).tolist()
    ['Dfinal1', 'Dfinal2', 'Sfinal1']
    >>> q = pd.DataFrame({"role": ["Directora", "Director", None], "stage": "final", "participant": ["p1", "p3", None]})
    >>> quote_tags(q).tolist()
    ['Dfinal1', 'Dfinal2', '']
    """
    check(quotes, "coded_quotes", columns=[role, stage, participant], values=False,
          where="quotes, given to quote_tags()")
    initials = {"principal": "D", "directora": "D", "director": "D"}
    numbers: dict[tuple[str, str], dict[str, int]] = {}
    tags = []
    def text(column: str) -> list[str]:  # an empty cell is "" (pandas 3 keeps it missing through astype(str))
        return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in quotes[column]]

    for r, s, p in zip(text(role), text(stage), text(participant), strict=True):
        if not p:  # no participant: no tag names them (an empty cell, not a number shared by strangers)
            tags.append("")
            continue
        initial = initials.get(r.lower(), r[:1].upper())
        seen = numbers.setdefault((initial, s), {})
        seen.setdefault(p, len(seen) + 1)
        tags.append(f"{initial}{s}{seen[p]}")
    return pd.Series(tags, index=quotes.index, dtype="string")
