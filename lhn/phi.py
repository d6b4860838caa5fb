"""PHI guard: finds likely personal identifiers in text before it is published.

Pure functions, no Flask. A finding is a prompt for the author to edit or confirm, never a block, so
the patterns favour precision: a health community talks about doses, lab values, dates of visits,
DOIs and PMIDs all day, and a guard that cries wolf gets clicked through. Dates count only with a
birth cue; record numbers only with a record cue (or an NHS number whose check digit is valid).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Only the exception classes: this module stays free of Flask and of models (no app context needed).
from lhn.database import slow_work
from lhn.errors import ValidationFailed

KIND_LABELS = {
    "email": "an email address",
    "phone": "a phone number",
    "date_of_birth": "a date of birth",
    "record_number": "a medical record or ID number",
    "street_address": "a street address",
    "postcode": "a postcode or ZIP+4 code",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})"  # 14/03/2009, 3-14-09
    r"|\d{4}-\d{2}-\d{2}"  # 2009-03-14
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+\d{{4}}"  # 14 March 2009
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"  # March 14, 2009
)
_STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|lane|ln|drive|boulevard|blvd|court|ct|way|place|pl|terrace|close"
    r"|crescent|gardens|parkway|pkwy|highway|hwy|square|sq)"
)

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.I)),
    (
        "date_of_birth",
        re.compile(
            rf"\b(?:d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?|b\.)\s*[:(]?\s*{_DATE}",
            re.I,
        ),
    ),
    (
        "record_number",
        re.compile(
            r"\b(?:mrn|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s+(?:number|no\.?|#)|hospital\s+"
            r"(?:number|no\.?|id)|patient\s+(?:id|number|no\.?)|chart\s+(?:number|no\.?|#)|nhs\s+(?:number|no\.?)"
            r"|chi\s+number|ssn|social\s+security(?:\s+number)?)\s*(?:is|was)?\s*[:#]?\s*[A-Z]{0,3}[-\s]?\d[\d\s-]{4,14}\d",
            re.I,
        ),
    ),
    # US social security numbers outside the ranges never issued (000, 666, 9xx; group 00; serial 0000).
    ("record_number", re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")),
    (
        "phone",
        re.compile(
            r"(?<![\w.])(?:"
            r"\+\d{1,3}[\s.-]?\(?\d{1,4}\)?(?:[\s.-]?\d{2,4}){2,4}"  # +44 20 7946 0958, +1 (513) 555-0134
            r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}"  # (513) 555-0134
            r"|\d{3}[.-]\d{3}[.-]\d{4}"  # 513-555-0134, 513.555.0134
            r"|0\d{2,4}\s\d{3,4}\s?\d{3,4}"  # 020 7946 0958, 0113 496 0000
            r"|07\d{3}\s?\d{6}"  # 07700 900123
            r")(?![\w.]?\d)"
        ),
    ),
    (
        "street_address",
        re.compile(rf"\b\d{{1,5}}[a-z]?\s+(?:[A-Z][a-z]+\.?\s+){{1,3}}{_STREET_SUFFIX}\b\.?", re.I),
    ),
    ("postcode", re.compile(r"\b\d{5}-\d{4}\b")),  # ZIP+4 pinpoints a handful of addresses
    ("postcode", re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s\d[ABD-HJLNP-UW-Z]{2}\b")),  # UK, e.g. LS1 3EX
]

# NHS numbers (10 digits, often 3-3-4) carry a mod-11 check digit, so they can be found without a cue.
_NHS = re.compile(r"(?<![\d-])(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?![\d-])")


def _nhs_valid(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9]) and len(set(digits)) > 1


def _street_is_plausible(match: re.Match[str]) -> bool:
    """'3 times a day' is not a street: the words before the suffix must be capitalised names."""
    words = match.group(0).split()[1:-1]
    return bool(words) and all(w[0].isupper() for w in words)


def scan(text: str) -> list[Finding]:
    """Likely identifiers in `text`, in order, without overlaps (the first, longest pattern wins)."""
    slow_work("the PHI scan")
    found: list[Finding] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if kind == "street_address" and not _street_is_plausible(match):
                continue
            found.append(Finding(kind, match.start(), match.end()))
    for match in _NHS.finditer(text):
        if _nhs_valid("".join(match.groups())):
            found.append(Finding("record_number", match.start(), match.end()))
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    result: list[Finding] = []
    for finding in found:
        if result and finding.start < result[-1].end:
            continue
        result.append(finding)
    return result


def describe(findings: list[Finding]) -> str:
    """'an email address and a date of birth', for the confirmation prompt."""
    labels = list(dict.fromkeys(f.label for f in findings))
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]


def kinds(findings: list[Finding]) -> list[str]:
    return sorted({f.kind for f in findings})


# --- the guard services call before publishing ------------------------------------------------------------

CONFIRM_FIELD = "confirm_phi"


class PHIConfirmationRequired(ValidationFailed):
    """The text may contain identifiers and the author has not confirmed. Carries the findings; the API
    answers 422 with code `phi_confirmation_required` and the message on the text's field."""

    code = "phi_confirmation_required"

    def __init__(self, findings: list[Finding], field: str = "body") -> None:
        self.findings = findings
        message = (
            f"This may contain {describe(findings)}. Please edit it out, or confirm that you want to share it "
            f"(tick the box, or send {CONFIRM_FIELD}: true)."
        )
        super().__init__({field: message}, message)

    @property
    def kinds(self) -> list[str]:
        return kinds(self.findings)


def check(text: str, confirmed: bool, *, field: str = "body") -> list[Finding]:
    """Scan `text` before it is published. Returns the findings (empty: nothing found; non-empty and
    `confirmed`: the author chose to publish, and the caller sends signals.phi_confirmed with kinds(findings)
    after it has the new object's id). Raises PHIConfirmationRequired when there are findings and the
    author hasn't confirmed. Pure."""
    findings = scan(text)
    if findings and not confirmed:
        raise PHIConfirmationRequired(findings, field)
    return findings
