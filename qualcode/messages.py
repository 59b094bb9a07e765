"""The words qualcode writes into reports and charts, in Spanish and English: one table.

Every sheet title, column header, saturation verdict, chart title, axis
label and legend that a report or a chart shows comes from :data:`WORDS`, so
a report asked for in Spanish is Spanish throughout and a new language is one
column more here. Column headers are translated only for qualcode's own
columns; a study's attribute columns (``Comuna``, ``district``) keep the names
the team gave them.

Examples
--------
>>> say("verdict.not_saturated", "es", n=15)
'no saturado a los 15'
>>> header("n_participants", "es")
'n_participantes'
>>> header("Comuna", "es")
'Comuna'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .schemas import check_lang

__all__ = ["WORDS", "counted", "header", "headers", "say"]

# key -> {lang: text}; ``{name}`` fields are filled by :func:`say`.
WORDS: dict[str, dict[str, str]] = {
    # Report sheet titles.
    "sheet.about": {"es": "Léame", "en": "About"},
    "sheet.quotes": {"es": "Citas", "en": "Quotes"},
    "sheet.frequencies": {"es": "Frecuencias", "en": "Frequencies"},
    "sheet.by": {"es": "Por", "en": "By"},
    "sheet.cooccurrence": {"es": "Coocurrencia", "en": "Co-occurrence"},
    "sheet.saturation": {"es": "Saturación", "en": "Saturation"},
    "sheet.first": {"es": "Primera aparición", "en": "First appearance"},
    "sheet.codebook": {"es": "Libro de códigos", "en": "Codebook"},
    "sheet.charts": {"es": "Gráficos", "en": "Charts"},
    # A decision's code that a later codebook version removed or renamed: kept, and said so.
    "report.not_in_codebook": {"es": "{label} ({code_id}: no está en el libro de códigos actual)",
                               "en": "{label} ({code_id}: not in the current codebook)"},
    "report.attribute": {"es": "atributo", "en": "attribute"},
    # The attribute roles (io/roles.py), as the about sheet names them.
    "role.participant": {"es": "participante", "en": "participant"},
    "role.pseudonym": {"es": "seudónimo", "en": "pseudonym"},
    "role.role": {"es": "cargo", "en": "role"},
    "role.site": {"es": "sitio", "en": "site"},
    "role.stage": {"es": "etapa", "en": "stage"},
    "role.round": {"es": "ronda", "en": "round"},
    "role.date": {"es": "fecha", "en": "date"},
    # Column headers of qualcode's own columns (attribute columns keep the study's names).
    "column.quote": {"es": "cita", "en": "quote"},
    "column.code_id": {"es": "id_código", "en": "code_id"},
    "column.code": {"es": "código", "en": "code"},
    "column.tag": {"es": "etiqueta", "en": "tag"},
    "column.doc_id": {"es": "documento", "en": "doc_id"},
    "column.speaker": {"es": "hablante", "en": "speaker"},
    "column.start": {"es": "inicio", "en": "start"},
    "column.timestamp": {"es": "tiempo", "en": "timestamp"},
    "column.coder": {"es": "codificador", "en": "coder"},
    "column.decision": {"es": "decisión", "en": "decision"},
    "column.memo": {"es": "memo", "en": "memo"},
    "column.dimension": {"es": "dimensión", "en": "dimension"},
    "column.depth": {"es": "profundidad", "en": "depth"},
    "column.label": {"es": "nombre", "en": "label"},
    "column.n": {"es": "n", "en": "n"},
    "column.n_segments": {"es": "n_segmentos", "en": "n_segments"},
    "column.n_documents": {"es": "n_documentos", "en": "n_documents"},
    "column.n_participants": {"es": "n_participantes", "en": "n_participants"},
    "column.pct_participants": {"es": "pct_participantes", "en": "pct_participants"},
    "column.pct_documents": {"es": "pct_documentos", "en": "pct_documents"},
    "column.code_a": {"es": "código_a", "en": "code_a"},
    "column.code_b": {"es": "código_b", "en": "code_b"},
    "column.label_a": {"es": "nombre_a", "en": "label_a"},
    "column.label_b": {"es": "nombre_b", "en": "label_b"},
    "column.jaccard": {"es": "jaccard", "en": "jaccard"},
    "column.position": {"es": "posición", "en": "position"},
    "column.n_new": {"es": "n_nuevos", "en": "n_new"},
    "column.cumulative": {"es": "acumulado", "en": "cumulative"},
    "column.new_codes": {"es": "códigos_nuevos", "en": "new_codes"},
    "column.order": {"es": "orden", "en": "order"},
    "column.group": {"es": "grupo", "en": "group"},
    "column.method": {"es": "método", "en": "method"},
    "column.saturated": {"es": "saturado", "en": "saturated"},
    "column.point": {"es": "punto", "en": "point"},
    "column.notation": {"es": "veredicto", "en": "notation"},
    "column.windows": {"es": "ventanas", "en": "windows"},
    "column.parameters": {"es": "parámetros", "en": "parameters"},
    "column.n_codes": {"es": "n_códigos", "en": "n_codes"},
    "column.base_codes": {"es": "códigos_base", "en": "base_codes"},
    "column.n_documents_total": {"es": "n_documentos_total", "en": "n_documents_total"},
    "column.parent_id": {"es": "id_padre", "en": "parent_id"},
    "column.label_es": {"es": "nombre", "en": "label_es"},
    "column.definition_es": {"es": "definición", "en": "definition_es"},
    "column.inclusion_es": {"es": "inclusión", "en": "inclusion_es"},
    "column.exclusion_es": {"es": "exclusión", "en": "exclusion_es"},
    "column.keywords_es": {"es": "palabras_clave", "en": "keywords_es"},
    # Saturation verdicts (Guest et al. 2020: base+run; Francis et al. 2010: initial+stopping).
    "verdict.saturated": {"es": "saturación {point}+{run}", "en": "{point}+{run}"},
    "verdict.not_saturated": {"es": "no saturado a los {n}", "en": "not saturated at {n}"},
    "verdict.too_few": {"es": "muy pocos documentos para una serie ({n} < {base}+{run})",
                        "en": "too few documents for one run ({n} < {base}+{run})"},
    "verdict.francis_saturated": {"es": "saturación a los {point} ({init}+{stop})",
                                  "en": "saturated at {point} ({init}+{stop})"},
    "verdict.francis_not_saturated": {"es": "no saturado ({init}+{stop}, {n} documentos)",
                                      "en": "not saturated ({init}+{stop}, {n} documents)"},
    "verdict.francis_too_few": {"es": "muy pocos documentos ({n} < {init}+{stop})",
                                "en": "too few documents ({n} < {init}+{stop})"},
    "verdict.undefined": {"es": "indefinido: no hay códigos en los primeros {base} documentos",
                          "en": "undefined: no codes in the first {base} documents"},
    "verdict.all": {"es": "todos", "en": "all"},
    # Values of qualcode's own columns in a report (a study's attribute values are shown as written).
    "value.decision.accept": {"es": "aceptada", "en": "accepted"},
    "value.decision.manual": {"es": "manual", "en": "manual"},
    "value.decision.reject": {"es": "rechazada", "en": "rejected"},
    "value.method.guest": {"es": "Guest et al. (2020)", "en": "Guest et al. (2020)"},
    "value.method.francis": {"es": "Francis et al. (2010)", "en": "Francis et al. (2010)"},
    "value.true": {"es": "sí", "en": "yes"},
    "value.false": {"es": "no", "en": "no"},
    # Saturation parameters, named as the papers name them.
    "params.guest": {"es": "base={base}, racha={run}, umbral={threshold:.0%}",
                     "en": "base={base}, run={run}, threshold={threshold:.0%}"},
    "params.francis": {"es": "inicial={init}, parada={stop}", "en": "init={init}, stop={stop}"},
    # The analysis order a saturation verdict used, and why.
    "order.appearance": {"es": "documentos en el orden en que aparecen en las codificaciones",
                         "en": "documents in the order they appear in the codings"},
    "order.given": {"es": "el orden dado", "en": "the order given"},
    "order.by": {"es": "por {column}", "en": "by {column}"},
    "order.iso": {"es": "fechas ISO", "en": "ISO dates"},
    "order.day_first": {"es": "fechas dd/mm/aaaa, día primero", "en": "dd/mm/yyyy dates, day first"},
    "order.month_first": {"es": "fechas mm/dd/aaaa, mes primero", "en": "mm/dd/yyyy dates, month first"},
    "order.guessed": {"es": "supuesto: nada en la columna lo prueba y {values} se leerían distinto",
                      "en": "a guess: nothing in the column proves it and {values} would read differently"},
    "order.unreadable": {"es": "{n} documento(s) con una fecha ilegible ({values}) al final",
                         "en": "{n} document(s) whose date cannot be read ({values}) last"},
    "order.text": {"es": "como texto: sus fechas mezclan día primero y mes primero",
                   "en": "as text: its dates mix day first and month first"},
    "order.no_column": {"es": "no hay columna {column}", "en": "no column {column}"},
    "order.missing": {"es": "{n} documento(s) sin {column} al final, por id",
                      "en": "{n} document(s) without {column} last, by id"},
    # The report's about sheet.
    "about.project": {"es": "proyecto", "en": "project"},
    "about.codebook": {"es": "libro de códigos", "en": "codebook"},
    "about.quotes": {"es": "citas codificadas", "en": "coded quotes"},
    "about.coders": {"es": "codificadores", "en": "coders"},
    "about.pseudonymized": {"es": "seudonimizado", "en": "pseudonymized"},
    "about.no": {"es": "no", "en": "no"},
    "about.none": {"es": "ninguno", "en": "none"},
    "about.roles": {"es": "roles", "en": "roles"},
    "about.saturation": {"es": "saturación", "en": "saturation"},
    "about.saturation_note": {"es": "saturación de códigos (sin códigos nuevos): una mirada al estudio, no una prueba",
                              "en": "code saturation (no new codes), one lens on the study, not proof"},
    # Charts.
    "chart.frequencies": {"es": "Frecuencia de códigos", "en": "Code frequencies"},
    "chart.codes_by": {"es": "Códigos por {by}", "en": "Codes by {by}"},
    "chart.saturation": {"es": "Saturación de códigos", "en": "Code saturation"},
    "chart.cooccurrence": {"es": "Co-ocurrencia", "en": "Co-occurrence"},
    "chart.new_codes": {"es": "códigos nuevos", "en": "new codes"},
    "chart.codes_so_far": {"es": "códigos acumulados", "en": "codes so far"},
    "chart.threshold": {"es": "umbral {t} de la base", "en": "threshold {t} of base"},
    "chart.saturation_point": {"es": "saturación", "en": "saturation"},
    "chart.document_order": {"es": "documento, en orden de análisis", "en": "document, in analysis order"},
    "chart.codes": {"es": "códigos", "en": "codes"},
    "chart.both": {"es": "segmentos con ambos", "en": "segments with both"},
    "chart.n_segments": {"es": "segmentos codificados", "en": "coded segments"},
    "chart.n_documents": {"es": "documentos", "en": "documents"},
    "chart.n_participants": {"es": "participantes", "en": "participants"},
    "chart.pct_participants": {"es": "% de participantes", "en": "% of participants"},
    "chart.n": {"es": "n", "en": "n"},
}


def say(key: str, lang: str, /, **fields: object) -> str:
    """The text for ``key`` in ``lang``, with ``{name}`` fields filled.

    Raises
    ------
    ParameterError
        If ``lang`` is not ``es`` or ``en``.
    KeyError
        If ``key`` is not in :data:`WORDS` (a programming error, not user input).
    """
    check_lang(lang)
    return WORDS[key][lang].format(**fields)


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun that goes with it: ``1 segment``, ``0 segments``, ``2 answers``.

    ``plural`` defaults to ``singular + "s"`` (give it for other plurals: ``counted(n, "reply", "replies")``).

    Examples
    --------
    >>> counted(1, "segment"), counted(0, "answer"), counted(3, "reply", "replies")
    ('1 segment', '0 answers', '3 replies')
    """
    return f"{n} {singular if n == 1 else (plural if plural is not None else singular + 's')}"


def header(column: str, lang: str) -> str:
    """A column's header in ``lang``: qualcode's own columns translated, a study's own columns as they are."""
    check_lang(lang)
    words = WORDS.get(f"column.{column}")
    return words[lang] if words else column


def headers(columns: Iterable[object], lang: str) -> Mapping[object, str]:
    """``{column: header}`` for :meth:`pandas.DataFrame.rename` (see :func:`header`)."""
    return {column: header(str(column), lang) for column in columns}
