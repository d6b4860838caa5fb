"""Whether a person may fit a study: a pure function of what their research profile lets be used (facts) and the
study's structured eligibility (criteria). Each criterion a study sets must be met; a fact the person left out
meets no criterion that asks about it. Values compare without regard to case or surrounding spaces; a list
criterion (diagnoses, countries, sites, roles) is met by any one of its values; an age criterion by an age band
that overlaps the range (they *may* fit: the study's own screening decides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# (label, lowest age, highest age) of each band a person may choose.
AGE_BANDS: dict[str, tuple[int, int]] = {
    "0-5": (0, 5), "6-11": (6, 11), "12-17": (12, 17), "18-24": (18, 24), "25-34": (25, 34), "35-44": (35, 44),
    "45-54": (45, 54), "55-64": (55, 64), "65-74": (65, 74), "75+": (75, 130),
}  # fmt: skip
LIST_CRITERIA = {"diagnoses": "diagnosis", "countries": "country", "sites": "site", "roles": "role"}
CRITERIA = ("age", *LIST_CRITERIA, "pro_score")


@dataclass(frozen=True)
class Facts:
    """What matching may use of one person: their profile's fields, their role, and the latest total of each
    instrument they allowed."""

    age_band: str = ""
    diagnosis: str = ""
    country: str = ""
    site: str = ""
    role: str = ""
    scores: dict[int, float] = field(default_factory=dict)


def _norm(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _age_met(facts: Facts, low: int | None, high: int | None) -> bool:
    band = AGE_BANDS.get(facts.age_band)
    if band is None:
        return False
    return (low is None or band[1] >= low) and (high is None or band[0] <= high)


def _score_met(facts: Facts, instrument_id: int, low: float | None, high: float | None) -> bool:
    score = facts.scores.get(instrument_id)
    return score is not None and (low is None or score >= low) and (high is None or score <= high)


def unmet(facts: Facts, criteria: dict[str, Any]) -> list[str]:
    """The criteria (names from CRITERIA) the facts don't meet; empty: they may fit."""
    failed = []
    low, high = criteria.get("age_min"), criteria.get("age_max")
    if (low is not None or high is not None) and not _age_met(facts, low, high):
        failed.append("age")
    for name, fact in LIST_CRITERIA.items():
        wanted = {_norm(v) for v in criteria.get(name) or []}
        have = _norm(getattr(facts, fact))
        if wanted and (not have or have not in wanted):
            failed.append(name)
    instrument_id = criteria.get("instrument_id")
    if instrument_id is not None and not _score_met(facts, instrument_id, criteria.get("score_min"),
                                                    criteria.get("score_max")):  # fmt: skip
        failed.append("pro_score")
    return failed


def may_fit(facts: Facts, criteria: dict[str, Any]) -> bool:
    return not unmet(facts, criteria)
