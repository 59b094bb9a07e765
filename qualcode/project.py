"""The project file: one SQLite database that holds a study and never loses a human decision.

A notebook, the command line and the review spreadsheet all read and write
the same file. It holds the corpus (documents and segments), every codebook
version, the machine's suggestions, the append-only decision log, where
decisions were re-anchored after a transcript changed, and a cache for
later stages (embeddings). Open it with any SQLite tool: the tables are
plain and documented in :data:`SCHEMA`.

Safety: the database runs in WAL mode with full synchronisation; every write
is one ``BEGIN IMMEDIATE`` transaction, so two processes can save at the same
time (one waits for the other) and a process killed mid-save leaves every
committed decision in place. Triggers refuse any UPDATE or DELETE on the
decision log.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import resource
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .codebook.model import Codebook
from .codebook.yaml import dump_yaml, parse_yaml_codebook, read_yaml_codebook
from .corpus import Corpus
from .errors import ParameterError, ProjectError
from .io.atomic import atomic_path, atomic_write_text, check_writable
from .io.cells import csv_frame, csv_value
from .io.roles import Roles, recognise_roles
from .review.log import DecisionLog, sql_value, utc_now
from .schemas import DOCUMENTS, SEGMENTS, check, returns, typed_table
from .version import __version__

if TYPE_CHECKING:
    # typing.Self is Python 3.11+; qualcode supports 3.10.
    from typing_extensions import Self

__all__ = ["SCHEMA", "SCHEMA_VERSION", "Project", "text_hash"]

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta (            -- key/value facts about the project file
    key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (       -- one row per transcript or survey response
    doc_id TEXT PRIMARY KEY, source_path TEXT, format TEXT, encoding TEXT, language TEXT,
    sha256 TEXT NOT NULL, n_turns INTEGER, n_segments INTEGER, n_words INTEGER, labelled INTEGER,
    unit TEXT NOT NULL, text TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',   -- JSON object: role, district, stage, round, ...
    added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE segments (        -- the current segments of every document
    segment_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    turn INTEGER, part INTEGER, speaker TEXT, speaker_role TEXT, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    timestamp REAL, field TEXT, text TEXT NOT NULL, language TEXT,
    text_sha TEXT NOT NULL);     -- 16 hex digits of SHA-256 of text: what review sheets check
CREATE INDEX segments_doc ON segments(doc_id, start);
CREATE TABLE codebooks (       -- every codebook version ever added, as YAML
    version TEXT PRIMARY KEY, codebook_id TEXT NOT NULL, yaml TEXT NOT NULL, added_at TEXT NOT NULL,
    seq INTEGER NOT NULL);
CREATE TABLE codes (           -- the codes of each codebook version, flat, for SQL readers
    version TEXT NOT NULL REFERENCES codebooks(version), code_id TEXT NOT NULL, parent_id TEXT,
    dimension TEXT, label_es TEXT, label_en TEXT, definition_es TEXT, definition_en TEXT, color TEXT,
    PRIMARY KEY (version, code_id));
CREATE TABLE suggestions (     -- machine suggestions; replaced when re-run, never mixed with decisions
    segment_id TEXT NOT NULL, code_id TEXT NOT NULL, method TEXT NOT NULL, score REAL NOT NULL,
    evidence TEXT, spans TEXT, codebook_version TEXT NOT NULL, rank INTEGER, created_at TEXT NOT NULL,
    PRIMARY KEY (segment_id, code_id, method, codebook_version));
CREATE TABLE decisions (       -- the append-only log of human decisions
    decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
    segment_id TEXT NOT NULL, code_id TEXT NOT NULL, coder TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'manual')),
    span_start INTEGER NOT NULL DEFAULT 0,   -- coded span, relative to the segment's start
    span_end INTEGER,                        -- NULL: to the segment's end
    doc_id TEXT NOT NULL, quote TEXT NOT NULL, -- the words decided on, as they were: for re-anchoring
    memo TEXT, created_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('notebook', 'sheet', 'import', 'cli', 'widget')),
    method TEXT, score REAL, codebook_version TEXT,
    export_id TEXT);                         -- the review workbook it was applied from (schema 2); else NULL
CREATE INDEX decisions_key ON decisions(segment_id, code_id, coder);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'the decision log is append-only'); END;
CREATE TABLE anchors (         -- where a decision moved after its transcript changed (append-only)
    anchor_id INTEGER PRIMARY KEY AUTOINCREMENT, decision_id INTEGER NOT NULL REFERENCES decisions(decision_id),
    segment_id TEXT,             -- NULL: could not be re-anchored (an orphan, reported)
    span_start INTEGER, span_end INTEGER, method TEXT NOT NULL, similarity REAL, moved_at TEXT NOT NULL);
CREATE INDEX anchors_decision ON anchors(decision_id, anchor_id);  -- a decision's latest anchor, at any log size
CREATE INDEX anchors_segment ON anchors(segment_id);               -- decisions moved into given segments
CREATE TRIGGER anchors_no_update BEFORE UPDATE ON anchors
    BEGIN SELECT RAISE(ABORT, 'the anchor log is append-only'); END;
CREATE TRIGGER anchors_no_delete BEFORE DELETE ON anchors
    BEGIN SELECT RAISE(ABORT, 'the anchor log is append-only'); END;
CREATE TABLE cache (           -- derived data (embeddings ...), safe to delete
    kind TEXT NOT NULL, model TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
    PRIMARY KEY (kind, model, key));
"""

# Migrations from version N to N+1, applied in order inside one transaction.
_MIGRATIONS: dict[int, str] = {
    # 1 → 2: which review workbook (its export id) a decision was applied from, so that re-applying an older
    # workbook cannot reverse a later decision. ADD COLUMN touches no row: the append-only triggers stay.
    1: "ALTER TABLE decisions ADD COLUMN export_id TEXT;",
}

# Indexes added after schema 1 shipped: created on open when missing (an older qualcode still reads the file).
_INDEXES = {
    "anchors_decision": "CREATE INDEX IF NOT EXISTS anchors_decision ON anchors(decision_id, anchor_id)",
    "anchors_segment": "CREATE INDEX IF NOT EXISTS anchors_segment ON anchors(segment_id)",
}

# SQLite's primary result codes for a write the file system refused (exc.sqlite_errorcode & 0xff).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14


def _writable(path: Path) -> bool:
    """Whether this process can write the project file and the WAL side files beside it.

    ``os.access`` asks the kernel, so it sees a read-only mount (EROFS), an immutable file (``chattr +i``,
    even for root) and permissions alike.
    """
    if not os.access(path, os.W_OK):
        return False
    if os.access(path.parent, os.W_OK):
        return True
    sides = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    return all(side.exists() and os.access(side, os.W_OK) for side in sides)


