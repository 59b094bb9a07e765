"""Regular-expression keywords (``/…/``) on a linear-time engine (RE2), with Python's meaning of ``\\w``, ``\\b`` ….

A ``/(a|aa)+$/`` keyword ran on Python's backtracking ``re``: a "jajaja…" turn took time doubling with every
1.5 letters (issue 21). Keywords are now compiled by RE2 (the ``google-re2`` package), whose matching time is
linear in the text for every pattern. RE2 has no backreferences (``\\1``) and no lookaround (``(?=…)``,
``(?<!…)``): such keywords are refused when the codebook is validated, with a hint how to write them.

RE2's ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII-only, where Python's (and the researcher's) are Unicode:
``\\w`` would not match the ``ó`` of ``colaboración``. The pattern is translated before compiling:
``\\w``/``\\d``/``\\s`` (and their negations) become the same Unicode classes Python uses, and ``\\b``/``\\B``
become empty groups whose positions are checked against Python's word boundary after each match.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import re2

__all__ = ["KeywordRegex", "KeywordRegexError", "compile_keyword_regex"]

# Python's \w, \d and \s on text (str.isalnum() or "_"; Unicode decimal digits; str.isspace()), in RE2 syntax.
_WORD = r"\p{L}\p{N}_"
_DIGIT = r"\p{Nd}"
_SPACE = r"\t-\r\x1c-\x20\x{85}\p{Z}"
_CLASSES = {"w": f"[{_WORD}]", "W": f"[^{_WORD}]", "d": _DIGIT, "D": r"\P{Nd}", "s": f"[{_SPACE}]",
            "S": f"[^{_SPACE}]"}
_IN_CLASS = {"w": _WORD, "d": _DIGIT, "s": _SPACE}
MAX_REGEX_MEMORY = 8 * 2**20
# ^ RE2's memory for one compiled keyword (its default): patterns needing more, like (a{1000}){1000}, are
#   refused at validation instead of costing memory or falling back to a slower engine.

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False  # keywords match whatever the case, as they did with re.IGNORECASE
_OPTIONS.log_errors = False  # the message goes into the CodebookError, not to stderr
_OPTIONS.max_mem = MAX_REGEX_MEMORY


class KeywordRegexError(ValueError):
    """A ``/…/`` keyword the linear-time engine cannot take; the message says how to rewrite it."""


@dataclass(frozen=True)
class KeywordRegex:
    """A compiled ``/…/`` keyword: :meth:`spans` finds its matches in a text, in time linear in the text.

    Attributes
    ----------
    pattern : str
        The keyword as written, without its slashes.
    """

    pattern: str
    regex: re2._Regexp
    # Groups standing for \b (True) or \B (False): their positions are checked after each match.
    boundaries: tuple[tuple[int, bool], ...] = ()

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """Start and end of every match in ``text``, left to right, not overlapping (as ``re.finditer``)."""
        for match in self.regex.finditer(text):
            if all(_at_boundary(text, match.start(group)) == wanted for group, wanted in self.boundaries
                   if match.start(group) >= 0):
                yield match.start(), match.end()


def _at_boundary(text: str, at: int) -> bool:
    """Python's ``\\b``: a word character on one side of ``at`` and not on the other."""
    before = at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")
    after = at < len(text) and (text[at].isalnum() or text[at] == "_")
    return before != after


_ENGINE = " (keywords run on RE2, a linear-time engine without backreferences or lookaround)"
_HINTS = {
    "invalid escape sequence: \\": "backreferences (\\1) are not supported: repeat the group's text instead" + _ENGINE,
    "invalid perl operator: (?P": "named backreferences ((?P=name)) are not supported: repeat the group's text "
                                  "instead" + _ENGINE,
    "invalid perl operator: (?<": "lookbehind ((?<=…), (?<!…)) is not supported: match the text before as well"
                                  + _ENGINE,
    "invalid perl operator: (?=": "lookahead ((?=…)) is not supported: match the text after as well" + _ENGINE,
    "invalid perl operator: (?!": "negative lookahead ((?!…)) is not supported: list what may follow instead, or "
                                  "use a negative keyword" + _ENGINE,
    "pattern too large": "the pattern is too large to match in linear time: use smaller repetition counts",
    "invalid repetition size": "repetition counts ({n}) are at most 1000, and nested counts multiply",
}


def compile_keyword_regex(keyword: str) -> KeywordRegex:
    """Compile a ``/…/`` keyword (with or without its slashes) for linear-time matching.

    Parameters
    ----------
    keyword : str
        ``/colabora(r|mos)/``; matched case-insensitively, with Python's Unicode ``\\w``, ``\\d``, ``\\s``, ``\\b``.

    Returns
    -------
    KeywordRegex

    Raises
    ------
    KeywordRegexError
        For a pattern that is invalid, or that needs backtracking (backreferences, lookaround): the
        message says how to rewrite it.

    Examples
    --------
    >>> [m for m in compile_keyword_regex("/\\\\bcolabor\\\\w+/").spans("La COLABORACIÓN, colaborar")]
    [(3, 15), (17, 26)]
    >>> compile_keyword_regex("/(a)\\\\1/")
    Traceback (most recent call last):
    ...
    qualcode.codebook.regex.KeywordRegexError: invalid regular expression '/(a)\\1/': ...
    """
    text = keyword.strip()
    pattern = text[1:-1] if len(text) > 2 and text.startswith("/") and text.endswith("/") else text
    translated, boundaries = _translate(pattern)
    try:
        regex = re2.compile(translated, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        hint = next((h for key, h in _HINTS.items() if reason.startswith(key)), None)
        raise KeywordRegexError(f"invalid regular expression '/{pattern}/': {reason}"
                                + (f"; {hint}" if hint else "")) from None
    return KeywordRegex(pattern, regex, boundaries)


def _translate(pattern: str) -> tuple[str, tuple[tuple[int, bool], ...]]:
    """RE2 syntax for a Python pattern: Unicode classes for ``\\w``…, groups for ``\\b``, ``\\z`` for ``\\Z``."""
    out: list[str] = []
    boundaries: list[tuple[int, bool]] = []
    groups = 0
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            i += 2
            if in_class and letter in _IN_CLASS:
                out.append(_IN_CLASS[letter])
            elif in_class and letter in "WDS":
                raise KeywordRegexError(f"invalid regular expression '/{pattern}/': \\{letter} inside [...] is not "
                                        f"supported; write [^...] with \\{letter.lower()} instead")
            elif letter in _CLASSES:
                out.append(_CLASSES[letter])
            elif letter in "bB" and not in_class:
                groups += 1
                boundaries.append((groups, letter == "b"))
                out.append("()")
            elif letter == "Z" and not in_class:
                out.append(r"\z")
            else:
                out.append(char + letter)
            continue
        if in_class:
            if char == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(char)
        elif char == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 1
            else:
                out.append("[")
        else:
            if char == "(" and (not pattern.startswith("(?", i) or (pattern.startswith(("(?P<", "(?<"), i)
                                and not pattern.startswith(("(?<=", "(?<!"), i))):
                groups += 1
            out.append(char)
        i += 1
    return "".join(out), tuple(boundaries)
