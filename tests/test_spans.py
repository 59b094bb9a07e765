"""qualcode.spans: document ↔ segment offsets, clipping, merging, validation (property tests)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qualcode import spans
from qualcode.errors import ParameterError
from qualcode.spans import validate


@st.composite
def text_segment_span(draw):
    """A text, a segment of it (start, end) and a span inside that segment, all in document offsets."""
    text = draw(st.text(min_size=1, max_size=60))
    seg_start = draw(st.integers(0, len(text) - 1))
    seg_end = draw(st.integers(seg_start + 1, len(text)))
    start = draw(st.integers(seg_start, seg_end - 1))
    end = draw(st.integers(start + 1, seg_end))
    return text, (seg_start, seg_end), (start, end)


span_lists = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 200)), max_size=12)


@given(text_segment_span())
def test_document_segment_document_round_trips(case):
    _, segment, span = case
    relative = spans.to_segment(span, segment[0])
    assert spans.to_document(relative, segment[0]) == span
    assert spans.from_log(*spans.to_log(span, segment), segment) == span


@given(text_segment_span())
def test_a_converted_span_slices_the_same_words(case):
    text, segment, span = case
    segment_text = text[segment[0]:segment[1]]
    a, b = spans.to_segment(span, segment[0])
    assert segment_text[a:b] == text[span[0]:span[1]]
    stored_start, stored_end = spans.to_log(span, segment)
    assert segment_text[stored_start:stored_end] == text[span[0]:span[1]]
    assert spans.validate(span, segment) == span


@given(text_segment_span(), st.integers(-50, 100), st.integers(-50, 100))
def test_clipping_stays_inside_the_segment(case, start, end):
    _, segment, _ = case
    clipped = spans.clip((start, end), segment)
    if clipped is None:
        assert max(start, segment[0]) >= min(end, segment[1])
    else:
        assert segment[0] <= clipped[0] < clipped[1] <= segment[1]
        assert start <= clipped[0] and clipped[1] <= end
        assert spans.clip(clipped, segment) == clipped


@given(span_lists, st.randoms(use_true_random=False))
def test_merging_is_idempotent_and_order_independent(items, random):
    merged = spans.merge(items)
    assert spans.merge(merged) == merged
    shuffled = list(items)
    random.shuffle(shuffled)
    assert spans.merge(shuffled) == merged
    assert all(s < e for s, e in merged)
    assert all(a[1] < b[0] for a, b in pairwise(merged))  # apart: neither overlapping nor touching
    covered = {i for s, e in items for i in range(s, e)}
    assert covered == {i for s, e in merged for i in range(s, e)}


@given(span_lists)
def test_parse_reads_the_stored_form_back(items):
    import json

    stored = json.loads(json.dumps([list(pair) for pair in items]))  # as Project.suggestions reads it back
    assert spans.parse(stored) == [tuple(p) for p in items]
    assert spans.parse([*stored, "x", [1], None]) == [tuple(p) for p in items]


@pytest.mark.parametrize(("span", "why"), [
    ((5, 5), "empty or negative"),
    ((9, 4), "empty or negative"),
    ((-1, 4), "empty or negative"),
    ("5-9", "not a (start, end) pair"),
    ((5, 9.5), "not a (start, end) pair"),
    ((True, 4), "not a (start, end) pair"),
    ((1, 2, 3), "not a (start, end) pair"),
    ((95, 105), "outside segment 9f2c (document offsets 100 to 120)"),
    ((110, 121), "outside segment 9f2c"),
])
def test_validate_says_which_span_and_why(span, why):
    with pytest.raises(ParameterError, match="span of row 2") as info:
        spans.validate(span, (100, 120), what="span of row 2", where="segment 9f2c")
    assert why in str(info.value)


def test_validate_accepts_whole_floats_and_numpy_ints():
    import numpy as np

    assert spans.validate((np.int64(101), 110.0), (100, 120)) == (101, 110)
    assert spans.validate([3, 4]) == (3, 4)


def test_span_messages_show_the_numbers_as_written():
    # numpy 2 prints np.int64(281); the user wrote 281 (or took it from segments.start).
    with pytest.raises(ParameterError) as caught:
        validate((np.int64(281), np.int64(296)), (300, 400), what="span of row 0", where="segment ab12")
    assert "span of row 0 (281, 296) is outside segment ab12" in str(caught.value)
    assert "np.int64" not in str(caught.value)
