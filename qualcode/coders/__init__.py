"""Coders: suggest codes for segments, each with a score and its evidence (scikit-learn estimators)."""

from __future__ import annotations

from .base import BaseCoder, NotFittedError
from .keyword import KeywordCoder

__all__ = ["BaseCoder", "KeywordCoder", "NotFittedError"]
