"""Coders: suggest codes for segments, each with a score and its evidence (scikit-learn estimators)."""

from __future__ import annotations

from .base import BaseCoder, NotFittedError
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
    "evaluate",
    "get_embedder",
    "suggest",
]