def _read_only_message(path: Path) -> str:
    try:
        mounted_ro = bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        mounted_ro = False
    where = ("it is on a read-only file system (a read-only share, a mounted backup)" if mounted_ro else
             "the file (or its folder, where the -wal and -shm files go) cannot be written by this user")
    return f"{path}: the project is read-only: {where}"


def _write_failure(path: Path, exc: sqlite3.Error) -> ProjectError | None:
    """A write the file system refused, as a ProjectError saying what happened; None for any other error."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    kept = "nothing of this change was written (everything saved before it is kept)"
    if code == _SQLITE_FULL:
        said = f"{path}: the disk is full: {kept}. Free some space and run the command again."
    elif code == _SQLITE_IOERR:
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        limit = (f"a file-size limit (ulimit -f: files up to {soft} bytes) stopped the write"
                 if soft != resource.RLIM_INFINITY else "the disk could not be written (full, or failing)")
        fix = "raise the limit (ulimit -f unlimited)" if soft != resource.RLIM_INFINITY else \
            "free some space or check the disk"
        said = f"{path}: {limit}: {kept}. {fix[0].upper() + fix[1:]} and run the command again."
    elif code in (_SQLITE_READONLY, _SQLITE_CANTOPEN):
        said = (f"{_read_only_message(path)}: {kept}. Copy the project to a folder you can write to and run the "
                "command there (commands that only read it, such as report, work where it is).")
    else:
        return None
    return ProjectError(said, path=path, reason=getattr(exc, "sqlite_errorname", None))


DecisionKind = Literal["accept", "reject", "manual"]
Source = Literal["notebook", "sheet", "import", "cli", "widget"]


def text_hash(text: str) -> str:
    """16 hex digits of SHA-256 of ``text``: the integrity check review sheets carry.

    Examples
    --------
    >>> text_hash("Sí.") == text_hash("Sí.") != text_hash("Si.")
    True
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class ProjectEmbeddingCache:
    """An embedding cache (``qualcode.coders.EmbeddingCache``) in a project's ``cache`` table.

    Made by :meth:`Project.embedding_cache`. Rows are ``kind = 'embedding'``, ``model`` = the embedder's
    name, ``key`` = the text hash, ``value`` = the float32 vector's bytes. Reads use the project's open
    connection; each ``put`` is one write transaction (``BEGIN IMMEDIATE``, so concurrent writers queue).
    """

    def __init__(self, project: Project) -> None:
        self.project = project

    def get(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], np.ndarray]:
        """The vectors stored for ``keys`` ((model, text hash) pairs), those present only."""
        by_model: dict[str, list[str]] = {}
        for model, key in keys:
            by_model.setdefault(model, []).append(key)
        out: dict[tuple[str, str], np.ndarray] = {}
        for model, wanted in by_model.items():
            for key, blob in self.project.cache_get("embedding", model, wanted).items():
                out[(model, key)] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put(self, vectors: dict[tuple[str, str], np.ndarray]) -> None:
        """Store vectors (as float32), replacing those with the same key; one transaction per model."""
        by_model: dict[str, dict[str, bytes]] = {}
        for (model, key), vector in vectors.items():
            by_model.setdefault(model, {})[key] = np.asarray(vector, dtype=np.float32).tobytes()
        for model, items in by_model.items():
            self.project.cache_put("embedding", model, items)

    def __deepcopy__(self, memo: dict) -> ProjectEmbeddingCache:
        return self  # one project, one cache: coders cloned by sklearn.clone (which deep-copies params) share it

    def __repr__(self) -> str:
        return f"ProjectEmbeddingCache({str(self.project.path)!r})"


