"""Coders: suggest codes for segments, each with a score and its evidence (scikit-learn estimators)."""

from __future__ import annotations

from .base import (
    BaseCoder,
    CoderTags,
    NotFittedError,
    available_coders,
    get_coder,
    method_support,
    register_coder,
)
from .embedders import (
    CachedEmbedder,
    Embedder,
    EmbeddingCache,
    MemoryEmbeddingCache,
    TfidfEmbedder,
    USEEmbedder,
    get_embedder,
)
from .embedding import EmbeddingCoder
from .ensemble import EnsembleCoder, suggest
from .evaluate import evaluate
from .keyword import KeywordCoder
from .learned import LearnedCoder
from .llm import LLMCoder, MemoryResponseCache

__all__ = [
    "BaseCoder",
    "CachedEmbedder",
    "CoderTags",
    "Embedder",
    "EmbeddingCache",
    "EmbeddingCoder",
    "EnsembleCoder",
    "KeywordCoder",
    "LLMCoder",
    "LearnedCoder",
    "MemoryEmbeddingCache",
    "MemoryResponseCache",
    "NotFittedError",
    "TfidfEmbedder",
    "USEEmbedder",
    "available_coders",
    "evaluate",
    "get_coder",
    "get_embedder",
    "method_support",
    "register_coder",
    "suggest",
]
