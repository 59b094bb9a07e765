"""``qualcode evaluate``: how good the suggestions would have been on a project, against its own human coding."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from ..coders.evaluate import DEFAULT_CURVE, DEFAULT_REVIEW, METHODS_EVALUATED, CrossValidation
from ..errors import LLMInterrupted, ParameterError
from ..io.atomic import atomic_write_bytes, check_outputs, check_writable
from ..io.cells import csv_frame, reporting
from ..parallel import using
from ..project import Project
from ..workflow import evaluate_project
from .app import INTERRUPTED, PARTLY_DONE, QUIET, app, command, in_cli_words, say, shown
from .llm_options import (
    API_KEY,
    LLM_CONCURRENCY,
    LLM_EXAMPLES,
    LLM_FEW_SHOT_CHARS,
    LLM_MAX_TOKENS,
    LLM_TIMEOUT,
    LLM_URL,
    MODEL,
    llm_coder,
    llm_interrupted,
)

__all__ = ["evaluate_cmd", "table_paths"]

#: The CSV files of --csv FILE: the summary in FILE, the other tables beside it with these suffixes.
CSV_SUFFIXES = {"summary": "", "scores": "_codes", "curve": "_curve", "reliability": "_reliability"}


def _numbers(option: str, spec: str, *, least: int) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in spec.split(",") if v.strip())
    except ValueError:
        raise ParameterError(f"{option} takes whole numbers separated by commas (e.g. {option} 0,3,5,10,20), "
                             f"got {spec!r}.") from None
    if any(v < least for v in values):
        raise ParameterError(f"{option} numbers must be {least} or more, got {spec!r}.")
    return values


def table_paths(csv: Path) -> dict[str, Path]:
    """Where --csv FILE writes each table: FILE itself for the summary, FILE_codes.csv … beside it."""
    return {name: csv.with_name(f"{csv.stem}{suffix}{csv.suffix or '.csv'}") for name, suffix in CSV_SUFFIXES.items()}


# How coders/evaluate.py words a system it could not measure (its note): the command then exits 1.
_LEFT_OUT = " failed and is left out: "


def _show(result: CrossValidation, k: int) -> None:
    summary = result.summary
    n_segments = int(summary["n_segments"].iloc[0]) if len(summary) else 0
    n_gold = int(summary["n_gold"].iloc[0]) if len(summary) else 0
    say(f"{n_segments} participant segments, {n_gold} coded (segment, code) pairs; {result.folds}-fold "
        f"cross-validation grouped by {result.grouped_by}")
    for note in result.notes:
        if _LEFT_OUT in note:  # a method that could not be measured: the table lacks it
            say(f"warning: {in_cli_words(note)}", err=True, fg="yellow", lines=True)
        else:
            say(f"note: {note}")
    for warning in result.warnings:  # where a small project's figures say less than they seem to
        say(f"warning: {in_cli_words(warning)}", err=True, fg="yellow", lines=True)
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500):
        say("")
        say("suggestion quality on held-out segments (micro-averaged; recall@k on the full ranking):")
        columns = ["system", "kind", "precision", "recall", "f1", "macro_f1", "kappa", "recall_at_k",
                   "no_suggestion", "ece"]
        table = summary[columns].rename(columns={"recall_at_k": f"recall@{k}"})
        say(shown(table).round(3).to_string(index=False), lines=True)
        systems = list(summary["system"])
        focus = "default" if "default" in systems else (systems[0] if systems else None)
        if focus is not None:
            per = result.scores[(result.scores["system"] == focus) & (result.scores["level"] == "code")
                                & (result.scores["n_gold"] > 0)]
            say("")
            say(f"per code ({focus}; --csv writes every system):")
            per = per[["code_id", "n_gold", "n_suggested", "precision", "recall", "f1", "kappa", "recall_at_k"]]
            say(shown(per.rename(columns={"recall_at_k": f"recall@{k}"})).round(3).to_string(index=False),
                lines=True)
        if len(result.curve):
            say("")
            say("learning curve (held out; n = coded segments per code drawn from the training fold, or "
                "suggestions of the review queue decided):")
            curve = result.curve.rename(columns={"recall_at_k": f"recall@{k}"})
            say(shown(curve).round(3).to_string(index=False), lines=True)
        if focus is not None:
            bins = result.reliability[(result.reliability["system"] == focus) & (result.reliability["n"] > 0)]
            if len(bins):
                say("")
                say(f"reliability ({focus}): score bin → share of suggestions people coded")
                say(shown(bins[["bin_low", "bin_high", "n", "mean_score", "accepted"]]).round(3)
                    .to_string(index=False), lines=True)


@app.command("evaluate")
@command
def evaluate_cmd(project: Path = typer.Argument(..., help="Project file with human decisions (or imported from "
                                                          "a .qdpx coded in another tool)."),
                 methods: str = typer.Option(",".join(METHODS_EVALUATED), "--methods",
                                             help="Coders to measure, comma-separated: keyword, embedding, "
                                                  "learned, default (what 'qualcode suggest' gives). The prior, "
                                                  "content-only and supervised baselines are always measured."),
                 k: int = typer.Option(3, "--k", min=1, help="recall@k, and the prior's k most frequent codes."),
                 folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds (grouped by "
                                                                     "participant)."),
                 curve: str = typer.Option(",".join(map(str, DEFAULT_CURVE)), "--curve",
                                           help="Learning curve: coded segments per code to learn from, "
                                                "comma-separated ('' for none)."),
                 review: str = typer.Option(",".join(map(str, DEFAULT_REVIEW)), "--review",
                                            help="Review-order simulation: suggestions decided in document "
                                                 "order and in learn order, comma-separated ('' for none)."),
                 coder: str | None = typer.Option(None, "--coder", help="Only this coder's decisions are the "
                                                                        "gold coding (default: everyone's)."),
                 embedder: str = typer.Option("use", "--embedder", help="use, tfidf or st:<local model>."),
                 seed: int = typer.Option(0, "--seed", help="Seed of the learning curve's draws."),
                 csv: Path | None = typer.Option(None, "--csv", help="Also write the tables: the summary to this "
                                                                      "file, per code / curve / reliability "
                                                                      "beside it (FILE_codes.csv …)."),
                 overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing CSV files of these "
                                                                           "names."),
                 llm: str | None = LLM_URL, model: str | None = MODEL, api_key: str | None = API_KEY,
                 llm_timeout: float = LLM_TIMEOUT, llm_concurrency: int = LLM_CONCURRENCY,
                 llm_examples: int = LLM_EXAMPLES, llm_few_shot_chars: int = LLM_FEW_SHOT_CHARS,
                 llm_max_tokens: int = LLM_MAX_TOKENS,
                 quiet: bool = QUIET) -> None:
    """Measure the suggestions against the project's own coding, on participants they did not learn from.

    Prints per-code precision, recall, F1 and Cohen's kappa, micro and macro
    F1, recall@k, beside three baselines measured in the same run (the k
    most frequent codes; TF-IDF similarity of the text to each code's label
    and definition; a supervised TF-IDF + logistic regression trained on the
    training folds), the learning curve, whether reviewing in learn order
    teaches faster than document order, and a reliability diagram (score →
    share accepted). Embeddings are cached in the project.

    Examples:

        qualcode evaluate estudio.qualcode

        qualcode evaluate estudio.qualcode --methods default --curve 0,5,20 --csv evaluacion.csv

        qualcode evaluate estudio.qualcode --llm http://localhost:11434/v1 --model qwen2.5:7b-instruct

    With --llm and --model, the LLM on your server is measured too, alone (llm) and fused with the
    others (default+llm), on the same folds: each evaluated segment is sent once, its answer kept in
    the project, so running it again sends nothing new. A progress line shows the LLM's requests (-q
    hides it); Ctrl-C during them keeps the answers received (exit 130), and the same command goes on.
    """
    coder_llm = llm_coder(llm, model, api_key, llm_timeout, llm_concurrency, examples=llm_examples,
                          few_shot_chars=llm_few_shot_chars, max_tokens=llm_max_tokens)
    wanted = tuple(m.strip() for m in methods.split(",") if m.strip())
    unknown = [m for m in wanted if m not in METHODS_EVALUATED]
    if unknown or not wanted:
        raise ParameterError(f"--methods {methods!r}: choose among {', '.join(METHODS_EVALUATED)}.")
    sizes = _numbers("--curve", curve, least=0)
    budgets = _numbers("--review", review, least=1)
    paths = table_paths(csv) if csv is not None else {}
    if paths:
        check_outputs({f"--csv ({p.name})": p for p in paths.values()}, {"the project": project})
        check_writable(list(paths.values()), overwrite=overwrite)  # before the work, not after it
    p = Project.open(project)  # written to: the embedding cache
    try:
        # Progress as 'qualcode suggest' shows it (the LLM's "ask MODEL about N segments" line among others).
        with using(progress=not quiet):
            result = evaluate_project(p, methods=wanted, k=k, folds=folds, curve=sizes, review=budgets,
                                      coder=coder, seed=seed, embedder=embedder, llm=coder_llm)
    except LLMInterrupted as exc:
        say(llm_interrupted(exc, "the evaluation"), err=True, fg="yellow")
        raise typer.Exit(INTERRUPTED) from None
    finally:
        p.close()
    _show(result, k)
    for name, path in paths.items():
        with reporting(path, "this table"):
            safe = csv_frame(getattr(result, name), path.name)
        atomic_write_bytes(path, safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"),
                           overwrite=overwrite)
    if paths:
        say(f"wrote {', '.join(str(p) for p in paths.values())}")
    if any(_LEFT_OUT in note for note in result.notes):
        raise typer.Exit(PARTLY_DONE)  # measured in part: a system (the LLM, its server down) is missing
