"""Attribute roles: which of a study's own columns is the participant, the date, the stage …

A study names its attribute columns in its own words (``Participante``,
``Fecha``, ``Comuna``); the analyses need to know which column plays which
part: who is a participant (share of participants), which date orders the
interviews (saturation), which columns describe the design (stage, round) and
the people (role, site). A study declares its roles once, in the project
(``qualcode init --roles "participant=Participante,date=Fecha"``,
``project.set_roles({...})``); without a declaration the usual Spanish and
English headers are recognised, and the recognition is reported.

The roles (``ROLES``), with the headers recognised for each (case, accents,
spaces and underscores ignored):

===========  ===============================================================
participant  participant, participante, participant id, id participante …
pseudonym    pseudonym, seudónimo, pseudónimo, alias
role         role, rol, cargo, position, puesto, perfil
site         site, district, comuna, school, escuela, jardín, establecimiento
stage        stage, etapa, fase, phase
round        round, ronda, wave, ola, instancia
date         date, fecha, interview date, fecha de entrevista, fecha entrevista
===========  ===============================================================

Every other column is a free attribute: code × attribute tables, quote sheets
and ``qualcode report --by COLUMN`` take it under its own name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ParameterError

__all__ = ["HEADERS", "ROLES", "Roles", "header_role", "parse_roles", "recognise_roles", "role_column"]

ROLES = ("participant", "pseudonym", "role", "site", "stage", "round", "date")

HEADERS: dict[str, tuple[str, ...]] = {
    "participant": ("participant", "participante", "participant id", "participant_id", "id participante",
                    "codigo participante", "persona", "informante", "entrevistado", "entrevistada"),
    "pseudonym": ("pseudonym", "seudonimo", "pseudonimo", "alias"),
    "role": ("role", "rol", "cargo", "position", "puesto", "perfil"),
    "site": ("site", "district", "comuna", "school", "escuela", "jardin", "establecimiento", "centro"),
    "stage": ("stage", "etapa", "fase", "phase"),
    "round": ("round", "ronda", "wave", "ola", "instancia"),
    "date": ("date", "fecha", "interview date", "fecha de entrevista", "fecha entrevista"),
}


def _key(header: object) -> str:
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


_BY_KEY = {_key(h): role for role, headers in HEADERS.items() for h in headers}


def header_role(header: object) -> str | None:
    """The role a usual header names (``"Fecha de entrevista"`` → ``"date"``), or ``None``.

    Examples
    --------
    >>> header_role("Seudónimo"), header_role("Dependencia")
    ('pseudonym', None)
    """
    return _BY_KEY.get(_key(header))


@dataclass
class Roles:
    """Which study column plays which role.

    Attributes
    ----------
    columns : dict
        Role → the study's column (only the roles the study has).
    recognised : list of str
        The roles found from their headers, not declared: ``"date = Fecha"``.
    missing : dict
        Declared roles whose column the study does not have (yet, or by a typo); not used.
    attributes : list of str
        The study's attribute columns the roles were read from.
    """

    columns: dict[str, str] = field(default_factory=dict)
    recognised: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    attributes: list[str] = field(default_factory=list)

    def get(self, role: str) -> str | None:
        """The study column for ``role``, or ``None``."""
        return self.columns.get(role)

    def to_analysis(self, columns: Iterable[object]) -> dict[str, str]:
        """``{study column: role}`` for renaming a table so analyses find each role under its name.

        A role name that is already another column of the table is left alone.
        """
        present = {str(c) for c in columns}
        return {study: role for role, study in self.columns.items()
                if study != role and study in present and role not in present}


def parse_roles(spec: str) -> dict[str, str]:
    """Read ``"participant=Participante,date=Fecha"`` (the ``--roles`` option) into a mapping.

    Raises
    ------
    ParameterError
        For an unknown role or an entry without ``=``; the message lists the roles.

    Examples
    --------
    >>> parse_roles("participant=Participante, date=Fecha")
    {'participant': 'Participante', 'date': 'Fecha'}
    """
    out: dict[str, str] = {}
    for part in (p.strip() for p in re.split(r"[,;]", spec)):  # ";" too: a Spanish-locale list separator
        if not part:
            continue
        role, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not role or not column:
            raise ParameterError(f"--roles entry {part!r} is not ROLE=COLUMN; e.g. "
                                 "--roles \"participant=Participante,date=Fecha\".")
        if role not in ROLES:
            raise ParameterError(f"--roles: unknown role {role!r}; the roles are {', '.join(ROLES)}.")
        out[role] = column
    return out


def recognise_roles(columns: Iterable[object], declared: Mapping[str, str] | None = None) -> Roles:
    """The roles of a study's attribute columns: the declared ones, then those recognised by header.

    Parameters
    ----------
    columns : iterable of str
        The study's attribute columns (e.g. the documents table's, after its own columns).
    declared : mapping, optional
        Role → column, from ``--roles`` or ``project.set_roles``; wins over recognition.

    Returns
    -------
    Roles

    Raises
    ------
    ParameterError
        If a declared role names a column the study does not have (the message
        lists the columns that exist), or an unknown role.

    Examples
    --------
    >>> roles = recognise_roles(["Participante", "Seudónimo", "Cargo", "Comuna", "Dependencia", "Ronda", "Fecha"])
    >>> roles.get("date"), roles.get("site"), roles.get("stage")
    ('Fecha', 'Comuna', None)
    """
    names = [str(c) for c in columns]
    out = Roles()
    for role, column in (declared or {}).items():
        if role not in ROLES:
            raise ParameterError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}.")
        if names and column not in names:
            raise ParameterError(f"role {role}: the study has no column {column!r}; its attribute columns are "
                                 f"{', '.join(names) or '(none)'}.")
        out.columns[role] = column
    taken = set(out.columns.values())
    for name in names:
        found = _BY_KEY.get(_key(name))
        if found is None or found in out.columns or name in taken:
            continue
        out.columns[found] = name
        taken.add(name)
        if name != found:
            out.recognised.append(f"{found} = {name}")
    return out


def role_column(table: Any, role: str) -> str | None:
    """The column of ``table`` (a DataFrame) that plays ``role``, or ``None``.

    The column named as the role itself comes first; then the study's
    declaration, which :func:`qualcode.coded_quotes` and
    :attr:`qualcode.Project.segments` carry in ``table.attrs["roles"]``; then
    a usual header (``Participante``, ``Fecha``). So ``qc.code_frequencies``
    counts participants by ``Quién`` when the study declared it, by
    ``Participante`` without a declaration.

    Examples
    --------
    >>> import pandas as pd
    >>> role_column(pd.DataFrame(columns=["doc_id", "Fecha"]), "date")
    'Fecha'
    >>> table = pd.DataFrame(columns=["doc_id", "Quién"])
    >>> table.attrs["roles"] = {"participant": "Quién"}
    >>> role_column(table, "participant")
    'Quién'
    """
    columns = [str(c) for c in table.columns]
    if role in columns:
        return role
    declared = table.attrs.get("roles") if isinstance(getattr(table, "attrs", None), dict) else None
    if isinstance(declared, Mapping) and declared.get(role) in columns:
        return str(declared[role])
    found = [c for c in columns if _BY_KEY.get(_key(c)) == role]
    return found[0] if len(found) == 1 else None  # two candidates would be a guess
