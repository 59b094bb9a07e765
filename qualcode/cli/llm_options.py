"""The ``--llm URL --model NAME`` options shared by ``qualcode suggest``, ``round`` and ``evaluate``."""

from __future__ import annotations

import typer

from ..coders.llm import CODEBOOK_EXAMPLES, CONCURRENCY, FEW_SHOT_CHARS, MAX_ANSWER_TOKENS, LLMCoder
from ..errors import LLMInterrupted, ParameterError
from ..io.chat import TIMEOUT_SECONDS, check_base_url
from ..messages import counted

__all__ = ["API_KEY", "LLM_CONCURRENCY", "LLM_EXAMPLES", "LLM_FEW_SHOT_CHARS", "LLM_MAX_TOKENS", "LLM_TIMEOUT",
           "LLM_URL", "MODEL", "llm_coder", "llm_interrupted"]

LLM_URL = typer.Option(None, "--llm", help="Also ask the LLM on your own OpenAI-compatible server at this URL "
                                           "(e.g. http://localhost:11434/v1); nothing else is contacted.")
MODEL = typer.Option(None, "--model", help="The model's name on the --llm server.")
API_KEY = typer.Option(None, "--api-key", envvar="QUALCODE_LLM_API_KEY",
                       help="Key for the --llm server, if it asks for one. On a shared machine set the "
                            "environment variable QUALCODE_LLM_API_KEY instead: a command line is visible to "
                            "other users (ps).")
LLM_TIMEOUT = typer.Option(TIMEOUT_SECONDS, "--llm-timeout", min=1,
                           help="Seconds to wait for one answer of the --llm server.")
LLM_CONCURRENCY = typer.Option(CONCURRENCY, "--llm-concurrency", min=1, help="Requests to the --llm server at once.")
LLM_EXAMPLES = typer.Option(CODEBOOK_EXAMPLES, "--llm-examples", min=0,
                            help="Example quotes per code sent from the codebook to the --llm server (fewer: a "
                                 "shorter prompt for a model with a small context).")
LLM_MAX_TOKENS = typer.Option(MAX_ANSWER_TOKENS, "--llm-max-tokens", min=1,
                              help="The longest answer asked of the --llm server, in tokens; the server keeps "
                                   "this much of the model's context free for it (less: for a model with a small "
                                   "context).")
LLM_FEW_SHOT_CHARS = typer.Option(FEW_SHOT_CHARS, "--llm-few-shot-chars", min=0,
                                  help="Characters of the team's accepted quotes sent with each segment as "
                                       "examples to the --llm server (0: none).")


def llm_interrupted(exc: LLMInterrupted, what: str) -> str:
    """The one line a Ctrl-C during the LLM's requests gets (suggest, round, evaluate): what was kept, and that the
    same command goes on."""
    return (f"interrupted: {counted(exc.n_kept, 'answer')} from the LLM kept in the project; "
            f"run the same command again to continue {what} (it asks only for the rest)")


def llm_coder(url: str | None, model: str | None, api_key: str | None, timeout: float,
              concurrency: int, methods: tuple[str, ...] = (), *, examples: int = CODEBOOK_EXAMPLES,
              few_shot_chars: int = FEW_SHOT_CHARS, max_tokens: int = MAX_ANSWER_TOKENS) -> LLMCoder | None:
    """The LLM coder the options ask for (``None`` without ``--llm``), checked before any work.

    Raises
    ------
    ParameterError
        For ``--llm`` without ``--model`` (or the reverse), ``--methods llm`` without them, or a URL that is
        not an http(s) base URL.
    """
    if "llm" in methods and url is None and model is None:
        raise ParameterError("--methods llm needs your own server: add --llm URL --model NAME (e.g. --llm "
                             "http://localhost:11434/v1 --model qwen2.5:7b-instruct).")
    if (url is None) != (model is None):
        raise ParameterError("--llm and --model go together: the server's URL and the model's name on it.")
    if url is None:
        return None
    check_base_url(url)
    return LLMCoder(url, model, api_key, timeout=timeout, concurrency=concurrency, codebook_examples=examples,
                    few_shot_chars=few_shot_chars, max_tokens=max_tokens)
