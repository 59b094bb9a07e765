"""Peer tools' own code (tests/peers/<tool>/) is run by the tests in a separate environment, never collected."""

collect_ignore = ["qualcoder"]
