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

import asyncio
import contextvars
import ipaddress
import logging
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from .errors import MissingDependencyError, ParameterError, SchedulerError
from .progress import Progress

__all__ = ["CONNECT_TIMEOUT_S", "Runner", "batches", "current", "scheduler_address", "using"]

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

_CURRENT: contextvars.ContextVar[Runner | None] = contextvars.ContextVar("qualcode_runner", default=None)

# -- budgets for work on a cluster ------------------------------------------------------------------------------
# Everything that waits on the network has a bound: a wrong address must not hang a command.
#: Seconds to resolve the scheduler's host, connect and exchange Dask's greeting, all together. A scheduler
#: answers in milliseconds on a LAN and well under a second across continents; 5 s leaves room for a slow VPN
#: while a wrong address costs a few seconds, not minutes (hostile input is refused in under 10 s). Set
#: ``QUALCODE_SCHEDULER_TIMEOUT`` (seconds) or ``Runner(timeout=...)`` for a slower link.
CONNECT_TIMEOUT_S = 5.0
#: The most ``QUALCODE_SCHEDULER_TIMEOUT`` may ask for: beyond ten minutes it is not a timeout any more.
_MAX_TIMEOUT_S = 600.0
#: A cluster with no workers runs nothing. Adaptive clusters start workers for waiting work within a couple of
#: minutes; after five minutes without a single worker none is coming, and the command says so and stops.
NO_WORKERS_TIMEOUT_S = 300.0
#: Without a finished task for this long, a line says how the work stands and how to stop it: encoding a batch
#: takes seconds, so a minute of silence is worth a word, not an error (a busy cluster is slow, not broken).
STALL_NOTICE_S = 60.0
#: Seconds to fetch one finished task's result: results are small (a group of documents, a batch of vectors,
#: a few MB at most), which a minute moves over the slowest link we expect.
RESULT_TIMEOUT_S = 60.0
#: How often the waiting loop looks for finished tasks and at the connection (both without a message).
_POLL_S = 1.0
#: How often, while no task finishes, it asks the scheduler how many workers it has (one small message).
_WORKERS_CHECK_S = 5.0
#: Addresses longer than this are not addresses (and are not echoed whole in messages).
_MAX_ADDRESS_CHARS = 300

_SCHEMES = ("tcp", "tls")
_ACCEPTED = ("Give the address of a running Dask scheduler as tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 "
             "(the port 'dask scheduler' prints; 8786 by default), or tls://HOST:PORT with Dask's TLS settings.")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_ADDRESS = re.compile(r"(?:(?P<scheme>[^:/]*)://)?(?:\[(?P<ip6>[^\]]*)\]|(?P<host>[^:/?#]*))"
                      r"(?::(?P<port>[^/?#]*))?(?P<rest>.*)", re.DOTALL)


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


def _error(template: str, **names: Any) -> SchedulerError:
    """A SchedulerError in Python words, with the same in command-line words as its ``cli_message``.

    ``{opt}`` is ``scheduler=`` or ``--scheduler``; ``{off}`` says how to work without the cluster.
    """
    return SchedulerError(template.format(opt="scheduler=", off="with scheduler=None", **names),
                          cli_message=template.format(opt="--scheduler ", off="without --scheduler", **names))


