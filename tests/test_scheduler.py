"""--scheduler: bad addresses and hostile endpoints end in a SchedulerError in CLI words, never a hang or a traceback.

Endpoints are served on 127.0.0.1 by threads of this process: a closed port, one that accepts and closes, one
that answers garbage, one that accepts and never answers. Tests that start a Dask cluster or run the command
line in a child process are marked slow.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import qualcode as qc
from qualcode import parallel
from qualcode.cli import app
from qualcode.errors import SchedulerError
from qualcode.parallel import Runner, scheduler_address

ROOT = Path(__file__).resolve().parents[1]
cli = CliRunner()

#: The issue's budget for a hostile input: refused in under 10 s with peak RSS under 512 MiB.
BUDGET_RSS_MIB = 512


class Endpoint:
    """A TCP endpoint on 127.0.0.1 that misbehaves in one way (``mode``) with every connection."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            if self.mode == "close":
                conn.close()
            elif self.mode == "garbage":  # what case 20's garbage server sends: an HTTP answer behind 0xff bytes
                with contextlib.suppress(OSError):
                    conn.sendall(b"\xff" * 64 + b"HTTP/1.1 200 OK\r\n\r\n" + b"\x00" * 1000)
                self.held.append(conn)
            elif self.mode == "small-garbage":  # a plausible length, then bytes that are not Dask's
                with contextlib.suppress(OSError):
                    conn.sendall((40).to_bytes(8, "little") + b"\x01" * 40)
                self.held.append(conn)
            else:  # "silent": accept and never answer
                self.held.append(conn)

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        self.server.close()
        self._thread.join(timeout=5)  # no connection is accepted (and left open) after this
        for conn in self.held:
            conn.close()


@pytest.fixture
def endpoint():
    made: list[Endpoint] = []

    def _make(mode: str) -> Endpoint:
        made.append(Endpoint(mode))
        return made[-1]

    yield _make
    for e in made:
        e.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reach(address: str, **kw) -> None:
    with Runner(scheduler=address, **kw) as runner:
        runner.map(abs, [1])


# -- the address, checked before anything connects -----------------------------------------------------------------
@pytest.mark.parametrize(("given", "checked"), [
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    (" tcp://sched.example.org:8786 ", "tcp://sched.example.org:8786"),
    ("TCP://dask_scheduler:8786", "tcp://dask_scheduler:8786"),
    ("tls://sched.example.org:8786", "tls://sched.example.org:8786"),
    ("tcp://[::1]:8786", "tcp://[::1]:8786"),
    ("tcp://[0:0::1]:08786", "tcp://[::1]:8786"),
])
def test_scheduler_address_accepts_the_forms_dask_prints(given, checked):
    assert scheduler_address(given) == checked


