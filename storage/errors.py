"""Storage failures. The core maps these to `database_unavailable`; messages name the file, never SQL."""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """The database could not be opened or written. `path` names the file for the operator."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class SchemaTooNewError(StorageError):
    """The file was migrated by a newer Relayboard; opening it here could corrupt it."""


class DatabaseLockedError(StorageError):
    """Another writer held the lock past busy_timeout."""


class DatabaseCorruptError(StorageError):
    """The file is not a SQLite database or fails its integrity check."""


class DatabaseMissingError(StorageError):
    """There is no database file where one is looked for."""


class DatabaseReadOnlyError(StorageError):
    """The file or its directory is not writable."""


class StorageConflictError(StorageError):
    """A constraint refused a write (another writer made the same change first)."""


class ImportRejectedError(StorageError):
    """An import file failed validation; nothing was written."""


class ExportFailedError(StorageError):
    """The export file could not be written where asked (no such directory, a directory, no space)."""
