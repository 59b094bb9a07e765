"""The ``qualcode`` Typer application that every command module registers its commands on."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="qualcode",
    help="Qualitative analysis of interview transcripts (Spanish and English).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Qualitative analysis of interview transcripts (Spanish and English)."""