@pytest.mark.parametrize(("given", "problem"), [
    ("garbage://127.0.0.1:1", "scheme 'garbage://'"),
    ("inproc://127.0.0.1/1", "scheme 'inproc://'"),
    ("ucx://10.0.0.5:8786", "scheme 'ucx://'"),
    ("http://127.0.0.1:8787", "http:// is a web address"),
    ("https://dask.example.org", "https:// is a web address"),
    ("tcp://[::1", "IPv6"),
    ("tcp://[::g]:8786", "not an IPv6 address"),
    ("::1:8786", "IPv6 address goes in brackets"),
    ("tcp://127.0.0.1", "port is missing"),
    ("10.0.0.5", "port is missing"),
    ("tcp://127.0.0.1:", "port '' is not a number"),
    ("tcp://127.0.0.1:0", "port '0'"),
    ("tcp://127.0.0.1:99999", "port '99999'"),
    ("tcp://127.0.0.1:87a6", "port '87a6'"),
    ("tcp://127.0.0.1:８７８６", "port '８７８６'"),
    ("tcp://:8786", "host is missing"),
    ("tcp://bad..host:8786", "not a host name"),
    ("tcp://-x.org:8786", "not a host name"),
    ("tcp://127.0.0.1:8786/status", "after the port"),
    ("tcp://127.0.0.1:8786?x=1", "after the port"),
    ("tcp://user@host:8786", "not a host name"),
    ("tcp://ho st:8786", "spaces or control characters"),
    ("tcp://host\r:8786", "spaces or control characters"),
    ("tcp://host\x1b[2J:8786", "spaces or control characters"),
    ("", "empty"),
    ("tcp://" + "a" * 400 + ":1", "characters long"),
])
def test_scheduler_malformed_address_refused_before_connecting(given, problem, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a malformed address must be refused before any connection")

    monkeypatch.setattr(parallel, "_greet", no_network)
    with pytest.raises(SchedulerError, match="is not a Dask scheduler address") as caught:
        Runner(scheduler=given)
    message, cli_message = str(caught.value), caught.value.cli_message
    assert problem in message and message.startswith("scheduler=")
    assert cli_message.startswith("--scheduler ") and "scheduler=" not in cli_message
    assert "tcp://HOST:PORT" in message and "8786" in message
    assert "\r" not in message and "\x1b" not in message  # the address is shown escaped


def test_scheduler_timeout_from_the_environment(monkeypatch):
    monkeypatch.setenv("QUALCODE_SCHEDULER_TIMEOUT", "30")
    assert Runner(scheduler="tcp://127.0.0.1:8786").timeout == 30
    assert Runner(scheduler="tcp://127.0.0.1:8786", timeout=2).timeout == 2
    for bad in ("soon", "0", "-1", "nan", "1e9"):
        monkeypatch.setenv("QUALCODE_SCHEDULER_TIMEOUT", bad)
        with pytest.raises(SchedulerError, match="QUALCODE_SCHEDULER_TIMEOUT="):
            Runner(scheduler="tcp://127.0.0.1:8786")
    monkeypatch.delenv("QUALCODE_SCHEDULER_TIMEOUT")
    assert Runner(scheduler="tcp://127.0.0.1:8786").timeout == parallel.CONNECT_TIMEOUT_S


# -- endpoints that are not a scheduler ----------------------------------------------------------------------------
def test_scheduler_refused_port_is_a_clear_error_at_once():
    pytest.importorskip("distributed")
    port = _closed_port()
    # Dask's own connect retries a refused port until its timeout; qualcode says so at the first refusal.
    with pytest.raises(SchedulerError, match=rf"nothing listens at 127\.0\.0\.1:{port} \(connection refused\)") \
            as caught:
        _reach(f"tcp://127.0.0.1:{port}", timeout=30)
    assert "--scheduler 'tcp://127.0.0.1" in caught.value.cli_message


def test_scheduler_unknown_host_is_a_clear_error(monkeypatch):
    pytest.importorskip("distributed")

    def unknown(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    with pytest.raises(SchedulerError, match=r"the host 'sched\.nowhere\.invalid' is not known"):
        _reach("tcp://sched.nowhere.invalid:8786")


@pytest.mark.parametrize(("mode", "said"), [
    ("close", "closed it without answering as a Dask scheduler"),
    ("garbage", "answered, but not as a Dask scheduler does"),
    ("small-garbage", "not as a Dask scheduler"),
    ("silent", "did not answer as a Dask scheduler within 1 s"),
])
def test_scheduler_hostile_endpoint_is_a_clear_error(endpoint, mode, said):
    pytest.importorskip("distributed")
    server = endpoint(mode)
    with pytest.raises(SchedulerError, match="scheduler='tcp://127") as caught:
        _reach(server.address, timeout=1)
    assert said in str(caught.value)
    assert "8786" in str(caught.value)  # the remedy: the scheduler's port


def test_scheduler_silent_endpoint_ends_at_the_deadline_in_a_notebook_too(endpoint):
    """A notebook's thread already runs an event loop: reaching the scheduler must not need this thread's."""
    import asyncio

    pytest.importorskip("distributed")
    server = endpoint("silent")

    async def in_a_running_loop() -> None:
        _reach(server.address, timeout=1)

    with pytest.raises(SchedulerError, match="within 1 s"):
        asyncio.run(in_a_running_loop())


# -- the command line ----------------------------------------------------------------------------------------------
def test_scheduler_cli_help_shows_the_dask_extra():
    for command in ("add", "suggest", "round"):
        result = cli.invoke(app, [command, "--help"], env={"COLUMNS": "300"})
        assert result.exit_code == 0
        assert "pip install 'qualcode[dask]'" in result.output, command


def test_scheduler_cli_malformed_address_is_a_usage_error(tmp_path, samples):
    project = tmp_path / "p.qualcode"
    assert cli.invoke(app, ["init", str(project)]).exit_code == 0
    result = cli.invoke(app, ["add", str(project), str(samples / "transcripts"), "--scheduler", "garbage://x:1",
                              "-q"], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "Invalid value for '--scheduler'" in result.output and "tcp://HOST:PORT" in result.output
    with qc.Project.open(project) as p:
        assert p.documents.empty


def test_scheduler_cli_single_file_with_unreachable_scheduler_is_an_error(tmp_path, samples):
    """Case 20: with one file the cluster was skipped without a word (exit 0) even when it could not be reached."""
    pytest.importorskip("distributed")
    project = tmp_path / "p.qualcode"
    assert cli.invoke(app, ["init", str(project)]).exit_code == 0
    address = f"tcp://127.0.0.1:{_closed_port()}"
    result = cli.invoke(app, ["add", str(project), str(samples / "transcripts" / "int_d02_final.txt"),
                              "--scheduler", address, "-q"])
    assert result.exit_code == 2, result.output
    assert f"error: --scheduler '{address}': nothing listens" in result.output
    with qc.Project.open(project) as p:
        assert p.documents.empty


_CHILD = """
import json, resource, sys, time
from qualcode.cli import main
start, cpu = time.monotonic(), time.process_time()
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "wall": time.monotonic() - start, "cpu": time.process_time() - cpu,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["garbage", "silent", "close", "refused"])
def test_scheduler_hostile_endpoints_refused_within_budget(tmp_path, samples, endpoint, mode):
    """The command line, in a child process, with the default deadline: exit 2, one error line, bounded memory."""
    pytest.importorskip("distributed")
    project = tmp_path / "p.qualcode"
    assert cli.invoke(app, ["init", str(project)]).exit_code == 0
    address = f"tcp://127.0.0.1:{_closed_port()}" if mode == "refused" else endpoint(mode).address
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    # The child's own timeout only guards against a hang; the figures are in bench/scheduler_endpoints.py.
    # Started by a shell that forks it: a process started straight from pytest would count pytest's memory in its
    # peak (Linux keeps the peak across fork and exec).
    done = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", _CHILD, "add", str(project), str(samples / "transcripts"),
                           "--scheduler", address, "-q"], capture_output=True, text=True, timeout=120, env=env)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    errors = [line for line in done.stderr.splitlines()[:-1] if line.strip()]
    assert figures["code"] == 2, done.stderr
    assert "Traceback" not in done.stderr and len(errors) == 1 and errors[0].startswith("error: --scheduler '")
    assert figures["rss_mib"] < BUDGET_RSS_MIB
    # The deadline, not Dask's 20-40 s timeouts, ends the wait: the command's own time is its import plus 5 s.
    assert figures["wall"] < parallel.CONNECT_TIMEOUT_S + 5


# -- a real cluster ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as made:
        yield made


@pytest.mark.slow
def test_scheduler_single_file_runs_on_the_cluster_and_says_so(cluster, samples, capsys):
    with Runner(scheduler=cluster.scheduler_address, progress=True) as runner:
        corpus, report = qc.load_corpus(samples / "transcripts" / "int_d02_final.txt")
        assert runner.sent == [("load (groups of files)", 1)]
    said = capsys.readouterr().err
    assert f"working with the Dask cluster at {cluster.scheduler_address} (1 worker)" in said
    assert f"sent to the Dask cluster at {cluster.scheduler_address}: load (groups of files) (1 task)" in said
    assert len(corpus.documents) == 1 and (report["status"] == "ok").all()


@pytest.mark.slow
def test_scheduler_that_gets_no_work_says_so(cluster, capsys):
    with Runner(scheduler=cluster.scheduler_address, progress=True) as runner:
        assert runner.map(abs, []) == []
    assert "nothing was sent to the Dask cluster" in capsys.readouterr().err


@pytest.mark.slow
def test_scheduler_task_error_keeps_its_type(cluster):
    with Runner(scheduler=cluster.scheduler_address) as runner, pytest.raises(ValueError, match="dos"):
        runner.map(int, ["1", "dos", "3"])


@pytest.mark.slow
def test_scheduler_worker_address_is_not_a_scheduler(cluster):
    worker = next(iter(cluster.scheduler_info["workers"]))
    with pytest.raises(SchedulerError, match="is a Dask Worker, not a Dask scheduler"):
        _reach(worker, timeout=5)


@pytest.mark.slow
def test_scheduler_without_workers_stops_with_a_clear_error(monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(parallel, "NO_WORKERS_TIMEOUT_S", 2.0)
    monkeypatch.setattr(parallel, "_WORKERS_CHECK_S", 0.5)
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0", silence_logs=50) as empty:
        for shared in (None, 1):  # a plain map waits for workers; a shared object waits before it is scattered
            with (pytest.raises(SchedulerError, match="has had no workers for 2 s") as caught,
                  Runner(scheduler=empty.scheduler_address) as runner):
                runner.map(abs, [1, 2], shared=shared)
            assert "without --scheduler" in caught.value.cli_message


def _sleep(x):
    time.sleep(60)
    return x


@pytest.mark.slow
def test_scheduler_lost_during_work_is_a_clear_error(capsys):
    distributed = pytest.importorskip("distributed")
    doomed = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=50)
    try:
        threading.Timer(2, doomed.close).start()
        with (pytest.raises(SchedulerError, match="did not finish work"),
              Runner(scheduler=doomed.scheduler_address) as runner):
            runner.map(_sleep, [1, 2, 3])
    finally:
        doomed.close()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["garbage", "silent"])
def test_scheduler_tls_without_dask_tls_settings_is_a_clear_error(endpoint, mode):
    pytest.importorskip("distributed")
    server = endpoint(mode)
    with pytest.raises(SchedulerError, match="scheduler='tls://127") as caught:
        _reach(server.address.replace("tcp://", "tls://"), timeout=1)
    assert "Dask's TLS settings" in str(caught.value) and "tcp://" in str(caught.value)