def scheduler_address(address: str) -> str:
    """The Dask scheduler address ``address`` in its checked form, ``scheme://host:port``.

    Checked before anything connects: the scheme (``tcp``, or ``tls`` with
    Dask's TLS settings; ``host:port`` alone means ``tcp``), a host name or
    IP address (IPv6 in brackets) and a port are required.

    Parameters
    ----------
    address : str
        The address as the user wrote it (surrounding spaces are ignored).

    Returns
    -------
    str
        ``tcp://host:port`` or ``tls://host:port``.

    Raises
    ------
    SchedulerError
        When ``address`` is not such an address; the message says what is
        wrong and shows the accepted form (in ``--scheduler`` words for the
        command line, as ``cli_message``).

    Examples
    --------
    >>> scheduler_address("10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> scheduler_address("tcp://[::1]:8786")
    'tcp://[::1]:8786'
    >>> scheduler_address("http://10.0.0.5:8787")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qualcode.errors.SchedulerError: scheduler='http://10.0.0.5:8787' is not a Dask scheduler address: ...
    """
    if not isinstance(address, str):
        raise _error("{opt}{shown} is not a Dask scheduler address: it is not text. {accepted}",
                     shown=repr(address)[:80], accepted=_ACCEPTED)
    text = address.strip()
    shown = repr(text if len(text) <= 80 else text[:80] + "...")

    def refuse(problem: str) -> SchedulerError:
        return _error("{opt}{shown} is not a Dask scheduler address: {problem}. {accepted}",
                      shown=shown, problem=problem, accepted=_ACCEPTED)

    if not text:
        raise refuse("it is empty")
    if len(text) > _MAX_ADDRESS_CHARS:
        raise refuse(f"it is {len(text)} characters long")
    if any(not c.isprintable() or c.isspace() for c in text):
        raise refuse("it holds spaces or control characters")
    found = _ADDRESS.fullmatch(text)
    if found is None:  # pragma: no cover - the pattern matches any text
        raise refuse("it cannot be read")
    scheme = (found["scheme"] if found["scheme"] is not None else "tcp").lower()
    if scheme in ("http", "https"):
        raise refuse(f"{scheme}:// is a web address (the dashboard's, port 8787); the scheduler's own "
                     "address starts with tcp://")
    if scheme not in _SCHEMES:
        raise refuse(f"the scheme {scheme + '://'!r} is not one qualcode connects with (tcp:// or tls://)")
    if found["rest"]:
        raise refuse(f"{found['rest'][:40]!r} after the port has no place in a scheduler address")
    if found["ip6"] is None and text.split("://", 1)[-1].count(":") > 1:
        raise refuse("an IPv6 address goes in brackets: tcp://[::1]:8786")
    if found["ip6"] is not None:
        try:
            host = f"[{ipaddress.IPv6Address(found['ip6'])}]"
        except ValueError:
            raise refuse(f"[{found['ip6']}] is not an IPv6 address") from None
    else:
        host = found["host"]
        if not host:
            raise refuse("the host is missing")
        if "[" in host or "]" in host:
            raise refuse("an IPv6 address goes in brackets, both of them: tcp://[::1]:8786")
        labels = host.rstrip(".").split(".")
        if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
            raise refuse(f"{host!r} is not a host name or IP address")
    port = found["port"]
    if port is None:
        raise refuse("the port is missing (the scheduler listens on 8786 unless told otherwise)")
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise refuse(f"the port {port[:12]!r} is not a number from 1 to 65535")
    return f"{scheme}://{host}:{int(port)}"


def _timeout_from_environment() -> float:
    """``QUALCODE_SCHEDULER_TIMEOUT`` in seconds, or :data:`CONNECT_TIMEOUT_S` when unset."""
    value = os.environ.get("QUALCODE_SCHEDULER_TIMEOUT", "").strip()
    if not value:
        return CONNECT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= _MAX_TIMEOUT_S:  # also refuses nan
        raise SchedulerError(f"QUALCODE_SCHEDULER_TIMEOUT={value[:20]!r} is not a number of seconds from 0 to "
                             f"{_MAX_TIMEOUT_S:.0f}: set it to e.g. 30, or unset it for the default "
                             f"({CONNECT_TIMEOUT_S:.0f} s).")
    return seconds


class _Late(Exception):
    """A bounded wait ran out (internal: always turned into a SchedulerError)."""


