"""Relayboard storage: one aiosqlite database per operator home, migrations and repositories."""
