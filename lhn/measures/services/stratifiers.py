"""A measure's stratifiers (equity strata: age band, sex, site type, deprivation quintile, language): their
definition as text or JSON, checked; pure, no database.

A stratifier is {"code", "label", "strata": [{"code", "label"}, ...]}. Its strata always end with UNKNOWN ("Not
recorded"), so they are exhaustive: every person counted in a site's total is in exactly one stratum, and a site's
breakdown adds up to its total. As text, one stratifier a line: `age_band: 0-11, 12-17, 18+`, or with a label
`age_band (Age band): 0-11, 12-17, 18+`.
"""

from __future__ import annotations

import re
from typing import Any

from lhn.errors import ValidationFailed
from lhn.markup import clean_text

UNKNOWN = "unknown"
UNKNOWN_LABEL = "Not recorded"
MAX_STRATIFIERS, MAX_STRATA, LABEL_MAX = 6, 12, 60
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STRATUM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+<>=/-]{0,39}$")
LINE = re.compile(r"^\s*([^:(]+?)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
FIELD = "stratifiers"


def parse_stratifiers(value: Any) -> list[dict[str, Any]]:
    """Stratifiers from text (one a line) or from a list of objects; each gets its UNKNOWN stratum.

    Raises ValidationFailed({"stratifiers": ...}) naming the first problem.
    """
    if value is None or value == "":
        return []
    if isinstance(value, str):
        items = [_from_line(number, line) for number, line in enumerate(value.splitlines(), 1) if line.strip()]
    elif isinstance(value, list):
        items = [_from_object(item) for item in value]
    else:
        raise _problem("Give the stratifiers as text, one a line, or as a list.")
    if len(items) > MAX_STRATIFIERS:
        raise _problem(f"Use at most {MAX_STRATIFIERS} stratifiers.")
    codes = [item["code"] for item in items]
    if len(set(codes)) != len(codes):
        raise _problem("Each stratifier needs its own code.")
    return items


def stratifiers_text(stratifiers: list[dict[str, Any]] | None) -> str:
    """The text form of stored stratifiers (UNKNOWN left out: it is always added)."""
    lines = []
    for item in stratifiers or []:
        label = "" if item["label"] == _label_of(item["code"]) else f" ({item['label']})"
        strata = ", ".join(s["code"] for s in item["strata"] if s["code"] != UNKNOWN)
        lines.append(f"{item['code']}{label}: {strata}")
    return "\n".join(lines)


def find_stratifier(stratifiers: list[dict[str, Any]] | None, code: str) -> dict[str, Any] | None:
    return next((item for item in stratifiers or [] if item["code"] == code), None)


def stratum_codes(stratifier: dict[str, Any]) -> list[str]:
    return [s["code"] for s in stratifier["strata"]]


def _problem(message: str) -> ValidationFailed:
    return ValidationFailed({FIELD: message})


def _label_of(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _from_line(number: int, line: str) -> dict[str, Any]:
    match = LINE.match(line)
    if not match:
        raise _problem(f"Line {number}: write code: stratum, stratum (e.g. age_band: 0-11, 12-17, 18+).")
    code, label, strata = match.group(1), match.group(2), match.group(3)
    return _checked(code, label, [s.strip() for s in strata.split(",") if s.strip()], where=f"Line {number}")


def _from_object(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("code"), str) or not isinstance(item.get("strata"), list):
        raise _problem('Each stratifier is {"code": ..., "label": ..., "strata": [...]}.')
    label = item.get("label")
    strata = [s.get("code") if isinstance(s, dict) else s for s in item["strata"]]
    labels = {
        s["code"]: s.get("label") for s in item["strata"] if isinstance(s, dict) and isinstance(s.get("code"), str)
    }
    if not all(isinstance(s, str) for s in strata):
        raise _problem('Each stratum is a code (text) or {"code": ..., "label": ...}.')
    codes = [s for s in strata if isinstance(s, str)]
    checked = _checked(item["code"], label if isinstance(label, str) else None, codes, where=str(item["code"]))
    for stratum in checked["strata"]:
        given = labels.get(stratum["code"])
        if isinstance(given, str) and given.strip() and stratum["code"] != UNKNOWN:
            stratum["label"] = clean_text(given).strip()[:LABEL_MAX]
    return checked


def _checked(code: str, label: str | None, strata: list[str], *, where: str) -> dict[str, Any]:
    code = code.strip()
    if not CODE.match(code):
        raise _problem(f"{where}: a stratifier's code is lower-case letters, digits and _ (e.g. age_band).")
    strata = [s.strip() for s in strata if s.strip() != UNKNOWN]
    if not 2 <= len(strata) <= MAX_STRATA:
        raise _problem(f"{where}: give 2 to {MAX_STRATA} strata (Not recorded is added).")
    if len(set(strata)) != len(strata):
        raise _problem(f"{where}: each stratum once.")
    for stratum in strata:
        if not STRATUM.match(stratum):
            raise _problem(
                f"{where}: “{stratum[:40]}” — a stratum is up to 40 letters, digits, spaces or . _ + < > = / -"
            )
    label = clean_text(label or "").strip() or _label_of(code)
    if len(label) > LABEL_MAX:
        raise _problem(f"{where}: a label is at most {LABEL_MAX} characters.")
    return {
        "code": code,
        "label": label,
        "strata": [{"code": s, "label": s} for s in strata] + [{"code": UNKNOWN, "label": UNKNOWN_LABEL}],
    }
