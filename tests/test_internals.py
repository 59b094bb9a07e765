"""Project's internals stay private: no module reaches into the connection or its helpers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The connection and its private helpers; qualcode's own modules use project.transaction(), project.query(),
# project.query_frame() and project.log instead.
PRIVATE = re.compile(r"\._db\b|\._write\(|\._frame\(")


def test_no_module_reaches_into_the_project_connection():
    offenders = []
    for folder in ("qualcode", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "qualcode" / "project.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if PRIVATE.search(line.split("#", 1)[0]):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "use project.transaction()/query()/query_frame()/log instead:\n" + "\n".join(offenders)
