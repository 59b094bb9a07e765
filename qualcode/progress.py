"""Progress on long work, shown the way the place it runs in can show it.

* In Jupyter: a widget bar (``tqdm.auto``).
* In a terminal: a bar redrawn in place (``tqdm``).
* Anywhere else (CI logs, files, pipes): a plain line at each tenth of the
  way (at most one every two seconds) and one at the end, so a log holds a
  handful of readable lines instead of hundreds of carriage returns.

Progress is written to stderr and says how many items, never which: item
names can be participants' names.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "progress"]


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ip = getattr(shell, "get_ipython", lambda: None)()
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class Progress:
    """A progress counter: ``update(n)`` as work is done, ``close()`` at the end (or use ``with``).

    Parameters
    ----------
    total : int
        How many items the work has.
    desc : str
        What is being done (``"encode"``, ``"load"`` …).
    enabled : bool
        When False nothing is shown; the object still counts.
    stream : file, optional
        Where to write (default: stderr).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(4, "load", stream=out) as bar:
    ...     for _ in range(4):
    ...         bar.update()
    >>> print(out.getvalue().strip().splitlines()[-1])
    load: 4/4 (100%) in 0.0 s
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = max(0, int(total))
        self.desc = desc
        self.n = 0
        self._stream = stream
        self._bar = None
        self._next = 0.1
        self._start = self._last = time.perf_counter()
        self._closed = False
        self.enabled = enabled and self.total > 0
        if not self.enabled:
            return
        out = stream if stream is not None else sys.stderr
        if stream is None and _in_notebook():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=desc, leave=True)
        elif stream is None and getattr(out, "isatty", lambda: False)():
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, desc=desc, file=out, leave=True, dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        fraction = self.n / self.total
        if fraction >= self._next and self.n < self.total:
            while self._next <= fraction:
                self._next += 0.1
            if time.perf_counter() - self._last >= 2.0:
                self._line()

    def _line(self) -> None:
        out = self._stream if self._stream is not None else sys.stderr
        self._last = time.perf_counter()
        elapsed = self._last - self._start
        out.write(f"{self.desc}: {self.n}/{self.total} ({self.n / self.total:.0%}) in {elapsed:.1f} s\n")
        out.flush()

    def close(self) -> None:
        """Finish: the bar closes, or the last line is written."""
        if self._closed:
            return
        self._closed = True
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        else:
            self._line()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(total: int, desc: str, enabled: bool = True) -> Progress:
    """A :class:`Progress` for ``total`` items (see the module docstring for where it shows).

    Examples
    --------
    >>> with progress(3, "suggest", enabled=False) as bar:
    ...     bar.update(3)
    >>> bar.n
    3
    """
    return Progress(total, desc, enabled=enabled)
