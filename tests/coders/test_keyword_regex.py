"""/regex/ keywords run on RE2 (issue 21, case 22): linear time, Python's Unicode classes, refusals at validation."""

from __future__ import annotations

import pickle
import re
import textwrap

import pandas as pd
import pytest

from qualcode.codebook import Code, Codebook, load_codebook
from qualcode.codebook.regex import KeywordRegexError, compile_keyword_regex
from qualcode.codebook.yaml import parse_yaml_codebook
from qualcode.coders import KeywordCoder
from qualcode.errors import CodebookError, CodebookWarning


@pytest.mark.parametrize("pattern", ["(a|aa)+$", "(a+)+$", "(a|a)*$", "(.*a){20}$", "(ja|jaja)+$", "(-|--)+$",
                                     r"(\w+\s?)+$", "(a*)*b", "^(([a-z])+.)+[A-Z]([a-z])+$"])
def test_regex_keyword_catastrophic_backtracking_patterns_run_in_linear_time(pattern, alarm):
    regex = compile_keyword_regex(f"/{pattern}/")
    texts = ["a" * 50_000 + "b", "ja" * 25_000 + "x", "-" * 50_000 + "x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"]
    # A backtracking engine needs about 2**n steps on these, n in the tens of thousands: finishing at all (the
    # alarm fails the test after 30 s) shows the engine is linear. The times are in bench/codebook_hostile.py.
    for text in texts:
        for start, end in regex.spans(text):
            assert 0 <= start <= end <= len(text)


@pytest.mark.parametrize("pattern, hint", [
    (r"(ja)\1", "backreferences"),
    ("(?P<x>ja)(?P=x)", "named backreferences"),
    ("(?<=no )colaboramos", "lookbehind"),
    ("(?<!no )colaboramos", "lookbehind"),
    ("colabora(?=mos)", "lookahead"),
    ("colabora(?!mos)", "negative lookahead"),
    ("(a{1000}){1000}", "repetition counts"),
    (r"[\W]+", "inside"),
])
def test_regex_keyword_needing_backtracking_refused_at_validation(write, pattern, hint):
    path = write("demo.yaml", textwrap.dedent(f"""\
        qualcode_codebook: 1
        id: demo
        codes:
          - id: time
            label: {{es: Tiempo, en: Time}}
            keywords: {{es: ['/{pattern}/'], en: [time]}}
        """))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    message = str(info.value)
    assert f"{path}:4 [time] invalid regular expression '/{pattern}/'" in message and hint in message
    assert list(info.value.issues["code_id"]) == ["time"] and list(info.value.issues["field"]) == ["keywords.es"]


@pytest.mark.parametrize("pattern", [r"\bcolabor\w+", r"\bética\b", r"\w+", r"\d+", r"\s+", r"\S+", r"[\w-]+",
                                     r"\Bica", r"[^\w\s]+", "falta(ba)? de tiempo", r"x_y\b", r"fin\Z", "[]é]+",
                                     r"\W+", r"\D+", "(?i)ÉTICA", "colaboraci[oó]n"])
def test_regex_keyword_matches_as_python_re_does(pattern):
    texts = ["La COLABORACIÓN, colaborar ética; ¿Ética? étical 12 ٣ x_y\u00a0\u2003tab\tfin",
             "falta de tiempo, faltaba de tiempo — colaboración", ""]
    regex = compile_keyword_regex(f"/{pattern}/")
    for text in texts:
        assert list(regex.spans(text)) == [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]


def test_regex_keyword_coder_finds_accented_words_and_pickles():
    codebook = Codebook("demo", codes=[Code("ethics", label={"es": "Ética", "en": "Ethics"},
                                            keywords={"es": [r"/\bética\w*/"], "en": ["ethics"]})])
    segments = pd.DataFrame({
        "segment_id": ["s1", "s2"], "doc_id": ["d", "d"], "text": ["Hablamos de ÉTICA profesional.", "Nada."],
        "start": [0, 40], "speaker_role": ["participant", "participant"], "language": ["es", "es"]})
    coder = pickle.loads(pickle.dumps(KeywordCoder().fit(codebook)))  # as worker processes receive it
    found = coder.suggest(segments)
    assert list(found["segment_id"]) == ["s1"] and "«ÉTICA»" in found["evidence"].iloc[0]


def test_regex_keyword_error_is_a_value_error():
    with pytest.raises(KeywordRegexError, match=r"missing \)"):
        compile_keyword_regex("/colabor(/")
    assert issubclass(KeywordRegexError, ValueError)


def test_regex_keyword_in_an_unvalidated_codebook_skipped_and_said_when_fitting():
    codebook = Codebook("built", codes=[Code("time", label={"es": "Tiempo", "en": "Time"},
                                             keywords={"es": ["/(?<=no )tiempo/", "tiempo"], "en": ["time"]})])
    with pytest.warns(CodebookWarning, match=r"codebook 'built': code 'time', keywords\.es: .*lookbehind.*skipped"):
        coder = KeywordCoder().fit(codebook)
    segments = pd.DataFrame({"segment_id": ["s1"], "doc_id": ["d"], "text": ["no tengo tiempo"], "start": [0],
                             "speaker_role": ["participant"], "language": ["es"]})
    assert coder.suggest(segments)["code_id"].tolist() == ["time"]  # the runnable keyword still works


def test_stored_codebook_with_a_keyword_re2_cannot_run_still_opens_its_project(tmp_path):
    # Human work never lost: a project whose stored codebook an older qualcode accepted still opens and reports.
    from qualcode.project import Project

    text = ("qualcode_codebook: 1\nid: t\ncodes:\n  - id: a\n    label: {es: A, en: A}\n"
            "    keywords: {es: ['/(?<=no )colaboramos/', colaborar]}\n")
    with pytest.raises(CodebookError, match="lookbehind"):
        parse_yaml_codebook(text)
    with pytest.warns(CodebookWarning, match="Suggestions skip them; the decisions are untouched"):
        book = parse_yaml_codebook(text, stored=True)
    assert book["a"].keywords["es"] == ["/(?<=no )colaboramos/", "colaborar"]  # kept as stored: same version
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_codebook(book)
    with Project.open(tmp_path / "p.qualcode") as project, pytest.warns(CodebookWarning):
        assert project.codebook().version == book.version
