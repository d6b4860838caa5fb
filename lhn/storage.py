"""Where uploaded files live: a small interface (put, get, delete by key) so that a deployment can swap the default
folder in instance/ for object storage without touching a feature. Keys are made here (random, unguessable, never
from a file's name); the bytes are stored as given, checked before (lhn/files.py)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Protocol

from flask import current_app

from lhn.errors import NotFound


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return its new key."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`. Raises NotFound."""
        ...

    def delete(self, key: str) -> None:
        """Forget `key` (nothing happens if it is gone already)."""
        ...


class FolderStorage:
    """Files in one folder, named by their keys (32 hex characters; anything else is never opened)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
            raise NotFound("No such file.")
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = secrets.token_hex(16)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")  # written whole, then renamed: a reader never sees half a file
        partial.write_bytes(data)
        partial.replace(path)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("No such file.") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> Storage:
    """The app's storage: FolderStorage in ATTACHMENTS_DIR (default instance/attachments)."""
    folder = current_app.config.get("ATTACHMENTS_DIR") or Path(current_app.instance_path) / "attachments"
    return FolderStorage(Path(folder))
