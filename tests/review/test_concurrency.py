"""R4: two coders saving at once, and a process killed mid-save — every committed decision survives."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import qualcode as qc

WRITER = textwrap.dedent("""
    import sys
    import qualcode as qc
    path, coder, rounds, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    project = qc.Project.open(path)
    segs = project.segments
    ids = list(segs[segs["speaker_role"] == "participant"]["segment_id"][:batch])
    for i in range(rounds):
        kind = project.accept if i % 2 == 0 else project.reject
        kind(ids, "collaboration.isolation", coder=coder, memo=f"round {i}")
        print(i + 1, flush=True)
""")


def writer(path, coder, rounds, batch):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), coder, str(rounds), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_r4_two_coders_saving_at_the_same_time_both_succeed(project):
    path = project.path
    project.close()
    procs = [writer(path, coder, 25, 40) for coder in ("ana", "luis")]
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    reopened = qc.Project.open(path)
    log = qc.decisions(reopened, history=True)
    assert len(log) == 2 * 25 * 40
    assert log.groupby("coder").size().to_dict() == {"ana": 1000, "luis": 1000}
    assert set(qc.decisions(reopened)["memo"]) == {"round 24"}


def test_r4_process_killed_mid_save_leaves_every_committed_decision(project):
    path = project.path
    project.close()
    proc = writer(path, "ana", 100_000, 280)
    committed = 0
    deadline = time.time() + 120
    while committed < 5 and time.time() < deadline:
        line = proc.stdout.readline()
        if line.strip():
            committed = int(line)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reap the process and close its pipes
    assert committed >= 5
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    reopened = qc.Project.open(path)
    count = len(qc.decisions(reopened, history=True))
    assert count >= committed * 280
    assert count % 280 == 0  # whole transactions only: nothing half-written
