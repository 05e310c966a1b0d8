"""Numeric bounds shared by the command line and the store, in a module light enough for the
CLI to import at start-up. Owns the constants only."""

MAX_STORED_ID = 2**63 - 1
"""The largest integer an id column holds (SQLite INTEGER, PostgreSQL BIGINT)."""
