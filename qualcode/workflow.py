"""The orchestration layer: every step that needs a :class:`~qualcode.project.Project` across stages.

The core packages (``io``, ``corpus``, ``codebook``, ``coders``, ``analysis``, ``export``) take and return
tables and never see a Project; this module reads what they need from the project, calls them, and stores what
they return. ``batch.py`` strings these steps into a round; the CLI and notebooks call them directly.
"""

from __future__ import annotations

# -- suggestions (coders ↔ project) ------------------------------------------------------------------------------

# -- reports and exchange (export ↔ project) ----------------------------------------------------------------------
