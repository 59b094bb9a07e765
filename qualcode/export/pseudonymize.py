"""Pseudonymization: replace people's names with consistent pseudonyms before anything leaves the machine (E4).

Names come from a list the team provides (participants, colleagues, staff)
and from detection: a capitalised word after a form of address people use
for someone (``la tía Gloria``, ``don Patricio``, ``la señora Marta``,
``Mrs Lee``), and a spaCy pipeline with named-entity recognition when the
team names one that is installed (none is needed or downloaded). The same
name always gets the same pseudonym; the mapping stays in memory and is
written only where the user asks (:meth:`Pseudonymizer.save_mapping`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ..errors import MissingDependencyError, ParameterError

__all__ = ["Pseudonymizer", "quote_tags"]

# Forms of address after which a capitalised word is a person's name.
_CUES = ("tía", "tia", "tío", "tio", "don", "doña", "dona", "señora", "senora", "señor", "senor", "sra", "sr",
         "srta", "profesora", "profesor", "educadora", "mrs", "mr", "ms", "miss", "dr", "dra")
_NAME = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+)?"
_CUE_PATTERN = re.compile(rf"\b(?i:{'|'.join(_CUES)})\.?\s+({_NAME})")
# Capitalised words that follow a cue but are not people ("la señora del Servicio" is not caught anyway).
_NOT_NAMES = {"Servicio", "Local", "Slep", "SLEP", "Dios", "Ministerio", "Junji", "JUNJI", "Integra"}


class Pseudonymizer:
    """Consistent pseudonyms for the names in a study's texts.

    Parameters
    ----------
    names : sequence of str or mapping, optional
        Names to replace; a mapping also gives each one its pseudonym.
    detect : bool
        Also find names after forms of address (``tía``, ``don``, ``Mrs`` …).
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
    """

    def __init__(self, names: Sequence[str] | Mapping[str, str] | None = None, *, detect: bool = True,
                 spacy_model: str | None = None, template: str = "Persona {n}") -> None:
        self.names = names
        self.detect = detect
        self.spacy_model = spacy_model
        self.template = template

    def fit(self, texts: Iterable[str]) -> "Pseudonymizer":
        """Collect the names to replace from the given list and from ``texts``."""
        mapping: dict[str, str] = {}
        given = self.names or []
        items = given.items() if isinstance(given, Mapping) else [(n, None) for n in given]
        for name, pseudonym in items:
            name = str(name).strip()
            if name:
                mapping[name] = pseudonym or self.template.format(n=len(mapping) + 1)
        texts = [t for t in texts if isinstance(t, str)]
        found: list[str] = []
        if self.detect:
            for text in texts:
                found += [m.group(1) for m in _CUE_PATTERN.finditer(text)]
        if self.spacy_model:
            found += self._entities(texts)
        from ..codebook.validate import _stop_words
        from ..nlp.normalize import fold

        common = _stop_words("es") | _stop_words("en")
        for name in found:
            name = name.strip()
            first = name.split()[0] if name else ""
            if name and name not in mapping and first not in _NOT_NAMES and fold(first) not in common:
                mapping[name] = self.template.format(n=len(mapping) + 1)
        if not mapping:
            self.mapping_: dict[str, str] = {}
            self._pattern = None
            return self
        self.mapping_ = mapping
        # Longest first, so "Marta Rojas" is replaced before "Marta".
        alternatives = sorted(mapping, key=len, reverse=True)
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in alternatives) + r")(?!\w)")
        return self

    def _entities(self, texts: list[str]) -> list[str]:
        try:
            import spacy

            nlp = spacy.load(self.spacy_model)  # type: ignore[arg-type]
        except (ImportError, OSError) as exc:
            raise MissingDependencyError(
                f"spaCy pipeline {self.spacy_model!r} is not installed; install it as a package or leave "
                "spacy_model unset (qualcode downloads no model).") from exc
        return [ent.text for doc in nlp.pipe(texts) for ent in doc.ents if ent.label_ in ("PER", "PERSON")]

    def transform(self, text: object) -> object:
        """``text`` with every known name replaced (non-text values pass through)."""
        if not hasattr(self, "mapping_"):
            raise ParameterError("call fit(texts) before transform().")
        if not isinstance(text, str) or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.mapping_[m.group(1)], text)

    def transform_frame(self, frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
        """A copy of ``frame`` with names replaced in the given text columns."""
        out = frame.copy()
        for column in columns:
            if column in out.columns:
                out[column] = out[column].map(self.transform)
        return out

    def transform_corpus(self, corpus):  # type: ignore[no-untyped-def]
        """A new Corpus whose documents and segments carry pseudonyms, offsets recomputed.

        Names are replaced in each document's text; every segment's
        ``start``/``end`` is moved to the same words in the new text (so
        ``text[start:end] == segment text`` still holds) and its
        ``segment_id`` is computed afresh from the new text. Speakers and the
        ``pseudonym``/``participant`` attributes are replaced too.
        """
        from bisect import bisect_right

        from ..corpus import Corpus, segment_id

        if not hasattr(self, "mapping_"):
            self.fit(list(corpus.documents["text"]))
        documents = corpus.documents.copy()
        segments = corpus.segments.copy()
        new_texts, shifts = [], {}
        for doc_id, text in zip(documents["doc_id"], documents["text"]):
            pieces, starts, deltas, last, delta = [], [], [], 0, 0
            for match in (self._pattern.finditer(text) if self._pattern is not None else []):
                replacement = self.mapping_[match.group(1)]
                pieces.append(text[last:match.start()])
                pieces.append(replacement)
                delta += len(replacement) - (match.end() - match.start())
                starts.append(match.end())
                deltas.append(delta)
                last = match.end()
            pieces.append(text[last:])
            new_texts.append("".join(pieces))
            shifts[doc_id] = (starts, deltas)

        def moved(doc_id: str, offset: int) -> int:
            starts, deltas = shifts[doc_id]
            k = bisect_right(starts, offset)
            return offset + (deltas[k - 1] if k else 0)

        documents["text"] = pd.array(new_texts, dtype="string")
        texts = dict(zip(documents["doc_id"], new_texts))
        new_start = [moved(d, int(s)) for d, s in zip(segments["doc_id"], segments["start"])]
        new_end = [moved(d, int(e)) for d, e in zip(segments["doc_id"], segments["end"])]
        segments["start"] = pd.array(new_start, dtype="Int64")
        segments["end"] = pd.array(new_end, dtype="Int64")
        segments["text"] = pd.array([texts[d][a:b] for d, a, b in zip(segments["doc_id"], new_start, new_end)],
                                    dtype="string")
        seen: dict[tuple[str, str], int] = {}
        ids = []
        for doc_id, text in zip(segments["doc_id"], segments["text"]):
            k = seen.get((doc_id, text), 0)
            seen[(doc_id, text)] = k + 1
            ids.append(segment_id(doc_id, text, k))
        segments["segment_id"] = pd.array(ids, dtype="string")
        for frame in (documents, segments):
            for column in ("speaker", "pseudonym", "participant"):
                if column in frame.columns:
                    frame[column] = frame[column].map(self.transform).astype(frame[column].dtype)
        return Corpus(documents, segments, unit=corpus.unit)

    @property
    def mapping(self) -> pd.DataFrame:
        """The name → pseudonym table (keep it apart from the exports)."""
        return pd.DataFrame(sorted(self.mapping_.items(), key=lambda kv: kv[1]), columns=["name", "pseudonym"])

    def save_mapping(self, path: str | Path, *, overwrite: bool = False) -> None:
        """Write the mapping to a CSV the user chose (atomically); nothing else ever writes it.

        An existing mapping is replaced only with ``overwrite=True`` (it may be
        the only key to earlier pseudonymized outputs).
        """
        from ..io.atomic import atomic_write_text
        from .safe import csv_frame

        # Names starting with = + - @ are neutralised reversibly (a leading apostrophe; see safe.csv_value).
        text = csv_frame(self.mapping, Path(path).name, exact=True).to_csv(index=False, lineterminator="\n")
        atomic_write_text(path, text, overwrite=overwrite)


def quote_tags(quotes: pd.DataFrame, *, role: str = "role", stage: str = "stage",
               participant: str = "participant") -> pd.Series:
    """Tags like the reference report's (``Dfinal1``, ``Pintermediate2``): role initial, stage, participant number.

    Participants are numbered within each (role, stage) in order of first appearance.

    Examples
    --------
    >>> q = pd.DataFrame({"role": ["principal", "principal", "supporting professional"],
    ...                   "stage": ["final", "final", "final"], "participant": ["D02", "D05", "PA2"]})
    >>> quote_tags(q).tolist()
    ['Dfinal1', 'Dfinal2', 'Sfinal1']
    """
    missing = [c for c in (role, stage, participant) if c not in quotes.columns]
    if missing:
        raise ParameterError(f"quote tags need attribute column(s) {missing}.")
    initials = {"principal": "D", "directora": "D", "director": "D"}
    numbers: dict[tuple[str, str], dict[str, int]] = {}
    tags = []
    for r, s, p in zip(quotes[role].astype(str), quotes[stage].astype(str), quotes[participant].astype(str)):
        seen = numbers.setdefault((r, s), {})
        seen.setdefault(p, len(seen) + 1)
        tags.append(f"{initials.get(r.lower(), r[:1].upper())}{s}{seen[p]}")
    return pd.Series(tags, index=quotes.index, dtype="string")
