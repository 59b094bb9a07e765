"""Fusion: one probability per (segment, code) from every coder's evidence, weighted per code by decisions.

Evidence (one number per coder, 0 = no evidence either way)
    keyword
        ``Σ w`` of the distinct keywords found in the best window (``−log(1 − score)`` of
        :class:`~qualcode.coders.KeywordCoder`): 0.7 for one word, 1.0 for a phrase; 0 without a match.
    embedding
        The code's z-score across the codebook in the segment's best window (the inverse of
        :meth:`~qualcode.coders.EmbeddingCoder.calibrate`'s logistic); 0 is an average code, and is what a
        segment gets when no embedding coder ran.
    learned
        The log-odds of the code's learned model; 0 for a code without one.
    other
        Any other coder's score (the LLM coder, a third-party coder), read as a probability: its log-odds
        minus the prior's intercept, so that alone, before any decision, it keeps its own score (an LLM's
        0.8 stays 0.8) and beside other evidence it adds to it; 0 where it has none.
Prior (before any decision)
    ``logit p = −4.2 + 2.0 · keyword + 0.7 · embedding + 1.0 · learned``. The first three are the
    logistic fit of the sample's human coding (``data_samples/coding/ana.csv``, 290 participant turns ×
    60 codes) on the first two kinds of evidence with the shipped codebook, with and without its examples
    (−4.29/2.11/0.81 and −4.13/2.04/0.59); a learned model is taken at its word. So one keyword word with
    an average embedding scores 0.06, with the code 2 standard deviations above the others 0.20, and two
    words there 0.50: the share of such suggestions the sample's coder coded. Without an embedding coder,
    the keyword evidence alone is fitted the same way (:data:`PRIOR_WITHOUT_EMBEDDING`). These scores are the sample
    study's calibration, not this project's, until it holds :data:`CALIBRATED_AFTER` coded segments.
Stacking (from the project's decisions)
    Every decided segment's evidence is labelled 1 for the codes coded there (accepted or by hand) and 0
    for the codes rejected, and for every other code where the segment was coded (the coder looked and
    did not see it). Weights are fitted as a logistic regression with a Gaussian prior: first one set
    pooled over all codes, centred on the prior; then one set per code, centred on the pooled set, so a
    code with a few decisions keeps about the pooled weights and a code with many gets its own (strong
    keywords, weak examples …). How strongly each is pulled (:data:`STRENGTHS`: from the prior as it is,
    through pooled weights only, to per-code weights) is chosen by cross-validation on the decisions
    themselves, grouped by document (by participant when the decisions carry one): the pull whose
    weights best predict the held-out documents' decisions (log-likelihood). Decisions from a review
    queue are a biased sample (only suggestions someone was shown), and few of them can move weights
    the wrong way: then the prior, or the pooled weights, predict the held-out decisions better and are
    kept. With decisions on a single document there is nothing to hold out, and the documented pull
    (:data:`PRIOR_STRENGTH`, :data:`CODE_STRENGTH`) is used.
    The learned coder's evidence for its own training segments is its out-of-fold log-odds, so the
    stacking does not trust it for having seen the answer. This is Platt scaling of the evidence on the
    project's own decisions: the fused score is calibrated on them, "0.8" meaning about 80 % of such
    suggestions coded.
Decided pairs
    The weights are a handful of numbers per code: they cannot fit one decision, and a review queue whose
    shown suggestions were mostly accepted raises them for every pair alike, so a rejected pair could score
    higher after its rejection than before (issue 22). A pair someone decided therefore also gets the
    decision itself as evidence: ``± DECIDED`` added to its log-odds (+ coded, accepted or by hand, by
    anyone; − rejected and coded by no one). Only pairs decided in the decisions the fusion was fitted on
    move; held-out segments, what evaluation measures, are scored as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit

from ..schemas import CODED

__all__ = ["CALIBRATED_AFTER", "CODE_STRENGTH", "DECIDED", "EVIDENCE", "FUSION_FOLDS", "PRIOR", "PRIOR_STRENGTH",
           "PRIOR_WITHOUT_EMBEDDING", "STRENGTHS", "Fusion", "evidence_of"]

#: The kinds of evidence, in the order of the weights after the intercept; ``other`` is any third-party
#: coder's score, read as a probability.
EVIDENCE = ("keyword", "embedding", "learned", "other")
#: Weights before any decision (see the module docstring for where they come from).
PRIOR = {"intercept": -4.2, "keyword": 2.0, "embedding": 0.7, "learned": 1.0, "other": 1.0}
#: Without an embedding coder a segment's closeness to the code is unknown, not average: the keyword
#: evidence alone, fitted the same way, so one keyword word scores 0.10 and two 0.39.
PRIOR_WITHOUT_EMBEDDING = {**PRIOR, "intercept": -3.96, "keyword": 2.52}
#: The pooled weights are pulled toward the prior as strongly as this many well-placed pseudo-observations:
#: with the 60-code sample, 20 decided segments (1,200 labelled pairs) already move them most of the way.
PRIOR_STRENGTH = 20.0
#: A code's own weights are pulled toward the pooled ones this strongly: about 5 decisions of that code
#: before its weights differ much from the pooled ones, the few-shot range the learned coder starts at.
CODE_STRENGTH = 5.0
#: The pulls (pooled toward the prior, per code toward the pooled; ``inf``: not moved at all) the
#: cross-validation chooses from, most regularised first (a tie keeps the earlier): the prior as it is, the
#: pooled weights held close, the pooled weights as documented, and per-code weights as documented.
STRENGTHS = ((np.inf, np.inf), (5 * PRIOR_STRENGTH, np.inf), (PRIOR_STRENGTH, np.inf),
             (PRIOR_STRENGTH, CODE_STRENGTH))
#: Folds of that cross-validation (fewer when the decisions span fewer documents): few, so that refitting
#: after every decision in the review widget stays well under a second on the sample codebook.
FUSION_FOLDS = 3
#: Coded segments a project needs before its scores are calibrated on its own decisions (below, on the
#: sample study's): with fewer than about 30 positives a logistic fit's intercept is still mostly prior.
CALIBRATED_AFTER = 30
#: Log-odds a person's decision on a (segment, code) pair adds to its fused score (minus for a rejection):
#: the log of the likelihood ratio of one coder's code in the sample's double coding (``ana.csv`` and
#: ``luis.csv``, 239 segments both coded: one codes 86 % of the pairs the other coded and 0.3 % of the
#: others, a ratio of about 270). A rejection in review is a look at that very pair, taken as strong the
#: other way: a pair at 0.6 falls to 0.005 when rejected, one at 0.2 rises to 0.94 when accepted.
DECIDED = 5.6
# Scores are rounded to 4 decimals; log-odds are taken of scores clipped this far from 0 and 1.
_EPS = 1e-4


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(clipped / (1 - clipped))


def evidence_of(method: str, scores: np.ndarray, *, z0: float = 4.5, tau: float = 1.2,
                intercept: float = PRIOR["intercept"]) -> np.ndarray:
    """A member coder's scores → its evidence (see the module docstring); ``z0``, ``tau``: the embedding coder's;
    ``intercept``: the prior's in use (another coder's score, alone, stays as it is under either prior).

    Examples
    --------
    >>> evidence_of("keyword", np.array([0.5, 0.0])).round(2).tolist()
    [0.69, 0.0]
    """
    scores = np.asarray(scores, dtype=float)
    if method == "keyword":
        return -np.log1p(-np.clip(scores, 0.0, 1 - _EPS))
    if method == "embedding":
        return z0 + tau * _logit(scores)
    if method == "learned":
        return _logit(scores)
    return _logit(scores) - intercept


def _map_logistic(X: np.ndarray, y: np.ndarray, centre: np.ndarray, strength: float) -> np.ndarray:
    """Weights maximising the log-likelihood of ``y`` given ``X`` (intercept column first) minus a Gaussian
    penalty ``strength / 2 · ‖w − centre‖²``."""

    if np.isinf(strength):
        return np.asarray(centre, dtype=float).copy()

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = X @ w
        p = expit(z)
        diff = w - centre
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * strength * diff @ diff)
        return value, X.T @ (p - y) + strength * diff

    return np.asarray(minimize(loss, centre, jac=True, method="L-BFGS-B").x)


def _map_logistic_by_group(X: np.ndarray, y: np.ndarray, group: np.ndarray, n_groups: int, centre: np.ndarray,
                           strength: float, iterations: int = 50) -> np.ndarray:
    """:func:`_map_logistic` for every group of rows at once (one weight row per group), by damped Newton steps.

    The per-code fits are many small problems (a few parameters each); one vectorised Newton iteration over
    all codes costs about what one scipy call costs for one code, which keeps a refit after every decision
    (cross-validated) well under a second for a 60-code codebook. The Gaussian penalty keeps each Hessian
    positive definite; a step that does not lower a group's objective is halved.
    """
    d = X.shape[1]
    W = np.tile(np.asarray(centre, dtype=float), (n_groups, 1))
    if np.isinf(strength) or not len(y):
        return W
    pairs = [(k, m) for k in range(d) for m in range(k, d)]

    def objective(W: np.ndarray) -> np.ndarray:
        z = np.einsum("ij,ij->i", X, W[group])
        diff = W - centre
        return (np.bincount(group, weights=np.logaddexp(0.0, z) - y * z, minlength=n_groups)
                + 0.5 * strength * np.einsum("ij,ij->i", diff, diff))

    current = objective(W)
    for _ in range(iterations):
        p = expit(np.einsum("ij,ij->i", X, W[group]))
        grad = np.column_stack([np.bincount(group, weights=X[:, k] * (p - y), minlength=n_groups)
                                for k in range(d)]) + strength * (W - centre)
        hess = np.zeros((n_groups, d, d))
        v = p * (1 - p)
        for k, m in pairs:
            hess[:, k, m] = hess[:, m, k] = np.bincount(group, weights=X[:, k] * X[:, m] * v, minlength=n_groups)
        hess += strength * np.eye(d)
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        scale = np.ones(n_groups)
        for _ in range(20):
            trial = W - scale[:, None] * step
            value = objective(trial)
            worse = value > current + 1e-12
            if not worse.any():
                break
            scale[worse] /= 2
        W, current = np.where(worse[:, None], W, trial), np.where(worse, current, value)
        if np.abs(scale[:, None] * step).max() < 1e-7:
            break
    return W


class Fusion:
    """Per-code logistic stacking of the coders' evidence (see the module docstring).

    Parameters
    ----------
    z0, tau : float
        The embedding coder's calibration, to read its scores back as z-scores.
    embedding : bool
        Whether an embedding coder is among the members (it chooses the prior).

    Attributes
    ----------
    pooled_ : ndarray
        Intercept and one weight per kind of evidence, pooled over codes (the prior before ``fit``).
    weights_ : DataFrame
        Per code with decisions: ``intercept``, ``keyword``, ``embedding``, ``learned``, ``n_positive``,
        ``n_negative``.
    n_coded_ : int
        Coded segments the weights were fitted on (0 before ``fit``).
    strengths_ : tuple of float
        The pull (pooled, per code) the weights were fitted with (see :data:`STRENGTHS`).
    cv_loss_ : Series
        The held-out log-loss per decided pair of each candidate pull (empty when not cross-validated).
    decided_ : Series
        ``+1`` (coded) or ``-1`` (rejected) per decided (``segment_id``, ``code_id``), set by
        :meth:`decide`: the decision is added to those pairs' scores (:data:`DECIDED`).
    """

    def __init__(self, *, z0: float = 4.5, tau: float = 1.2, embedding: bool = True) -> None:
        self.z0 = z0
        self.tau = tau
        self.embedding = embedding
        prior = PRIOR if embedding else PRIOR_WITHOUT_EMBEDDING
        self.prior_ = np.array([prior["intercept"], *(prior[k] for k in EVIDENCE)])
        self.pooled_ = self.prior_.copy()
        self.weights_ = pd.DataFrame(columns=["intercept", *EVIDENCE, "n_positive", "n_negative"],
                                     index=pd.Index([], name="code_id"))
        self.n_coded_ = 0
        self.strengths_ = (PRIOR_STRENGTH, CODE_STRENGTH)
        self.cv_loss_ = pd.Series(dtype=float, name="log_loss")
        self.decided_ = pd.Series(dtype=float, index=pd.MultiIndex.from_arrays([[], []],
                                                                              names=["segment_id", "code_id"]))

    def decide(self, decisions: pd.DataFrame) -> Fusion:
        """Keep the people's decision on each decided pair, to add to its score (:data:`DECIDED`).

        Parameters
        ----------
        decisions : DataFrame
            ``segment_id``, ``code_id``, ``decision`` (current decisions, any coder): a pair is ``+1`` when
            anyone coded it (accepted or by hand), else ``-1`` when rejected.
        """
        if decisions is None or decisions.empty:
            return self
        sign = np.where(decisions["decision"].isin(CODED).to_numpy(), 1.0, -1.0)
        pairs = pd.Series(sign, index=pd.MultiIndex.from_arrays(
            [decisions["segment_id"].astype(str), decisions["code_id"].astype(str)],
            names=["segment_id", "code_id"]))
        # Coded by anyone wins over a rejection by someone else (as in the learned coder's training labels).
        self.decided_ = pairs.groupby(level=[0, 1], sort=False).max()
        return self

    def decided_sign(self, pairs: pd.DataFrame) -> np.ndarray:
        """Per row of ``pairs`` (``segment_id``, ``code_id``): ``+1`` coded, ``-1`` rejected, ``0`` undecided."""
        keys = pd.MultiIndex.from_arrays([pairs["segment_id"].astype(str), pairs["code_id"].astype(str)])
        at = self.decided_.index.get_indexer(keys)
        return np.where(at >= 0, self.decided_.to_numpy()[np.maximum(at, 0)], 0.0)

    @property
    def calibrated(self) -> bool:
        """Whether scores are calibrated on this project's decisions (:data:`CALIBRATED_AFTER`)."""
        return self.n_coded_ >= CALIBRATED_AFTER

    def fit(self, evidence: pd.DataFrame, labels: np.ndarray, groups: np.ndarray | None = None) -> Fusion:
        """Fit the pooled and per-code weights, with the pull toward the prior chosen by cross-validation.

        Parameters
        ----------
        evidence : DataFrame
            ``segment_id``, ``code_id`` and one column per kind of :data:`EVIDENCE` (missing ones are 0).
        labels : array of {0, 1}
            Whether the segment was coded with the code.
        groups : array, optional
            One key per row (the segment's document or participant) for the cross-validation of the pull
            (:data:`STRENGTHS`); without it, or with one group only, the documented pull is used.
        """
        y = np.asarray(labels, dtype=float)
        X = self._matrix(evidence)
        self.n_coded_ = int(evidence.loc[y > 0, "segment_id"].nunique()) if len(y) else 0
        self.strengths_ = (PRIOR_STRENGTH, CODE_STRENGTH)
        self.cv_loss_ = pd.Series(dtype=float, name="log_loss")
        if not len(y):
            return self
        codes = evidence["code_id"].to_numpy()
        keys = np.asarray(groups, dtype=object) if groups is not None else None
        if keys is not None and len(set(keys.tolist())) >= 2 and 0 < y.sum() < len(y):
            self.cv_loss_ = self._cross_validate(X, y, codes, keys)
            self.strengths_ = STRENGTHS[int(np.argmin(self.cv_loss_.to_numpy()))]
        self.pooled_, weights = self._fit(X, y, codes, *self.strengths_)
        rows = {code: [*w, int(y[codes == code].sum()), int((1 - y[codes == code]).sum())]
                for code, w in weights.items()}
        self.weights_ = pd.DataFrame.from_dict(rows, orient="index",
                                               columns=["intercept", *EVIDENCE, "n_positive", "n_negative"])
        self.weights_.index.name = "code_id"
        return self

    def _fit(self, X: np.ndarray, y: np.ndarray, codes: np.ndarray, pooled_strength: float,
             code_strength: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The pooled weights and, unless ``code_strength`` is infinite, each code's own."""
        pooled = _map_logistic(X, y, self.prior_, pooled_strength)
        if np.isinf(code_strength):
            return pooled, {}
        names, group = np.unique(codes.astype(str), return_inverse=True)
        W = _map_logistic_by_group(X, y, group, len(names), pooled, code_strength)
        return pooled, dict(zip(names.tolist(), W, strict=True))

    def _cross_validate(self, X: np.ndarray, y: np.ndarray, codes: np.ndarray, groups: np.ndarray) -> pd.Series:
        """Held-out log-loss of each pull in :data:`STRENGTHS`, folds grouped by ``groups``."""
        from sklearn.model_selection import GroupKFold

        folds = min(FUSION_FOLDS, len(set(groups.tolist())))
        loss = np.zeros(len(STRENGTHS))
        for train, test in GroupKFold(n_splits=folds).split(X, groups=groups):
            pooled_by: dict[float, np.ndarray] = {}
            for k, (pooled_strength, code_strength) in enumerate(STRENGTHS):
                if pooled_strength not in pooled_by:
                    pooled_by[pooled_strength] = _map_logistic(X[train], y[train], self.prior_, pooled_strength)
                W = np.tile(pooled_by[pooled_strength], (len(test), 1))
                if not np.isinf(code_strength):
                    # Codes without a training row keep the pooled weights.
                    names, group = np.unique(codes[train].astype(str), return_inverse=True)
                    own = _map_logistic_by_group(X[train], y[train], group, len(names), pooled_by[pooled_strength],
                                                 code_strength)
                    where = np.searchsorted(names, codes[test].astype(str))
                    known = (where < len(names)) & (names[np.minimum(where, len(names) - 1)] == codes[test].astype(str))
                    W[known] = own[where[known]]
                z = np.einsum("ij,ij->i", X[test], W)
                loss[k] += float(np.sum(np.logaddexp(0.0, z) - y[test] * z))
        return pd.Series(loss / len(y), index=[f"{p:g}/{c:g}" for p, c in STRENGTHS], name="log_loss")

    def _matrix(self, evidence: pd.DataFrame) -> np.ndarray:
        columns = [np.ones(len(evidence))]
        columns += [evidence[k].to_numpy(dtype=float) if k in evidence else np.zeros(len(evidence)) for k in EVIDENCE]
        return np.column_stack(columns)

    def predict(self, evidence: pd.DataFrame) -> np.ndarray:
        """The fused probability of every row of ``evidence`` (columns as for :meth:`fit`)."""
        X = self._matrix(evidence)
        W = np.tile(self.pooled_, (len(X), 1))
        if len(self.weights_):
            own = self.weights_[["intercept", *EVIDENCE]].reindex(evidence["code_id"].to_numpy()).to_numpy()
            known = ~np.isnan(own).any(axis=1)
            W[known] = own[known]
        z = np.einsum("ij,ij->i", X, W)
        if len(self.decided_) and len(evidence):
            z = z + DECIDED * self.decided_sign(evidence)
        return expit(z)
