"""Every word of many texts at once, as arrays: the corpus side of :class:`~qualcode.coders.KeywordCoder`.

A word is a run of ``\\w`` characters, exactly as ``re.finditer(r"\\w+", text)``
finds them. Running that pattern over a million words creates a million match
objects; instead the texts are split once at spaces (``str.split`` in C), each
*distinct* space-separated chunk is read with the pattern once, and the words
of every chunk occurrence are laid out with numpy. Spaces are never part of a
word, so no word straddles two chunks and the words come out the same, in the
same order, with the same offsets.

Sentence ends are counted the same way, chunk by chunk, for a sentence-end
pattern that cannot match a space and only looks ahead for white space or the
end of the text: a chunk is always followed by a space or the end of its text,
so its ends are the same on its own as in the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from itertools import repeat

import numpy as np

__all__ = ["WORD", "WordIndex", "expand", "index_words"]

WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class WordIndex:
    """The words of a list of texts, one row per occurrence (a *token*), in text order.

    Only the word of every token is laid out; where a token is (offsets,
    sentence) is worked out by :meth:`locate` for the few tokens that match.

    Attributes
    ----------
    words : list of str
        The distinct words; ``word`` indexes into it.
    word : ndarray
        Per token: its word.
    first : ndarray
        Per text: the index of its first token; ``first[-1]`` is the number of
        tokens, so the tokens of text ``i`` are ``first[i]:first[i + 1]``.
    """

    words: list[str]
    word: np.ndarray
    first: np.ndarray
    # Per token: its chunk occurrence. Per chunk occurrence: which distinct chunk, its first token, and
    # (counted over all texts joined by spaces) its offset and the sentence ends before it. Per text: the
    # same two counts at its start.
    token_chunk: np.ndarray
    chunk: np.ndarray
    chunk_token: np.ndarray
    chunk_offset: np.ndarray
    chunk_ends: np.ndarray
    text_offset: np.ndarray
    text_ends: np.ndarray
    # Per distinct chunk, its words: ptr[i]:ptr[i + 1] index word_start, word_end and ends_before (the
    # sentence ends in the chunk before the word).
    ptr: np.ndarray
    word_start: np.ndarray
    word_end: np.ndarray
    ends_before: np.ndarray

    def text_of(self, tokens: np.ndarray) -> np.ndarray:
        """The text each of ``tokens`` belongs to."""
        return np.searchsorted(self.first, tokens, side="right") - 1

    def locate(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start and end offsets of ``tokens`` in their texts, and the sentence ends before them there."""
        occurrence = self.token_chunk[tokens]
        at = self.ptr[self.chunk[occurrence]] + tokens - self.chunk_token[occurrence]
        text = self.text_of(tokens)
        start = self.chunk_offset[occurrence] - self.text_offset[text] + self.word_start[at]
        return (start, start + (self.word_end[at] - self.word_start[at]),
                self.chunk_ends[occurrence] - self.text_ends[text] + self.ends_before[at])


def expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + c) for s, c in zip(starts, counts)])`` without the Python loop.

    Examples
    --------
    >>> expand(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist()
    [5, 6, 9, 10, 11]
    """
    total = int(counts.sum())
    before = np.cumsum(counts) - counts
    return np.repeat(starts - before, counts) + np.arange(total)


def index_words(texts: list[str], sentence_end: re.Pattern[str]) -> WordIndex:
    """Find every word of ``texts``, reading each distinct space-separated chunk once.

    Parameters
    ----------
    texts : list of str
    sentence_end : re.Pattern
        Matches the end of a sentence; it must not match a space, and may look
        ahead only for white space or the end of the text.

    Examples
    --------
    >>> index = index_words(["Hola, hola-chao", "", "  y. chao."], re.compile(r"\\.(?=\\s|$)"))
    >>> [index.words[w] for w in index.word], index.first.tolist()
    (['Hola', 'hola', 'chao', 'y', 'chao'], [0, 3, 3, 5])
    >>> [a.tolist() for a in index.locate(np.arange(5))]
    [[0, 6, 11, 2, 5], [4, 10, 15, 3, 9], [0, 0, 0, 0, 1]]
    """
    # " ".join(texts).split(" ") is texts[0].split(" ") + texts[1].split(" ") + …: one split for all texts.
    chunks = " ".join(texts).split(" ")
    ids = {chunk: i for i, chunk in enumerate(dict.fromkeys(chunks))}
    chunk = np.fromiter(map(ids.__getitem__, chunks), dtype=np.intp, count=len(chunks))

    # The words of each distinct chunk, concatenated: chunk i has words[ptr[i]:ptr[i + 1]].
    word_ids: dict[str, int] = {}
    words, starts, ends, ends_before = [], [], [], []
    ptr, lengths, n_ends = [0], [], []
    for text in ids:
        stops = [match.end() for match in sentence_end.finditer(text)]
        for match in WORD.finditer(text):
            words.append(word_ids.setdefault(match.group(), len(word_ids)))
            starts.append(match.start())
            ends.append(match.end())
            ends_before.append(bisect_right(stops, match.start()) if stops else 0)
        ptr.append(len(words))
        lengths.append(len(text))
        n_ends.append(len(stops))
    ptr_arr = np.array(ptr, dtype=np.intp)

    def before(per_chunk: np.ndarray) -> np.ndarray:
        """Per chunk occurrence: the sum of ``per_chunk`` over the occurrences before it."""
        return np.cumsum(per_chunk) - per_chunk

    n_words = (ptr_arr[1:] - ptr_arr[:-1])[chunk]
    chunk_token = before(n_words)
    chunk_offset = before(np.array(lengths, dtype=np.intp)[chunk] + 1)  # each chunk is followed by a space
    chunk_ends = before(np.array(n_ends, dtype=np.intp)[chunk])
    text_chunk = before(np.fromiter(map(str.count, texts, repeat(" ")), dtype=np.intp, count=len(texts)) + 1)
    return WordIndex(
        words=list(word_ids), word=np.array(words, dtype=np.intp)[expand(ptr_arr[:-1][chunk], n_words)],
        first=np.append(chunk_token[text_chunk], chunk_token[-1] + n_words[-1]),
        token_chunk=np.repeat(np.arange(len(chunk)), n_words), chunk=chunk, chunk_token=chunk_token,
        chunk_offset=chunk_offset, chunk_ends=chunk_ends,
        text_offset=chunk_offset[text_chunk], text_ends=chunk_ends[text_chunk], ptr=ptr_arr,
        word_start=np.array(starts, dtype=np.intp), word_end=np.array(ends, dtype=np.intp),
        ends_before=np.array(ends_before, dtype=np.intp))