def _within(seconds: float, fn: Callable[[], R]) -> R:
    """``fn()``, in a helper thread so that a wait nothing else bounds ends after ``seconds``.

    On time out the thread is left to finish on its own (it is a daemon and
    holds no qualcode state); the caller gets :class:`_Late`.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="qualcode-scheduler-wait", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _Late
    if "error" in box:
        raise box["error"]
    return box["value"]


def _connection_args() -> dict[str, Any]:
    from distributed.security import Security

    return Security().get_connection_args("client")


def _greet(address: str, timeout: float) -> dict[str, Any]:
    """Resolve, connect and ask ``address`` who it is, all within ``timeout`` seconds.

    Dask's own connect retries a refused port until its timeout and waits for
    a greeting without one; this asks once, with a single deadline, so that
    each way of failing is told apart and none hangs.
    """
    from distributed.comm import connect

    deadline = time.monotonic() + timeout
    host, port = address.split("://", 1)[1].rsplit(":", 1)
    host = host.strip("[]")
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        addresses = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _error("{opt}{address!r}: the host {host!r} is not known ({why}). Check its spelling, or give the "
                     "scheduler's IP address.", address=address, host=host, why=_why(exc)) from exc
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.settimeout(left)
                probe.connect(sockaddr)
            break
        except OSError as exc:
            last = exc
    else:
        if isinstance(last, ConnectionRefusedError):
            raise _error("{opt}{address!r}: nothing listens at {where} (connection refused). Is the scheduler "
                         "running ('dask scheduler' prints its address), and is {port} its port (8786 by "
                         "default)?", address=address, where=where, port=port) from last
        if isinstance(last, TimeoutError):
            raise _late(address, where, timeout, "no answer to the connection") from last
        raise _error("{opt}{address!r}: cannot connect to {where} ({why}). Check the address and that this "
                     "machine can reach the scheduler's network.", address=address, where=where,
                     why=_why(last)) from last
    if time.monotonic() >= deadline:
        raise _late(address, where, timeout, "no answer to the connection")

    async def identity() -> Any:
        comm = await connect(address, timeout=max(0.1, deadline - time.monotonic()), **_connection_args())
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), max(0.1, deadline - time.monotonic()))

    try:
        reply = asyncio.run(bounded())
    except TimeoutError as exc:
        raise _late(address, where, timeout, "it accepted the connection but did not answer as a Dask "
                    "scheduler") from exc
    except Exception as exc:
        if address.startswith("tls://"):
            raise _error("{opt}{address!r}: no TLS connection to {where} ({why}). tls:// needs Dask's TLS settings "
                         "(distributed.comm.tls.* in Dask's configuration); a scheduler without TLS has a tcp:// "
                         "address.", address=address, where=where, why=_why(exc)) from exc
        # Dask's connect retries a connection closed during its handshake until its time is up, then says
        # "Timed out trying to connect": the endpoint kept closing, it did not answer.
        closed = isinstance(exc, OSError) and any(
            word in str(exc).lower() for word in ("closed", "reset", "timed out trying to connect"))
        what = ("it accepted the connection and closed it without answering as a Dask scheduler"
                if closed else f"it answered, but not as a Dask scheduler does ({_why(exc)})")
        raise _error("{opt}{address!r}: {what}. Is {where} the scheduler's address (its port is 8786 by "
                     "default; 8787 is its web dashboard)?", address=address, what=what, where=where) from exc
    role = reply.get("type") if isinstance(reply, dict) else None
    if role != "Scheduler":
        what = f"a Dask {role}" if isinstance(role, str) and role.isidentifier() else "something else"
        raise _error("{opt}{address!r} is {what}, not a Dask scheduler: give the scheduler's address (the one "
                     "'dask scheduler' prints, port 8786 by default).", address=address, what=what)
    return reply


def _late(address: str, where: str, timeout: float, what: str) -> SchedulerError:
    return _error("{opt}{address!r}: {what} within {timeout:g} s. Check that {where} is the scheduler's address "
                  "(port 8786 by default; 8787 is its web dashboard) and that no firewall is in the way; on a slow "
                  "link allow more time with QUALCODE_SCHEDULER_TIMEOUT=30.", address=address, what=what,
                  timeout=timeout, where=where)


def _why(exc: BaseException | None) -> str:
    """A one-line reason from an exception, without the internals of the library that raised it."""
    if exc is None:
        return "no reason given"
    text = (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).splitlines()[0]
    return text if len(text) <= 120 else text[:117] + "..."


@contextmanager
def _dask_logs_muted() -> Iterator[None]:
    """Mute Dask's client log while disconnecting.

    From a cluster that failed, the client logs tracebacks of its attempts to
    reconnect, after qualcode has already said what failed and what to do.
    """
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.client")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _workers_said(count: int | None) -> str:
    return "workers not known yet" if count is None else f"{count} worker{'s' * (count != 1)}"


def _is_dasks(exc: BaseException) -> bool:
    """Whether ``exc`` comes from Dask's machinery rather than from the work itself."""
    return type(exc).__module__.split(".")[0] in ("distributed", "tornado")


