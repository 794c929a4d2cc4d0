"""What the tests' ingestions share: the ingest clock and how a test pseudonym key is made."""

from __future__ import annotations

from datetime import datetime

from data_contracts.pseudonymise import PseudonymKey

NOW = datetime(2026, 11, 1, 12, 0, 0)  # the ingest time, after every record's event and known_on date


def pseudonym_key(label: str, fill: str) -> PseudonymKey:
    """A test key: ``{label}-key-`` then 40 times ``fill``; tests that share a label and fill share pseudonyms."""
    return PseudonymKey(f"{label}-key-".encode() + fill.encode() * 40, "test")