class ProjectLLMCache:
    """The LLM coder's answers (``qualcode.coders.llm.ResponseCache``) in the ``cache`` table, kind ``'llm'``."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def get(self, model: str, keys: Sequence[str]) -> dict[str, str]:
        return {k: v.decode("utf-8") for k, v in self.project.cache_get("llm", model, keys).items()}

    def put(self, model: str, items: dict[str, str]) -> None:
        self.project.cache_put("llm", model, {k: v.encode("utf-8") for k, v in items.items()})

    def __deepcopy__(self, memo: dict) -> ProjectLLMCache:
        return self  # one project, one cache (sklearn.clone deep-copies params)


class Project:
    """A study in one SQLite file.

    Use :meth:`create` for a new file and :meth:`open` for an existing one;
    both return a Project that can be used as a context manager.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "study.qualcode"
    >>> with Project.create(path) as project:
    ...     project.schema_version
    2
    """

    def __init__(self, path: Path, connection: sqlite3.Connection, *, read_only: bool = False) -> None:
        self.path = path
        self._db = connection
        self.read_only = read_only
        self._codebooks: dict[str, Codebook] = {}
        self._log: DecisionLog | None = None

    # -- opening ----------------------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 60000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @classmethod
    def create(cls, path: str | Path, *, exist_ok: bool = False) -> Self:
        """Create a new project file (or open it when ``exist_ok`` and it exists).

        Raises
        ------
        ProjectError
            If the file exists and ``exist_ok`` is false.
        """
        path = Path(path)
        if path.exists():
            if exist_ok:
                return cls.open(path)
            raise _exists(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{path}: the project file cannot be created here ({exc}). Choose a folder you can "
                               "write to, with free space.", path=path) from None
        return cls._new(path)

    @classmethod
    def _new(cls, path: Path) -> Self:
        """The schema and first meta rows written into a new (or empty) database file at ``path``."""
        try:
            db = cls._connect(path)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise ProjectError(f"{path}: the project file cannot be created here ({exc}). Choose a folder you can "
                               "write to, with free space.", path=path) from None
        project = cls(path, db)
        try:
            with project._write():
                for statement in _statements(SCHEMA):
                    db.execute(statement)
                db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("created_at", utc_now()),
                    ("created_by", f"qualcode {__version__}"), ("project_id", uuid.uuid4().hex),
                ])
        except BaseException:
            # A project file without its tables would be refused on the retry ("already exists"): none is left.
            db.close()
            for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            raise
        return project

    @staticmethod
    def _connect_read_only(path: Path) -> sqlite3.Connection:
        """A connection that never writes: ``mode=ro``, or ``immutable=1`` where WAL's side files cannot be made.

        A WAL database needs its ``-shm`` file even to read; on a read-only file system it cannot be
        created, and ``immutable=1`` (no locks, no side files) is the way to read. That reading would miss
        changes still in a ``-wal`` file, so a non-empty one is refused instead.
        """
        uri = path.absolute().as_uri()
        try:
            db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0, isolation_level=None,
                                 check_same_thread=False)
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size:
                raise ProjectError(
                    f"{_read_only_message(path)}, and its latest changes are still in {wal.name}, which cannot "
                    "be read from here. Copy the project file with its -wal file to a folder you can write to and "
                    "open it there.", path=path) from None
            db = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)
        return db

    @classmethod
    @contextmanager
    def building(cls, path: str | Path) -> Iterator[Self]:
        """A new project filled inside the ``with`` block, which becomes ``path`` only when the block succeeds.

        Every import (:meth:`load_dump`, :func:`qualcode.import_refi_qda`) builds
        its project this way: in a hidden file beside ``path``, moved into place
        when complete. If anything fails, the hidden file and its side files are
        removed: nothing is left behind, and the import can simply be retried.
        The yielded project is closed when the block ends; open ``path`` again.
        Its ``path`` is already the final name, so messages name the file asked for.

        Raises
        ------
        ProjectError
            If ``path`` exists (before any work).
        OutputExistsError
            If a file named ``path`` appeared while the project was being built (it is left untouched).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "study.qualcode"
        >>> with Project.building(path) as project:
        ...     project.path == path, path.exists()
        (True, False)
        >>> Project.open(path).schema_version
        2
        """
        path = Path(path)
        if path.exists():
            raise _exists(path)
        with atomic_path(path) as tmp:
            project = cls._new(tmp)
            project.path = path
            complete = False
            try:
                yield project
                # Everything into the one file before it moves: a WAL beside the hidden name would not follow it.
                project._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                complete = project._db.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
            finally:
                project.close()
                if not complete:
                    for side in ("-wal", "-shm", "-journal"):
                        Path(f"{tmp}{side}").unlink(missing_ok=True)
            if not complete:  # pragma: no cover - only while another connection holds the new file
                raise ProjectError(f"{path}: the new project could not be completed (its file is in use); nothing "
                                   "was created. Try again.", path=path)

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Self:
        """Open an existing project file, upgrading its schema if it is older.

        Parameters
        ----------
        path : path
        read_only : bool, default False
            Open it only to read (a report, a review workbook): works on a read-only file or file system
            (a read-only share, a mounted backup). Any write then raises :class:`ProjectError`.

        Raises
        ------
        ProjectError
            If the file does not exist, is not a qualcode project, was
            written by a newer qualcode, or cannot be written and
            ``read_only`` is false (the message says why).
        """
        path = Path(path)
        if not path.exists():
            raise ProjectError(f"{path}: no such project file. Create one with Project.create().", path=path,
                               cli_message=f"{path}: no such project file. Create one with: qualcode init {path}")
        if path.is_file() and not os.access(path, os.R_OK):
            raise ProjectError(f"{path}: this user may not read the project file. Ask its owner for read access "
                               "(and write access, to change it), or work on a copy.", path=path)
        if not read_only and not _writable(path):
            raise ProjectError(
                f"{_read_only_message(path)}: nothing can be changed in it. Open it with "
                "Project.open(path, read_only=True) to read it, or copy it to a folder you can write to.",
                path=path, cli_message=f"{_read_only_message(path)}: this command changes the project, so nothing "
                "was done. Copy the project to a folder you can write to and run the command there (commands that "
                "only read it, such as report, saturation and review export, work where it is).")
        try:
            db = cls._connect_read_only(path) if read_only else cls._connect(path)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            failure = _write_failure(path, exc)
            if failure is not None:
                raise failure from None
            raise ProjectError(f"{path}: not a qualcode project file ({exc}).", path=path) from None
        if row is None:
            raise ProjectError(f"{path}: not a qualcode project file (no schema version).", path=path)
        version = int(row[0])
        project = cls(path, db, read_only=read_only)
        if version > SCHEMA_VERSION:
            db.close()
            raise ProjectError(
                f"{path}: written by a newer qualcode (schema {version}, this one reads up to {SCHEMA_VERSION}). "
                "Upgrade qualcode: pip install -U qualcode.", path=path)
        if version < SCHEMA_VERSION:
            if read_only:
                db.close()
                raise ProjectError(
                    f"{path}: written by an older qualcode (schema {version}); it is upgraded the first time it is "
                    "opened where it can be written. Open it once without read_only (any command that changes "
                    "it), or read a copy.", path=path)
            project._migrate(version)
        if not read_only:
            project._add_missing_indexes()
        return project

    def _add_missing_indexes(self) -> None:
        present = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = [sql for name, sql in _INDEXES.items() if name not in present]
        if not missing:
            return
        try:
            with self._write() as db:
                for sql in missing:
                    db.execute(sql)
        except sqlite3.OperationalError:
            pass  # a read-only file: reads are only slower on a long log

    def _migrate(self, version: int) -> None:
        with self._write():
            # Read again inside the transaction: another process may have migrated the file meanwhile.
            version = int(self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(_MIGRATIONS[step]):
                    self._db.execute(statement)
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        """Close the connection (the file stays consistent whether or not this is called)."""
        self._db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        counts = {t: self._db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("documents", "segments", "suggestions", "decisions")}
        return (f"Project({str(self.path)!r}: {counts['documents']} documents, {counts['segments']} segments, "
                f"{counts['suggestions']} suggestions, {counts['decisions']} decisions)")

    @property
    def schema_version(self) -> int:
        """The schema version of the file."""
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken at once so concurrent writers queue instead of failing.

        A write the file system refuses (a full disk, a file-size limit, a read-only file) rolls the whole
        transaction back and becomes a :class:`ProjectError` that says so: the project is as it was.
        """
        if self.read_only:
            raise ProjectError(f"{self.path}: opened read-only (read_only=True): nothing can be changed in it. "
                               "Open it without read_only to change it.", path=self.path)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.DatabaseError as exc:
            failure = _write_failure(self.path, exc)
            if failure is None:
                raise
            raise failure from None

    def _rollback(self) -> None:
        # After a full disk SQLite may already have rolled back: a second ROLLBACK must not hide the first error.
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def _frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self._db, params=list(params))

    # -- for qualcode's own modules (the decision log, importers): SQL on this file --------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the project file, for qualcode's own modules.

        ``BEGIN IMMEDIATE`` is taken at once, so what is read inside sees
        every other process's committed writes and no other writer can come
        in between the read and the write; everything commits together or
        nothing does. Notebooks use the public methods instead.

        Yields
        ------
        sqlite3.Connection
            The connection, inside the transaction.
        """
        with self._write() as db:
            yield db

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple]:
        """Rows of a read-only SQL query on the project file (for qualcode's own modules)."""
        return self._db.execute(sql, list(params)).fetchall()

    def query_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        """A read-only SQL query on the project file as a DataFrame (for qualcode's own modules)."""
        return self._frame(sql, params)

    @property
    def project_id(self) -> str:
        """This project's identity, copied into the workbooks it exports (a random hex string).

        Created with the project; a project made by an older qualcode gets one
        the first time it is asked for. Copies of the file share it.
        """
        row = self._db.execute("SELECT value FROM meta WHERE key = 'project_id'").fetchone()
        if row is not None:
            return str(row[0])
        with self._write() as db:  # INSERT OR IGNORE: two processes asking at once agree on one id
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('project_id', ?)", (uuid.uuid4().hex,))
            return str(db.execute("SELECT value FROM meta WHERE key = 'project_id'").fetchone()[0])

    @property
    def log(self) -> DecisionLog:
        """The decision log's owner (:class:`qualcode.review.log.DecisionLog`): typed rows, one transaction each."""
        if self._log is None:
            self._log = DecisionLog(self)
        return self._log

    # -- corpus -----------------------------------------------------------------
    @returns("corpus_changes")
    def add_corpus(self, corpus: Corpus) -> pd.DataFrame:
        """Add new documents, update changed ones, leave unchanged ones alone.

        A document is unchanged when its content hash and segmentation unit
        are the same. When a changed document replaces an older version,
        decisions on segments that no longer exist are re-anchored to the
        same words (exact, then fuzzy), or reported as orphans; none is lost.

        Returns
        -------
        DataFrame
            One row per document:

            {columns}
        """
        rows = []
        now = utc_now()
        declared = [c.name for c in DOCUMENTS if c.name != "text"]
        attributes = corpus.attributes
        with self._write() as db:
            existing = {r[0]: (r[1], r[2], r[3]) for r in
                        db.execute("SELECT doc_id, sha256, unit, attributes FROM documents")}
            for doc in corpus.documents.to_dict("records"):
                doc_id = doc["doc_id"]
                attrs = {a: sql_value(doc.get(a)) for a in attributes}
                if doc_id in existing and existing[doc_id][:2] == (doc["sha256"], corpus.unit) and \
                        self._same_turns(db, doc_id, corpus.segments):
                    action = "unchanged"
                    # A corrected attributes sheet reaches documents whose text did not change; loading
                    # without a sheet leaves the attributes they have.
                    if any(v is not None for v in attrs.values()) and attrs != json.loads(existing[doc_id][2]):
                        db.execute("UPDATE documents SET attributes = ?, updated_at = ? WHERE doc_id = ?",
                                   (json.dumps(attrs, ensure_ascii=False), now, doc_id))
                        action = "attributes"
                    rows.append({"doc_id": doc_id, "action": action, "n_segments": int(doc["n_segments"]),
                                 "n_reanchored": 0, "n_orphaned": 0})
                    continue
                values = [sql_value(doc[c]) for c in declared]
                segs = corpus.segments[corpus.segments["doc_id"] == doc_id]
                old_starts = dict(db.execute("SELECT segment_id, start FROM segments WHERE doc_id = ?", (doc_id,)))
                if doc_id in existing:
                    db.execute(
                        f"UPDATE documents SET {', '.join(f'{c} = ?' for c in declared)}, unit = ?, text = ?, "
                        "attributes = ?, updated_at = ? WHERE doc_id = ?",
                        [*values, corpus.unit, doc["text"], json.dumps(attrs, ensure_ascii=False), now, doc_id])
                    db.execute("DELETE FROM segments WHERE doc_id = ?", (doc_id,))
                    action = "updated"
                else:
                    db.execute(
                        f"INSERT INTO documents ({', '.join(declared)}, unit, text, attributes, added_at, updated_at) "
                        f"VALUES ({', '.join('?' * (len(declared) + 5))})",
                        [*values, corpus.unit, doc["text"], json.dumps(attrs, ensure_ascii=False), now, now])
                    action = "added"
                self._insert_segments(db, segs)
                moved = orphaned = 0
                if action == "updated":
                    gone = {k: v for k, v in old_starts.items() if k not in set(segs["segment_id"])}
                    if gone:
                        moved, orphaned = self.log.reanchor(db, gone, segs, doc["text"], now)
                rows.append({"doc_id": doc_id, "action": action, "n_segments": len(segs),
                             "n_reanchored": moved, "n_orphaned": orphaned})
            # In the same transaction: what has no suggestions yet, so that a round killed before storing them
            # (or 'qualcode add' then 'qualcode round') still suggests for these documents when re-run.
            new = [r["doc_id"] for r in rows if r["action"] in ("added", "updated") and r["n_segments"]]
            if new:
                pending = _get_meta(db, _UNSUGGESTED, [])
                _set_meta(db, _UNSUGGESTED, pending + [d for d in new if d not in set(pending)])
        return pd.DataFrame(rows, columns=["doc_id", "action", "n_segments", "n_reanchored", "n_orphaned"])

    def load_options(self) -> dict[str, dict[str, list[str]]]:
        """The speaker and interviewer labels given when each document was loaded, by document id.

        ``{"int_01": {"speakers": ["Marta Rojas"], "interviewer": ["Hablante 1"]}}`` for the documents
        loaded with ``speakers=``/``interviewer=`` (``--speakers``/``--interviewer``); pass it to
        :func:`~qualcode.io.load_corpus` as ``remembered=`` so a file added again without them is read as before
        (:func:`~qualcode.batch.add_files` and :func:`~qualcode.batch.run_round` do).
        """
        rows = self._db.execute("SELECT key, value FROM meta WHERE key GLOB ?", (_LOAD_OPTIONS + "*",))
        return {key[len(_LOAD_OPTIONS):]: json.loads(value) for key, value in rows}

    def remember_load_options(self, options: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        """Keep, per document id, the ``speakers`` and ``interviewer`` labels it was loaded with (replacing any).

        Stored in the ``meta`` table (key ``load_options:<doc_id>``, JSON): no schema change. Read back with
        :meth:`load_options`.
        """
        with self._write() as db:
            for doc_id, given in options.items():
                _set_meta(db, _LOAD_OPTIONS + doc_id, {"speakers": list(given.get("speakers", ())),
                                                       "interviewer": list(given.get("interviewer", ()))})

    @staticmethod
    def _same_turns(db: sqlite3.Connection, doc_id: str, segments: pd.DataFrame) -> bool:
        """Same segments, speakers and roles as stored: a file loaded again with other ``speakers=`` or
        ``interviewer=`` has the same bytes but not the same turns, and must be updated."""
        stored = db.execute("SELECT segment_id, speaker, speaker_role FROM segments WHERE doc_id = ? ORDER BY rowid",
                            (doc_id,)).fetchall()
        new = segments.loc[segments["doc_id"] == doc_id, ["segment_id", "speaker", "speaker_role"]]
        return stored == [tuple(sql_value(v) for v in row) for row in new.itertuples(index=False, name=None)]

    @staticmethod
    def _insert_segments(db: sqlite3.Connection, segs: pd.DataFrame) -> None:
        columns = [c.name for c in SEGMENTS]
        records = []
        for values in segs[columns].itertuples(index=False, name=None):
            row = [sql_value(v) for v in values]
            row.append(text_hash(row[columns.index("text")]))
            records.append(row)
        quoted = ", ".join('"end"' if c == "end" else c for c in columns)
        db.executemany(f"INSERT INTO segments ({quoted}, text_sha) VALUES ({', '.join('?' * (len(columns) + 1))})",
                       records)

    def _attributes(self) -> pd.DataFrame:
        rows = self._db.execute("SELECT doc_id, attributes FROM documents ORDER BY rowid").fetchall()
        frame = pd.DataFrame([{"doc_id": d, **json.loads(a)} for d, a in rows])
        if frame.empty:
            return pd.DataFrame({"doc_id": pd.Series(dtype="string")})
        for column in frame.columns[1:]:
            present = frame[column].dropna()
            if len(present) and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
                frame[column] = frame[column].astype("Int64")
            else:
                frame[column] = frame[column].astype("string")
        frame["doc_id"] = frame["doc_id"].astype("string")
        return frame

    def attribute_columns(self) -> list[str]:
        """The study's own attribute columns (from its attributes sheet), in the order first seen."""
        return [str(c) for c in self._attributes().columns[1:]]

    def roles(self) -> Roles:
        """Which attribute column plays which role (participant, date, stage …): declared, else recognised.

        See :mod:`qualcode.io.roles`. Declared roles (:meth:`set_roles`, ``qualcode init --roles``) win;
        the others are recognised from usual Spanish and English headers, and ``Roles.recognised`` says which;
        ``Roles.missing`` lists declared roles whose column the documents do not have.
        """
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_ROLES,)).fetchone()
        declared = json.loads(row[0]) if row else {}
        columns = self.attribute_columns()
        # A declared column may arrive with a later round's sheet (or be mistyped): used once it exists, and
        # listed in ``Roles.missing`` until then.
        present = {r: c for r, c in declared.items() if not columns or c in columns}
        roles = recognise_roles(columns, present)
        roles.missing = {r: c for r, c in declared.items() if r not in present}
        roles.attributes = columns
        return roles

    def set_roles(self, roles: Mapping[str, str]) -> None:
        """Declare which attribute column plays which role, e.g. ``{"participant": "Participante", "date": "Fecha"}``.

        Raises
        ------
        ParameterError
            For an unknown role, or a column the project's documents do not have (the message lists those
            they have); nothing is stored then.
        """
        recognise_roles(self.attribute_columns(), roles)  # validates
        with self._write() as db:
            _set_meta(db, _ROLES, dict(roles))

    @property
    @returns("documents")
    def documents(self) -> pd.DataFrame:
        """The documents table (columns of :data:`qualcode.schemas.DOCUMENTS`, ``unit``, then attributes)."""
        names = [c.name for c in DOCUMENTS]
        frame = self._frame(f"SELECT {', '.join(names)}, unit, added_at, updated_at FROM documents ORDER BY rowid")
        frame = _typed(frame, DOCUMENTS)
        attrs = self._attributes()
        return frame.merge(attrs, on="doc_id", how="left") if len(attrs.columns) > 1 else frame

    @property
    @returns("segments")
    def segments(self) -> pd.DataFrame:
        """The segments table (columns of :data:`qualcode.schemas.SEGMENTS`, ``text_sha``, then attributes)."""
        names = ", ".join('s."end"' if c.name == "end" else f"s.{c.name}" for c in SEGMENTS)
        frame = self._frame(f"SELECT {names}, s.text_sha FROM segments s JOIN documents d USING (doc_id) "
                            "ORDER BY d.rowid, s.start")
        frame = _typed(frame, SEGMENTS)
        attrs = self._attributes()
        if len(attrs.columns) > 1:
            frame = frame.merge(attrs, on="doc_id", how="left")
            # The declared roles travel with the table, so analyses given it find the study's own columns.
            frame.attrs["roles"] = dict(self.roles().columns)
        return frame

    def segments_of(self, documents: Sequence[str]) -> pd.DataFrame:
        """:attr:`segments` of these documents only, in the same order and form: a round reads its part at a time.

        Examples
        --------
        >>> project.segments_of(["int_01"])  # doctest: +SKIP
        """
        names = ", ".join('s."end"' if c.name == "end" else f"s.{c.name}" for c in SEGMENTS)
        wanted = list(dict.fromkeys(str(d) for d in documents))
        parts = [self._frame(f"SELECT {names}, s.text_sha, d.rowid AS _order FROM segments s JOIN documents d "
                             f"USING (doc_id) WHERE s.doc_id IN ({', '.join('?' * len(chunk))})", chunk)
                 for chunk in (wanted[i:i + 900] for i in range(0, len(wanted), 900))]  # SQLite's parameter limit
        frame = pd.concat(parts, ignore_index=True) if parts else self._frame(
            f"SELECT {names}, s.text_sha, d.rowid AS _order FROM segments s JOIN documents d USING (doc_id) LIMIT 0")
        frame = frame.sort_values(["_order", "start"], kind="stable").drop(columns="_order").reset_index(drop=True)
        frame = _typed(frame, SEGMENTS)
        attrs = self._attributes()
        if len(attrs.columns) > 1:
            frame = frame.merge(attrs[attrs["doc_id"].isin(set(wanted))], on="doc_id", how="left")
            frame.attrs["roles"] = dict(self.roles().columns)
        return frame

    @property
    def corpus(self) -> Corpus:
        """The stored corpus as a :class:`Corpus` (documents with their text, segments, attributes)."""
        units = {r[0] for r in self._db.execute("SELECT DISTINCT unit FROM documents")}
        unit = units.pop() if len(units) == 1 else "turn"
        segments = self.segments.drop(columns=["text_sha"])
        documents = self.documents.drop(columns=["unit", "added_at", "updated_at"])
        return Corpus(documents, segments, unit=unit)

    # -- codebooks --------------------------------------------------------------
    def add_codebook(self, codebook: Codebook) -> str:
        """Record a codebook version (a no-op when this exact version is stored); return its version."""
        version = codebook.version
        with self._write() as db:
            if db.execute("SELECT 1 FROM codebooks WHERE version = ?", (version,)).fetchone():
                # Re-adding an older version makes it current again.
                db.execute("UPDATE codebooks SET seq = (SELECT max(seq) + 1 FROM codebooks) WHERE version = ?",
                           (version,))
                return version
            seq = (db.execute("SELECT coalesce(max(seq), 0) FROM codebooks").fetchone()[0] or 0) + 1
            db.execute("INSERT INTO codebooks(version, codebook_id, yaml, added_at, seq) VALUES (?, ?, ?, ?, ?)",
                       (version, codebook.id, dump_yaml(codebook), utc_now(), seq))
            frame = codebook.to_frame()
            db.executemany(
                "INSERT INTO codes(version, code_id, parent_id, dimension, label_es, label_en, definition_es, "
                "definition_en, color) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(version, r["code_id"], r["parent_id"], r["dimension"], r.get("label_es"), r.get("label_en"),
                  r.get("definition_es"), r.get("definition_en"), r["color"]) for r in frame.to_dict("records")])
        return version

    def codebook(self, version: str | None = None) -> Codebook:
        """The current codebook (the last added), or a given version.

        Raises
        ------
        ProjectError
            If the project has no codebook yet, or not that version.
        """
        if version is None:
            row = self._db.execute("SELECT version, yaml FROM codebooks ORDER BY seq DESC LIMIT 1").fetchone()
        else:
            row = self._db.execute("SELECT version, yaml FROM codebooks WHERE version = ?", (version,)).fetchone()
        if row is None:
            raise ProjectError(f"{self.path}: no codebook{' ' + version if version else ''} in the project; "
                               "add one with project.add_codebook(qc.load_codebook(...)).", path=self.path)
        if row[0] not in self._codebooks:  # versions are content hashes: safe to cache
            self._codebooks[row[0]] = parse_yaml_codebook(row[1], stored=True)
        return copy.deepcopy(self._codebooks[row[0]])

    @property
    def codes(self) -> pd.DataFrame:
        """The codes table of the current codebook (see :meth:`Codebook.to_frame`)."""
        return self.codebook().to_frame()

    # -- derived copies (a pseudonymized view) -------------------------------------
    _STUDY_TABLES = ("documents", "segments", "decisions", "anchors")

    def snapshot(self) -> dict[str, list[dict]]:
        """Every stored row of the study's tables (and ``meta``), as plain values, read in one snapshot.

        For derived copies such as :meth:`qualcode.Pseudonymizer.project`: the
        caller rewrites the rows and builds a new file with :meth:`from_snapshot`.
        Suggestions, codebooks and the cache are not read.
        """
        self._db.execute("BEGIN")  # one read snapshot: a writer in another process cannot tear the copy
        try:
            out = {}
            for table in ("meta", *self._STUDY_TABLES):
                cursor = self._db.execute(f"SELECT * FROM {table} ORDER BY rowid")
                names = [d[0] for d in cursor.description]
                out[table] = [dict(zip(names, row, strict=True)) for row in cursor]
        finally:
            self._db.execute("COMMIT")
        return out

    @classmethod
    def from_snapshot(cls, path: str | Path, rows: dict[str, list[dict]],
                      codebook: Codebook | None) -> Self:
        """A new project file at ``path`` holding ``rows`` (as :meth:`snapshot` returns them) and ``codebook``."""
        project = cls.create(path)
        try:
            if codebook is not None:
                project.add_codebook(codebook)
            with project._write() as db:
                name = [r["value"] for r in rows.get("meta", []) if r["key"] == "name"]
                if name:
                    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('name', ?)", (name[0],))
                for table in cls._STUDY_TABLES:
                    if rows.get(table):
                        columns = list(rows[table][0])
                        quoted = ", ".join(f'"{c}"' for c in columns)
                        db.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(columns))})",
                                       [[r[c] for c in columns] for r in rows[table]])
        except BaseException:
            project.close()
            raise
        return project

    # -- suggestions ------------------------------------------------------------
    def add_suggestions(self, suggestions: pd.DataFrame, *, replace_segments: Sequence[str] | None = None,
                        codebook_version: str | None = None, run: Mapping[str, Any] | None = None) -> int:
        """Store suggestions, replacing earlier ones for the same segment, code, method and codebook version.

        With ``replace_segments`` (and ``codebook_version``), every earlier
        suggestion for those segments under that codebook version goes first,
        in the same transaction: a re-run's table replaces the last one's,
        including codes no longer suggested, and their documents leave
        :attr:`unsuggested`. Decisions are never touched.

        ``run`` (``methods``, ``params``: the coders' parameters as JSON, ``params_hash``) is recorded in
        the same transaction, with the ``created_at`` its suggestions carry: :attr:`suggestion_runs`.
        """
        if replace_segments is not None and codebook_version is None:
            raise ParameterError("give codebook_version with replace_segments.")
        check(suggestions, "suggestions", columns=["segment_id", "code_id", "method", "score", "codebook_version"],
              values=False, where="suggestions")
        now = utc_now()
        records = []
        for row in suggestions.to_dict("records"):
            evidence = row.get("evidence")
            if not isinstance(evidence, str):
                evidence = json.dumps(sql_value(evidence) if not isinstance(evidence, (list, dict)) else evidence,
                                      ensure_ascii=False)
            spans = row.get("spans")
            spans = json.dumps(spans) if isinstance(spans, (list, tuple)) else None
            records.append((row["segment_id"], row["code_id"], row["method"], float(row["score"]), evidence, spans,
                            row["codebook_version"], sql_value(row.get("rank")), now))
        with self._write() as db:
            if replace_segments is not None:
                db.executemany("DELETE FROM suggestions WHERE segment_id = ? AND codebook_version = ?",
                               [(sid, codebook_version) for sid in replace_segments])
                _mark_suggested(db, replace_segments)
            db.executemany("INSERT OR REPLACE INTO suggestions(segment_id, code_id, method, score, evidence, spans, "
                           "codebook_version, rank, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", records)
            if run is not None:
                n_segments = len(replace_segments) if replace_segments is not None else \
                    int(suggestions["segment_id"].nunique())
                record = {"created_at": now, "codebook_version": codebook_version or (
                    str(suggestions["codebook_version"].iloc[0]) if len(suggestions) else None),
                          "n_segments": n_segments, "n_suggestions": len(records),
                          "methods": str(run.get("methods", "")), "params_hash": str(run.get("params_hash", "")),
                          "params": str(run.get("params", "")), "qualcode_version": __version__}
                _set_meta(db, f"{_RUN}{now}:{uuid.uuid4().hex[:8]}", record)
        return len(records)

    @property
    @returns("suggestion_runs")
    def suggestion_runs(self) -> pd.DataFrame:
        """Every stored suggestion run, oldest first: which coders, with which parameters, made the suggestions.

        A run's suggestions carry its ``created_at`` (until a later run replaces them).

        Returns
        -------
        DataFrame
            {columns}

        Examples
        --------
        >>> project.suggestion_runs[["created_at", "methods", "params_hash"]]  # doctest: +SKIP
        """
        rows = self._db.execute("SELECT key, value FROM meta WHERE key GLOB ? ORDER BY key", (_RUN + "*",)).fetchall()
        records = [{"run_id": key[len(_RUN):], **json.loads(value)} for key, value in rows]
        return typed_table("suggestion_runs", records)

    @property
    def suggestions(self) -> pd.DataFrame:
        """Stored suggestions: ``segment_id``, ``code_id``, ``method``, ``score``, ``evidence``, ``spans``,
        ``codebook_version``, ``rank``, ``created_at``."""
        frame = self._frame("SELECT * FROM suggestions ORDER BY segment_id, rank, code_id")
        frame["spans"] = [json.loads(v) if isinstance(v, str) else None for v in frame["spans"]]
        return frame

    # -- work an interrupted command left to finish ---------------------------------
    @property
    def unsuggested(self) -> list[str]:
        """Documents added or changed whose suggestions have not been stored since, in the order added.

        :meth:`add_corpus` lists them in the transaction that adds them, and
        :meth:`add_suggestions` (with ``replace_segments``) takes them off in
        the transaction that stores their suggestions: a round killed between
        the two, or ``qualcode add`` then ``qualcode round``, still suggests
        for them when re-run.

        Examples
        --------
        >>> project.add_corpus(corpus); project.unsuggested  # doctest: +SKIP
        ['int_d02_final', 'int_d13_final']
        """
        pending = _get_meta(self._db, _UNSUGGESTED, [])
        if not pending:
            return []
        present = {r[0] for r in self._db.execute("SELECT doc_id FROM documents")}
        return [d for d in pending if d in present]

    def rounds_in_progress(self) -> list[dict]:
        """Rounds that started and did not finish (killed, interrupted, or failed writing a workbook).

        Returns
        -------
        list of dict
            What :meth:`save_round` stored, oldest first, each with its ``id``.
        """
        rows = self._db.execute("SELECT key, value FROM meta WHERE key GLOB ? ORDER BY key",
                                (_ROUND + "*",)).fetchall()
        records = [{**json.loads(value), "id": key[len(_ROUND):]} for key, value in rows]
        return sorted(records, key=lambda r: r.get("started_at", ""))

    def save_round(self, record: dict) -> str:
        """Record (or update) a round in progress, in one transaction; return its id.

        :func:`qualcode.batch.run_round` records which documents the round
        owes a review workbook for, the suggestion options and the workbook
        it chose, so that a re-run finishes exactly what the interrupted one
        would have done, and clears the record with :meth:`end_round`.

        Parameters
        ----------
        record : dict
            JSON-serialisable; with an ``id`` from an earlier call to update it.

        Examples
        --------
        >>> round_id = project.save_round({"documents": ["int_d02_final"]})  # doctest: +SKIP
        >>> project.end_round(round_id)  # doctest: +SKIP
        """
        import uuid

        round_id = record.get("id") or uuid.uuid4().hex[:12]
        value = {k: v for k, v in record.items() if k != "id"}
        value.setdefault("started_at", utc_now())
        with self._write() as db:
            _set_meta(db, _ROUND + round_id, value)
        return round_id

    def end_round(self, round_id: str) -> None:
        """Forget a round in progress: it finished (a no-op for an unknown id)."""
        with self._write() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (_ROUND + round_id,))

    # -- cache ----------------------------------------------------------------------
    def embedding_cache(self) -> ProjectEmbeddingCache:
        """This project's embedding cache, for the embedding coders (``EmbeddingCoder(cache=...)``).

        Vectors are kept in the project file by (model, text hash), so an unchanged corpus is never encoded
        twice, across sessions. The cache uses this project's connection: use it while the project is open.

        Examples
        --------
        >>> with qc.Project.open("study.qualcode") as project:  # doctest: +SKIP
        ...     coder = qc.EmbeddingCoder(cache=project.embedding_cache()).fit(project.codebook())
        """
        return ProjectEmbeddingCache(self)

    def llm_cache(self) -> ProjectLLMCache:
        """This project's cache of LLM answers (``LLMCoder(cache=...)``): a re-run asks only what is new."""
        return ProjectLLMCache(self)

    def cache_get(self, kind: str, model: str, keys: Sequence[str]) -> dict[str, bytes]:
        """Cached values for ``keys`` (those present), e.g. embeddings by text hash."""
        out: dict[str, bytes] = {}
        keys = list(keys)
        for i in range(0, len(keys), 900):  # SQLite's limit on bound parameters
            chunk = keys[i:i + 900]
            marks = ", ".join("?" * len(chunk))
            out.update(self._db.execute(
                f"SELECT key, value FROM cache WHERE kind = ? AND model = ? AND key IN ({marks})",
                [kind, model, *chunk]).fetchall())
        return out

    def cache_put(self, kind: str, model: str, items: dict[str, bytes]) -> None:
        """Store derived values (one transaction); existing keys are replaced."""
        with self._write() as db:
            db.executemany("INSERT OR REPLACE INTO cache(kind, model, key, value) VALUES (?, ?, ?, ?)",
                           [(kind, model, k, v) for k, v in items.items()])

    # -- decisions (the log lives in review/decisions.py) ------------------------
    @property
    # The decision conveniences go straight to the log (review/log.py, below this module); the notebook functions
    # in qualcode.review.decisions are the same calls with the project as first argument.
    def decisions(self) -> pd.DataFrame:
        """The current decision per (segment, code, coder); see :func:`qualcode.decisions`."""
        return self.log.frame()

    def accept(self, rows: pd.DataFrame | Sequence[str], code_ids: Sequence[str] | str | None = None, *,
               coder: str, memo: str | None = None, source: Source = "notebook") -> pd.DataFrame:
        """Accept suggestions (or segment ids with code ids); see :func:`qualcode.accept`."""
        return self.log.append(self.log.prepare("accept", rows, code_ids, coder=coder, memo=memo, source=source))

    def reject(self, rows: pd.DataFrame | Sequence[str], code_ids: Sequence[str] | str | None = None, *,
               coder: str, memo: str | None = None, source: Source = "notebook") -> pd.DataFrame:
        """Reject suggestions (or segment ids with code ids); see :func:`qualcode.reject`."""
        return self.log.append(self.log.prepare("reject", rows, code_ids, coder=coder, memo=memo, source=source))

    def add_manual(self, rows: pd.DataFrame | Sequence[str], code_ids: Sequence[str] | str | None = None, *,
                   coder: str, memo: str | None = None, source: Source = "notebook",
                   spans: Sequence[tuple[int, int]] | None = None) -> pd.DataFrame:
        """Code segments by hand (optionally a span of each, in document offsets); see :func:`qualcode.add_manual`."""
        return self.log.append(self.log.prepare("manual", rows, code_ids, coder=coder, memo=memo, source=source,
                                                spans=spans))

    @property
    def orphans(self) -> pd.DataFrame:
        """Decisions whose words could not be found again after their transcript changed."""
        frame = self.log.frame(history=True)
        return frame[frame["anchor"] == "orphan"].reset_index(drop=True)

    # -- plain-text mirror --------------------------------------------------------
    def dump(self, folder: str | Path, *, overwrite: bool = False) -> list[Path]:
        """Write a plain-text mirror for version control: codebook, decisions, documents, segments.

        Files: ``codebook.yaml`` (current), ``decisions.csv`` (the whole log),
        ``anchors.csv``, ``documents.csv`` (with text and attributes) and
        ``segments.csv``, sorted so that a new round shows as added lines.
        Refreshing an earlier mirror takes ``overwrite=True``; without it, if
        any of these files exists, nothing is written
        (:class:`~qualcode.errors.OutputExistsError`).
        """
        folder = Path(folder)
        names = ["codebook.yaml", "decisions.csv", "anchors.csv", "documents.csv", "segments.csv"]
        check_writable([folder / n for n in names], overwrite=overwrite)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        if self._db.execute("SELECT count(*) FROM codebooks").fetchone()[0]:
            atomic_write_text(folder / "codebook.yaml", dump_yaml(self.codebook()), overwrite=overwrite)
            written.append(folder / "codebook.yaml")
        tables = {
            "decisions.csv": "SELECT * FROM decisions ORDER BY decision_id",
            "anchors.csv": "SELECT * FROM anchors ORDER BY anchor_id",
            "documents.csv": "SELECT * FROM documents ORDER BY doc_id",
            "segments.csv": 'SELECT * FROM segments ORDER BY doc_id, start',
        }
        for name, sql in tables.items():
            # Formula-like fields get a leading apostrophe (Excel opens .csv on a double-click); load_dump
            # takes it off again, so the mirror round-trips exactly.
            safe = csv_frame(self._frame(sql), name, exact=True)
            atomic_write_text(folder / name, safe.to_csv(index=False, lineterminator="\n"), overwrite=overwrite)
            written.append(folder / name)
        return written

    @classmethod
    def load_dump(cls, folder: str | Path, path: str | Path | None = None) -> Project:
        """Rebuild a project file from a folder written by :meth:`dump`.

        ``path`` defaults to ``<folder>.qualcode`` beside the folder. The project
        is built in a hidden file and moved into place only when complete
        (:meth:`building`): a damaged mirror leaves nothing behind.

        Raises
        ------
        ProjectError
            If ``path`` exists, or a file of the mirror is missing or damaged (naming the file and what to do).
        CodebookError
            If ``codebook.yaml`` is not a valid codebook.
        """
        folder = Path(folder)
        path = Path(path) if path is not None else folder.parent / f"{folder.name}.qualcode"
        if path.exists():
            raise _exists(path)
        read = {}
        for name in ("documents", "segments", "decisions", "anchors"):
            read[name] = _read_mirror(folder / f"{name}.csv")
        with cls.building(path) as project:
            with project._write() as db:
                for table, frame in read.items():
                    _insert_mirror(db, table, frame, folder / f"{table}.csv")
            if (folder / "codebook.yaml").exists():
                project.add_codebook(read_yaml_codebook(folder / "codebook.yaml"))
        return cls.open(path)


