"""Where the heavy work runs: in this process, in local worker processes, or on a Dask cluster.

A :class:`Runner` maps a function over items and returns the results in the
items' order. Loading maps over files; suggesting maps over fixed batches of
texts to encode and over chunks of documents for keyword matching. The work is
cut the same way whatever the number of workers, so results are identical
with one worker, with several, and on a cluster.

Only the process that made the runner (the coordinator) ever opens the
project file; workers get inputs and return results.

Use it as a context manager to make it the current runner for code that
does not take one as an argument (the coders use :func:`current`):

>>> with Runner(workers=1) as runner:
...     runner.map(abs, [-2, 3])
[2, 3]

On a Dask cluster (extra ``qualcode[dask]``), workers read transcript files
by path, so the files must be on a file system the workers share.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from .errors import MissingDependencyError, ParameterError, SchedulerError
from .progress import Progress

__all__ = ["Runner", "batches", "current", "using"]

T = TypeVar("T")
R = TypeVar("R")

_CURRENT: contextvars.ContextVar[Runner | None] = contextvars.ContextVar("qualcode_runner", default=None)


def batches(items: Sequence[T], size: int) -> list[list[T]]:
    """Cut ``items`` into consecutive lists of ``size`` (the last may be shorter).

    Examples
    --------
    >>> batches([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    if size < 1:
        raise ParameterError(f"batch size must be at least 1, got {size}.")
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


class Runner:
    """Run work here, in ``workers`` local processes, or on the Dask cluster at ``scheduler``.

    Parameters
    ----------
    workers : int
        Local worker processes (1: everything in this process).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); takes
        precedence over ``workers``. Needs ``pip install "qualcode[dask]"``.
    progress : bool
        Show progress of each :meth:`map` (see :mod:`qualcode.progress`).

    Examples
    --------
    >>> Runner(workers=2).parallel
    True
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None, *, progress: bool = False) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ParameterError(f"workers must be a whole number of at least 1, got {workers!r}.")
        self.workers = workers
        self.scheduler = scheduler
        self.progress = progress
        self._pool: Any = None
        self._client: Any = None
        self._token: contextvars.Token | None = None

    @property
    def parallel(self) -> bool:
        """Whether work leaves this process."""
        return self.scheduler is not None or self.workers > 1

    def __repr__(self) -> str:
        where = f"scheduler={self.scheduler!r}" if self.scheduler else f"workers={self.workers}"
        return f"Runner({where})"

    # -- backends -------------------------------------------------------------------
    def _dask(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as exc:
                raise MissingDependencyError(
                    "--scheduler needs Dask's distributed scheduler: pip install \"qualcode[dask]\"") from exc
            try:
                self._client = Client(self.scheduler, set_as_default=False, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise SchedulerError(
                    f"could not reach the Dask scheduler at {self.scheduler} ({exc}). Check the address "
                    "(tcp://host:port) and that the scheduler is running.") from exc
        return self._client

    def _local(self) -> Any:
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=min(self.workers, os.cpu_count() or self.workers))
        return self._pool

    # -- work -----------------------------------------------------------------------
    def map(self, fn: Callable[..., R], items: Iterable[T], *, shared: Any = None, desc: str = "work") -> list[R]:
        """``[fn(item) for item in items]``, run where this runner runs; results keep the items' order.

        ``fn`` must be a module-level function (it is pickled to the workers).
        With ``shared``, calls are ``fn(shared, item)``: on a cluster the
        shared object (a fitted coder, say) travels to each worker once
        instead of with every item. An exception in any item is raised here.
        """
        # What fn is called with: the items, or (shared, item) pairs.
        work: list[Any] = list(items)
        if shared is not None:
            fn = partial(_with_shared, fn)
            if self.scheduler is not None and self.parallel and len(work) > 1:
                handle = self._dask().scatter(shared, broadcast=True, hash=False)
                work = [(handle, item) for item in work]
            else:
                work = [(shared, item) for item in work]
        bar = Progress(len(work), desc, enabled=self.progress and len(work) > 1)
        try:
            if not self.parallel or len(work) <= 1:
                out = []
                for item in work:
                    out.append(fn(item))
                    bar.update()
                return out
            if self.scheduler is not None:
                from distributed import as_completed as dask_completed

                client = self._dask()
                futures = client.map(fn, work, pure=False)
                for _ in dask_completed(futures, loop=client.loop):
                    bar.update()
                try:
                    return list(client.gather(futures))
                except Exception as exc:
                    if type(exc).__module__.startswith("distributed"):
                        raise SchedulerError(f"the Dask cluster at {self.scheduler} failed to run {desc}: {exc}") \
                            from exc
                    raise
            from concurrent.futures import as_completed

            pool = self._local()
            futures = [pool.submit(fn, item) for item in work]
            for _ in as_completed(futures):
                bar.update()
            return [f.result() for f in futures]
        finally:
            bar.close()

    def close(self) -> None:
        """Stop local workers and disconnect from the cluster (the cluster itself keeps running)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Runner:
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None
        self.close()


def _with_shared(fn: Callable[..., R], pair: tuple[Any, Any]) -> R:
    shared, item = pair
    return fn(shared, item)


_SERIAL = Runner()


def current() -> Runner:
    """The runner of the innermost ``with Runner(...)`` block, or one that works in this process.

    Examples
    --------
    >>> current().parallel
    False
    """
    return _CURRENT.get() or _SERIAL


@contextmanager
def using(workers: int = 1, scheduler: str | None = None, *, progress: bool = False) -> Iterator[Runner]:
    """The runner for a function that takes ``workers``/``scheduler`` arguments.

    With the defaults (one worker, no scheduler) inside a ``with Runner(...)``
    block, that runner is used, so one round's loading and suggesting share
    its workers; otherwise a runner is made for the call and closed after it.

    Examples
    --------
    >>> with Runner(workers=2) as outer, using() as inner:
    ...     inner is outer
    True
    """
    outer = current()
    if workers == 1 and scheduler is None and (outer.parallel or outer.progress or not progress):
        yield outer
        return
    with Runner(workers, scheduler, progress=progress or outer.progress) as runner:
        yield runner