class Runner:
    """Run work here, in ``workers`` local processes, or on the Dask cluster at ``scheduler``.

    Parameters
    ----------
    workers : int
        Local worker processes (1: everything in this process).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); takes
        precedence over ``workers``. Checked here (see
        :func:`scheduler_address`); the cluster is contacted when the runner
        is entered (``with``) or first used, within ``timeout``. Every map
        with work then runs there, even of a single item. Needs
        ``pip install "qualcode[dask]"``.
    progress : bool
        Show progress of each :meth:`map` (see :mod:`qualcode.progress`) and,
        on a cluster, a line on where the work ran and, while nothing
        finishes for a minute, how it stands.
    timeout : float, optional
        Seconds to reach the scheduler (default: ``QUALCODE_SCHEDULER_TIMEOUT``
        or :data:`CONNECT_TIMEOUT_S`).

    Attributes
    ----------
    sent : list of (str, int)
        On a cluster: each map sent there, as (what, number of tasks).

    Raises
    ------
    SchedulerError
        For an address that is not one, a scheduler that cannot be reached
        or does not answer in time, a cluster that loses its workers or the
        connection, each with what to do.

    Examples
    --------
    >>> Runner(workers=2).parallel
    True
    """

    def __init__(self, workers: int = 1, scheduler: str | None = None, *, progress: bool = False,
                 timeout: float | None = None) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ParameterError(f"workers must be a whole number of at least 1, got {workers!r}.")
        if timeout is not None and not (isinstance(timeout, int | float) and 0 < timeout <= _MAX_TIMEOUT_S):
            raise ParameterError(f"timeout must be a number of seconds from 0 to {_MAX_TIMEOUT_S:.0f}, "
                                 f"got {timeout!r}.")
        self.workers = workers
        self.scheduler = scheduler_address(scheduler) if scheduler is not None else None
        self.timeout = float(timeout) if timeout is not None else (
            _timeout_from_environment() if scheduler is not None else CONNECT_TIMEOUT_S)
        self.progress = progress
        self.sent: list[tuple[str, int]] = []
        self._failed = False
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

    def _notice(self, text: str) -> None:
        log.info(text)
        if self.progress:  # a line beside the progress bars, where they go (see qualcode.progress)
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    # -- backends -------------------------------------------------------------------
    def _dask(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as exc:
                raise MissingDependencyError(
                    "--scheduler needs Dask's distributed scheduler: pip install \"qualcode[dask]\"") from exc
            address = self.scheduler
            assert address is not None
            try:
                # In a thread of its own: name look-ups have no timeout, and a notebook's thread already runs an
                # event loop.
                info = _within(self.timeout + 2, partial(_greet, address, self.timeout))
            except _Late:
                raise _late(address, address.split("://", 1)[1], self.timeout, "no answer") from None
            try:
                # The greeting above showed a scheduler that answers; the client's own handshake is the same
                # exchange, bounded again in case the scheduler stops answering in between.
                self._client = _within(2 * self.timeout + 5, lambda: Client(
                    address, set_as_default=False, timeout=f"{self.timeout}s", security=None))
            except _Late:
                raise _late(address, address.split("://", 1)[1], self.timeout,
                            "the scheduler stopped answering") from None
            except Exception as exc:  # OSError, TimeoutError, or Dask refusing this client (versions)
                raise _error("{opt}{address!r}: the scheduler answered, then the connection failed ({why}). Try "
                             "again; if it fails again, check the scheduler's log.", address=address,
                             why=_why(exc)) from exc
            workers = info.get("workers")
            count = len(workers) if isinstance(workers, dict) else 0
            self._notice(f"working with the Dask cluster at {address} ({_workers_said(count)}): files are read and "
                         "texts encoded there; the project file is written here")
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
        With a scheduler every item runs on the cluster (one item too: the
        user asked for the cluster); local workers are not started for one.
        """
        # What fn is called with: the items, or (shared, item) pairs.
        work: list[Any] = list(items)
        if not work:
            return []
        if self.scheduler is not None:
            return self._on_cluster(fn, work, shared, desc)
        if shared is not None:
            fn = partial(_with_shared, fn)
            work = [(shared, item) for item in work]
        bar = Progress(len(work), desc, enabled=self.progress and len(work) > 1)
        try:
            if not self.parallel or len(work) <= 1:
                out = []
                for item in work:
                    out.append(fn(item))
                    bar.update()
                return out
            from concurrent.futures import as_completed

            pool = self._local()
            futures = [pool.submit(fn, item) for item in work]
            for _ in as_completed(futures):
                bar.update()
            return [f.result() for f in futures]
        finally:
            bar.close()

    def _on_cluster(self, fn: Callable[..., R], work: list[Any], shared: Any, desc: str) -> list[R]:
        """``map`` on the cluster, with every wait bounded or watched (see the module's budgets)."""
        client = self._dask()
        if shared is not None:
            fn = partial(_with_shared, fn)
            # Scattering waits for a worker to hold the object: wait for one first, saying so.
            self._await_workers(client, desc)
            try:
                handle = _within(NO_WORKERS_TIMEOUT_S + self.timeout, lambda: client.scatter(
                    shared, broadcast=True, hash=False, timeout=NO_WORKERS_TIMEOUT_S))
            except _Late:
                raise self._lost(desc, "no answer while handing the coder to the workers") from None
            except Exception as exc:
                if not _is_dasks(exc) and not isinstance(exc, OSError | TimeoutError):
                    raise
                raise self._lost(desc, f"handing the coder to the workers failed ({_why(exc)})") from exc
            work = [(handle, item) for item in work]
        futures = client.map(fn, work, pure=False)
        self.sent.append((desc, len(futures)))
        bar = Progress(len(futures), desc, enabled=self.progress and len(futures) > 1)
        try:
            self._watch(client, futures, bar, desc)
            out = []
            for future in futures:
                try:
                    out.append(future.result(timeout=RESULT_TIMEOUT_S))
                except Exception as exc:
                    if not _is_dasks(exc) and not isinstance(exc, TimeoutError | OSError):
                        raise  # the work's own error, as it would be raised here
                    raise self._lost(desc, f"fetching a result failed ({_why(exc)})") from exc
            return out
        except BaseException:
            # Stop what is still queued (Ctrl-C, a failed task, a lost cluster): the cluster keeps running but
            # does not go on with work nobody will collect.
            try:
                _within(self.timeout, lambda: client.cancel([f for f in futures if not f.done()]))
            except Exception:  # the cluster may be gone: closing the client releases the work anyway
                log.debug("could not cancel work on %s", self.scheduler, exc_info=True)
            raise
        finally:
            bar.close()

    def _lost(self, desc: str, what: str) -> SchedulerError:
        return _error("the Dask cluster at {address} did not finish {desc}: {what}. Run the command again, or "
                      "{off} to work on this machine.", address=self.scheduler, desc=desc, what=what)

    def _workers(self, client: Any) -> int:
        """How many workers the scheduler has now (asks it, within the connect budget)."""
        try:
            return len(_within(self.timeout, client.nthreads))
        except _Late:
            raise _error("the Dask scheduler at {address} stopped answering (nothing within {timeout:g} s). Check "
                         "that it is still running, then run the command again, or {off} to work on this "
                         "machine.", address=self.scheduler, timeout=self.timeout) from None

    def _await_workers(self, client: Any, desc: str) -> None:
        start = time.monotonic()
        told = False
        while self._workers(client) == 0:
            waited = time.monotonic() - start
            if waited >= NO_WORKERS_TIMEOUT_S:
                raise self._no_workers(desc)
            if not told:
                self._notice(f"waiting for a worker to join the Dask cluster at {self.scheduler} (it has none; "
                             f"giving up after {NO_WORKERS_TIMEOUT_S:.0f} s; Ctrl-C stops)")
                told = True
            time.sleep(_POLL_S)

    def _no_workers(self, desc: str) -> SchedulerError:
        return _error("the Dask cluster at {address} has had no workers for {waited:.0f} s, so {desc} could not "
                      "run: start workers ('dask worker {address}', on machines that see the transcript files at "
                      "the same paths), or run {off} to work on this machine.", address=self.scheduler,
                      waited=NO_WORKERS_TIMEOUT_S, desc=desc)

    def _watch(self, client: Any, futures: list[Any], bar: Progress, desc: str) -> None:
        """Wait for ``futures``; raise a failed task's error, or a SchedulerError when the cluster fails.

        Waits without a bound while the cluster is healthy (work may take long),
        but says how it stands after :data:`STALL_NOTICE_S` without a finished
        task, stops after :data:`NO_WORKERS_TIMEOUT_S` without a worker, and
        stops when the connection to the scheduler is lost.
        """
        finished = threading.Event()
        for future in futures:
            future.add_done_callback(lambda _: finished.set())
        pending = list(futures)
        last_done = last_told = time.monotonic()
        last_asked = float("-inf")
        workers: int | None = None
        no_workers_since: float | None = None
        while pending:
            finished.wait(_POLL_S)
            finished.clear()
            still = []
            for future in pending:
                if not future.done():
                    still.append(future)
                elif future.status == "error":
                    try:
                        exc = _within(RESULT_TIMEOUT_S, future.exception)
                    except _Late:
                        raise self._lost(desc, "a task failed and its error could not be fetched") from None
                    if _is_dasks(exc):
                        raise self._lost(desc, f"a task failed in Dask itself ({type(exc).__name__}: {_why(exc)}; "
                                         "a worker killed by running out of memory looks like this)") from exc
                    future.result()  # the work's own error, raised with its traceback
                elif future.status != "finished":
                    raise self._lost(desc, f"the cluster dropped the work (task {future.status})")
            now = time.monotonic()
            if len(still) < len(pending):
                bar.update(len(pending) - len(still))
                pending = still
                last_done = last_told = now
                no_workers_since = None
                continue
            if client.status not in ("running", "connecting"):
                raise self._lost(desc, f"the connection to the scheduler was lost (client {client.status})")
            if now - last_asked >= _WORKERS_CHECK_S:  # nothing finished: is anyone working?
                workers, last_asked = self._workers(client), now
                no_workers_since = (no_workers_since or now) if workers == 0 else None
            if no_workers_since is not None and now - no_workers_since >= NO_WORKERS_TIMEOUT_S:
                raise self._no_workers(desc)
            if now - last_told >= STALL_NOTICE_S:
                self._notice(f"{desc}: {len(futures) - len(pending)}/{len(futures)} done on the Dask cluster at "
                             f"{self.scheduler}, none in the last {now - last_done:.0f} s ({_workers_said(workers)}); "
                             "waiting (Ctrl-C stops and cancels the rest)")
                last_told = now

    def close(self) -> None:
        """Stop local workers and disconnect from the cluster (the cluster itself keeps running)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self._client is not None:
            client, self._client = self._client, None
            if self.sent:
                self._notice(f"sent to the Dask cluster at {self.scheduler}: "
                             + ", ".join(f"{desc} ({n} task{'s' * (n != 1)})" for desc, n in self.sent))
            elif not self._failed:
                self._notice(f"nothing was sent to the Dask cluster at {self.scheduler}: no step of this command "
                             "had work to send (texts encoded before come from the project's cache)")
            try:
                with _dask_logs_muted():
                    _within(2 * self.timeout + 5, lambda: client.close(timeout=self.timeout))
            except Exception:  # disconnecting must not hide the command's outcome
                log.debug("closing the connection to %s failed", self.scheduler, exc_info=True)

    def __enter__(self) -> Runner:
        if self.scheduler is not None:
            # Reach the cluster now: a wrong address fails before any work, whatever the amount of work.
            self._dask()
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._failed = exc[0] is not None
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
