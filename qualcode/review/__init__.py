"""Human decisions: accept, reject, code by hand, review in a notebook widget or in Excel, re-anchor.

The package spans two layers and so re-exports nothing (importing one of its modules must not import the others):

- ``log`` (the append-only decision log, :class:`~qualcode.review.log.DecisionLog`) and ``anchor`` (re-anchoring
  after a corrected transcript) sit below :class:`~qualcode.project.Project`, which owns a log;
- ``decisions`` (accept, reject, add_manual, the current view, coded quotes), ``table`` (the review table),
  ``sheet`` (the Excel round-trip) and ``widget`` (the notebook review) sit above it and take a Project.

The notebook names are at the top level: ``qc.accept``, ``qc.apply_review``, ``qc.review_widget`` ….
"""
