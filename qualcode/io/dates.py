"""Dates as research teams write them in attribute sheets: parsed, with the reading said.

A Chilean team's Excel writes ``15/03/2024`` (day first), a US colleague's
``03/15/2024``, a script ``2024-03-15``, and an ``.xlsx`` date cell arrives as
a datetime. Sorted as text, ``02/04/2024`` comes before ``09/12/2023``; so any
column used to order documents is read as dates when its values are dates.

Accepted shapes (one example each):

- ISO 8601, always: ``2024-03-15``, ``2024-03-15T10:30``, ``2024-03-15 10:30:00``;
- day/month/year with ``/``, ``-`` or ``.``: ``15/03/2024``, ``15-03-2024``, ``15.03.2024``, ``15/03/24``;
- date and datetime objects (Excel date cells), pandas Timestamps.

Which of day and month comes first is decided per column from its evidence:
a first number above 12 (``15/03/2024``) proves day first, a second number above
12 (``03/15/2024``) proves month first; both in one column is an error, since no
reading fits every value. With no such evidence every value reads the same
either way or the column is ambiguous (``03/04/2024``); it is then read day
first, the Spanish and Latin American convention, and :class:`DateColumn`
says that this was a guess.

A date column with a few cells that are no date (``pendiente``, ``sin fecha``,
``31/02/2024``) is still a date column when most of its cells are dates: those
cells read as no date (ordered last) and :attr:`DateColumn.unreadable` names
them, so the order is by date for every other document and the exceptions
are said, never a silent fall back to text order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["MIN_DATES", "DateColumn", "is_slashed_date", "read_dates"]

#: Dates a column needs to be read as a date column (and more dates than cells that are no date); one date
#: alone still orders (a round of one interview), one date among text does not make text a date column.
MIN_DATES = 1

_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$")
_DMY = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})\s*$")


def is_slashed_date(value: object) -> bool:
    """Whether a cell is written as day/month/year (or month/day/year) with ``/``, ``-`` or ``.``.

    Examples
    --------
    >>> is_slashed_date("15/03/2024"), is_slashed_date("2024-03-15"), is_slashed_date(3)
    (True, False, False)
    """
    return isinstance(value, str) and _DMY.match(value) is not None


@dataclass
class DateColumn:
    """A column read as dates.

    Attributes
    ----------
    dates : Series
        ``datetime64`` values (``NaT`` where the cell is empty), same index as the input.
    order : str
        ``"iso"``, ``"day first"`` or ``"month first"``: how slashed dates were read.
    guessed : bool
        True when nothing in the column proved the order of day and month and
        at least one value would read differently the other way (``03/04/2024``).
    ambiguous : list of str
        Those values.
    unreadable : list of str
        Non-empty cells that are no date (text, an impossible date), read as no date.
    """

    dates: pd.Series
    order: str
    guessed: bool = False
    ambiguous: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT or (
        isinstance(value, str) and not value.strip())


def read_dates(values: Iterable[object]) -> DateColumn | None:
    """Read a column as dates, or ``None`` when any non-empty value is not a date.

    Parameters
    ----------
    values : iterable
        Cells of one column: strings, dates, datetimes or empty cells.

    Returns
    -------
    DateColumn or None
        ``None`` if the column is empty or not a date column: fewer than
        :data:`MIN_DATES` dates, or fewer dates than other values (it is then
        ordered as text), or proven day-first and proven month-first dates
        mixed, since no single reading fits it. Otherwise the cells that are
        no date are listed in ``unreadable`` and read as ``NaT``.

    Examples
    --------
    >>> column = read_dates(["15/03/2024", "02/04/2024", "09/12/2023"])
    >>> [d.date().isoformat() for d in column.dates], column.order, column.guessed
    (['2024-03-15', '2024-04-02', '2023-12-09'], 'day first', False)
    >>> column = read_dates(["03/04/2024"])
    >>> column.dates[0].date().isoformat(), column.guessed, column.ambiguous
    ('2024-04-03', True, ['03/04/2024'])
    >>> read_dates(["marzo", "2024-03-01"]) is None
    True
    >>> column = read_dates(["15/03/2024", "pendiente", "09/12/2023"])
    >>> column.unreadable, column.dates.isna().tolist()
    (['pendiente'], [False, True, False])
    """
    items = list(values)
    parsed: list[object] = []
    slashed: list[tuple[int, int, int, int, str]] = []  # position, a, b, year, text
    unreadable: list[tuple[int, str]] = []
    for position, value in enumerate(items):
        if _is_blank(value):
            parsed.append(None)
            continue
        if isinstance(value, (dt.datetime, dt.date, pd.Timestamp)):
            parsed.append(pd.Timestamp(value))
            continue
        text = str(value)
        iso = _ISO.match(text)
        if iso:
            parts = [int(p) if p else 0 for p in iso.groups()]
            try:
                parsed.append(pd.Timestamp(dt.datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])))
            except ValueError:
                parsed.append(None)
                unreadable.append((position, text.strip()))
            continue
        dmy = _DMY.match(text)
        if not dmy:
            parsed.append(None)
            unreadable.append((position, text.strip()))
            continue
        a, b, year = int(dmy.group(1)), int(dmy.group(3)), int(dmy.group(4))
        if len(dmy.group(4)) == 2:
            year += 2000  # two-digit years in interview studies are this century
        slashed.append((position, a, b, year, text.strip()))
        parsed.append(None)
    day_first = any(a > 12 for _, a, _, _, _ in slashed)
    month_first = any(b > 12 for _, _, b, _, _ in slashed)
    if day_first and month_first:
        return None
    order = "month first" if month_first else "day first"
    ambiguous = [text for _, a, b, _, text in slashed if a <= 12 and b <= 12 and a != b]
    for position, a, b, year, text in slashed:
        day, month = (b, a) if month_first else (a, b)
        try:
            parsed[position] = pd.Timestamp(dt.datetime(year, month, day))
        except ValueError:  # 31/02/2024
            unreadable.append((position, text))
    n_dates = sum(v is not None for v in parsed)
    if n_dates < MIN_DATES or n_dates <= len(unreadable):
        return None  # not a date column: a few dates among text (or one lone date) order nothing reliably
    dates = pd.Series(pd.to_datetime(pd.Series(parsed, dtype=object)), dtype="datetime64[ns]")
    if not slashed:
        order = "iso"
    return DateColumn(dates=dates, order=order, guessed=bool(ambiguous) and not (day_first or month_first),
                      ambiguous=ambiguous, unreadable=[text for _, text in sorted(unreadable)])
