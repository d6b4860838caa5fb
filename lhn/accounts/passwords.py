"""Password hashing: argon2id, with verification (and upgrade) of legacy Werkzeug hashes."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from werkzeug.security import check_password_hash


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if stored_hash.startswith("$argon2"):
        try:
            return _hasher().verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    # Legacy hashes from before argon2 (werkzeug's pbkdf2/scrypt); upgraded on the next login.
    if stored_hash.startswith(("pbkdf2:", "scrypt:")):
        return check_password_hash(stored_hash, password)
    return False


def needs_rehash(stored_hash: str) -> bool:
    return not stored_hash.startswith("$argon2id$") or _hasher().check_needs_rehash(stored_hash)


def burn_time(password: str) -> None:
    """Verify against a throwaway hash so an unknown login costs as much as a wrong password."""
    verify_password(_dummy_hash(), password)


_DUMMY: dict[tuple[int, int, int], str] = {}


def _dummy_hash() -> str:
    config = current_app.config
    key = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("not-a-real-password-for-timing-only")
    return _DUMMY[key]
