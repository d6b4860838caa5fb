"""Field rules shared by registration, profile edits, verification and the CLI: usernames, e-mail addresses,
display names, passwords, roles and institutions, each checked into an errors dict."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib import resources

from email_validator import EmailNotValidError, validate_email

from lhn.accounts.models import Institution, Role
from lhn.accounts.services.institutions import find_institution
from lhn.markup import clean_text

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_]{2,29}$")
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "moderator", "system", "support", "lhn", "root", "api", "me", "former_member"}
)
PASSWORD_MIN, PASSWORD_MAX = 8, 256
DISPLAY_NAME_MAX = 60
BIO_MAX = 2000
# Bidi overrides and zero-width characters can disguise a name; they are removed from display names.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
REAL_NAME_WARNING = (
    "This looks like a full real name. Pseudonyms are welcome here; everyone in your communities "
    "will see this name. Tick the box to keep it anyway."
)


# --- field rules (shared by registration, profile edits and the CLI) --------------------------------


def normalize_username(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().lower()


def normalize_email(value: str) -> str:
    return value.strip().lower()


def clean_display_name(value: str) -> str:
    value = unicodedata.normalize("NFKC", clean_text(value))
    return " ".join(_INVISIBLE.sub("", value).split())


def looks_like_real_name(display_name: str) -> bool:
    """Two to four capitalised alphabetic words ("Jane Smith", "María José García")."""
    words = display_name.split()
    if not 2 <= len(words) <= 4:
        return False
    for word in words:
        letters = word.replace("-", "").replace("'", "").replace(".", "")
        if len(letters) < 2 or not letters.isalpha() or not word[0].isupper() or not word[1:].islower():
            return False
    return True


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("lhn.accounts").joinpath("common_passwords.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in _common_passwords():
        return "This password is too common; choose one that is harder to guess."
    if (username and lowered == username.lower()) or (email and lowered == email.lower()):
        return "Your password can't be your username or email."
    return None


def check_email(value: str, errors: dict[str, str], field: str = "email") -> str:
    email = normalize_email(value)
    if not email:
        errors[field] = "Enter an email address."
        return email
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors[field] = str(exc)
    return email


def check_display_name(value: str, errors: dict[str, str], *, confirm_real_name: bool) -> str:
    name = clean_display_name(value)
    if not name:
        errors["display_name"] = "Choose a display name (a pseudonym is fine)."
    elif len(name) > DISPLAY_NAME_MAX:
        errors["display_name"] = f"Use at most {DISPLAY_NAME_MAX} characters."
    elif looks_like_real_name(name) and not confirm_real_name:
        errors["display_name"] = REAL_NAME_WARNING
    return name


def check_role(value: str | Role, errors: dict[str, str]) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        errors["role"] = "Choose one of: " + ", ".join(r.value for r in Role) + "."
        return None


def check_institution(slug: str | None, errors: dict[str, str]) -> Institution | None:
    if not slug:
        return None
    institution = find_institution(slug)
    if institution is None:
        errors["institution"] = "Choose an institution from the list, or leave it empty."
    return institution