def _exists(path: Path) -> ProjectError:
    return ProjectError(f"{path}: a file already exists. Open it with Project.open(), or choose another name.",
                        path=path, cli_message=f"{path}: a file already exists (a project is never replaced). Work "
                        f"on it with qualcode add/round/report {path} …, or choose another name.")


def _insert_mirror(db: sqlite3.Connection, table: str, frame: pd.DataFrame, file: Path) -> None:
    """Insert one mirror CSV's rows; a header that is not a column of ``table``, or a row that does not fit: refused."""
    remedy = ("the mirror was edited or damaged. Restore the file from version control (git checkout) or write the "
              "mirror again with project.dump().")
    known = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    unknown = [c for c in frame.columns if c not in known]
    if unknown:  # never pasted into SQL: a header is data, not a column name until checked
        raise ProjectError(f"{file}: column(s) {unknown} are not columns of the {table} table; {remedy}", path=file)
    if frame.empty:
        return
    names = ", ".join(f'"{c}"' for c in frame.columns)
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    try:
        db.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(frame.columns))})", rows)
    except sqlite3.Error as exc:
        raise ProjectError(f"{file}: its rows do not fit the project ({exc}); {remedy}", path=file) from None


def _read_mirror(file: Path) -> pd.DataFrame:
    """One CSV of a :meth:`Project.dump` mirror, its apostrophe-protected fields restored."""
    try:
        frame = pd.read_csv(file, dtype=object, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ProjectError(f"{file}: missing from the mirror; write it again with project.dump() or restore it "
                           "from version control.", path=file) from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        raise ProjectError(f"{file}: not a readable CSV of a project mirror ({exc}). Restore it from version "
                           "control (git checkout) or write the mirror again with project.dump().", path=file) from None
    frame.columns = [csv_value(c) for c in frame.columns]
    return frame.map(csv_value) if len(frame) else frame


# Keys of the meta table that hold work in progress (JSON values).
_UNSUGGESTED = "unsuggested_documents"
_ROUND = "round_in_progress:"
# One key per stored suggestion run (coders and parameters, for provenance), sorted by time.
_RUN = "suggestion_run:"
# The labels a document was loaded with (speakers=, interviewer=), reused when it is added again without them.
_ROLES = "roles"
_LOAD_OPTIONS = "load_options:"


def _get_meta(db: sqlite3.Connection, key: str, default: Any) -> Any:
    """The JSON value stored under ``key`` in the meta table (``default`` when absent)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def _set_meta(db: sqlite3.Connection, key: str, value: object) -> None:
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value, ensure_ascii=False)))


def _mark_suggested(db: sqlite3.Connection, segment_ids: Sequence[str]) -> None:
    """Take the documents of ``segment_ids`` off the unsuggested list (inside the storing transaction)."""
    pending = _get_meta(db, _UNSUGGESTED, [])
    if not pending:
        return
    replaced, done = set(segment_ids), set[str]()
    for i in range(0, len(pending), 900):  # SQLite's limit on bound parameters
        chunk = pending[i:i + 900]
        done.update(doc for doc, seg in db.execute(
            f"SELECT doc_id, segment_id FROM segments WHERE doc_id IN ({', '.join('?' * len(chunk))})", chunk)
            if seg in replaced)
    if not done:
        return
    left = [d for d in pending if d not in done]
    if left:
        _set_meta(db, _UNSUGGESTED, left)
    else:
        db.execute("DELETE FROM meta WHERE key = ?", (_UNSUGGESTED,))


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (triggers contain semicolons inside BEGIN … END)."""
    out, buffer = [], []
    for line in script.splitlines():
        code = line.split("--", 1)[0].rstrip()
        if not code:
            continue
        buffer.append(code)
        joined = " ".join(buffer)
        trigger = joined.lstrip().upper().startswith("CREATE TRIGGER")
        if joined.endswith(";") and (not trigger or joined.endswith("END;")):
            out.append(joined)
            buffer = []
    return out


def _typed(frame: pd.DataFrame, columns: Sequence) -> pd.DataFrame:
    for column in columns:
        if column.name in frame.columns:
            if column.dtype == "boolean":
                frame[column.name] = frame[column.name].astype("Int64").astype("boolean")
            else:
                frame[column.name] = frame[column.name].astype(column.dtype)
    return frame
