"""PHI guard: finds likely personal identifiers in text before it is published.

Pure functions, no Flask. A finding is a prompt for the author to edit or confirm, never a block, so
the patterns favour precision: a health community talks about doses, lab values, dates of visits,
DOIs, PMIDs, trial ids and guideline codes all day, and a guard that cries wolf gets clicked through.
It looks for the HIPAA Safe Harbor identifiers that appear in prose: full names with an identifying cue,
street addresses and small areas (postcodes, ZIP codes), dates tied to a person (birth, admission,
discharge, death), phone and fax numbers, email addresses, record / plan / account / licence / device
numbers, and web links or IP addresses that point at a person. Dates count only with a cue tying them
to a person; numbers only with a cue naming what they are (or an NHS number whose check digit is valid).
Every pattern is bounded, so a scan stays linear in the text.
The scan and the guard are pure; record_confirmed, called once the confirmed text is stored, sends a signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

# Only the exception classes and the signal: this module stays free of Flask and of models (no app context needed).
from lhn import signals
from lhn.database import slow_work
from lhn.errors import ValidationFailed

if TYPE_CHECKING:
    from lhn.accounts.models import User

KIND_LABELS = {
    "name": "a person's full name",
    "email": "an email address",
    "phone": "a phone number",
    "date_of_birth": "a date of birth",
    "personal_date": "a date of admission, discharge or death",
    "record_number": "a record, plan, account, licence or device number",
    "street_address": "a street address",
    "postcode": "a postcode or ZIP code",
    "url": "a link or IP address that identifies someone",
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
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2009-03-14
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{4}}"  # 14 March 2009, 14th of March 2009
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # March 14, 2009
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b"  # March 14 (the year is the only part Safe Harbor keeps)
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\b"  # 14 March, 14th of March
    r"|\d{1,2}/\d{1,2}\b(?![/.]\d)"  # 14/03
    rf"|{_MONTHS}\.?,?\s+\d{{4}})"  # March 2009
)
# Words that may sit between a cue and its value: "DOB is", "born on the", "admitted on", "number:".
_GLUE = (
    r"(?:\s*(?:[:#(]|-|\bis\b|\bwas\b|\bwere\b|\bon\b|\bthe\b|\bof\b|\bin\b|\bat\b|\bno\b\.?|\bnumber\b|\bhere\b))*\s*"
)
_STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|terrace|close"
    r"|crescent|cres|gardens|gdns|parkway|pkwy|highway|hwy|square|sq|circle|cir|grove|mews|row|walk|hill"
    r"|trail|trl|alley|park|green)"
)
_US_STATES = (
    r"(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]|T[NX]|UT"
    r"|V[TA]|W[AVIY])"
)
_NAME = r"[A-Z](?:[a-z]+(?:[A-Z][a-z]+)?|'[A-Z][a-z]+)(?:-[A-Z]?[a-z]+)?"  # Okafor, O'Neill, MacLeod, Al-Sayed
# Words that are capitalised at the start of a clause but are not names ("I'm Not sure", "my son Also").
_NOT_NAME_WORDS = (
    "a an and also am are as at but by dr for from had has have he her his i in is it just my no not now of on or "
    "our she so still the their they this to too very was we were what when who will with yes you your mr mrs ms "
    "miss doctor nurse professor prof sir madam mum mom dad type stage grade day week month year diagnosed sure "
    "happy glad here there crohn crohns colitis ibd uc asthma diabetes feeling much better worse sister matron "
    # places and services people name all the time: hospitals, wards, streets, charities, days and months
    "great general royal infirmary hospital hospitals clinic clinics centre center university college children "
    "street road st saint ward wards unit team trust foundation medical health care charity group service "
    "north south east west new old upper lower county city pen pump app monday tuesday wednesday thursday friday "
    "saturday sunday morning afternoon evening night january february march april june july august september "
    "october november december christmas easter"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
# Social and personal-page hosts: a link there names a person's account.
_PERSONAL_HOSTS = (
    r"(?:facebook\.com|fb\.com|instagram\.com|twitter\.com|x\.com|tiktok\.com|linkedin\.com/in|youtube\.com/@"
    r"|threads\.net|snapchat\.com/add|reddit\.com/u(?:ser)?|pinterest\.com|tumblr\.com|medium\.com/@"
    r"|gofundme\.com/f|justgiving\.com|patreon\.com|mastodon\.social/@|bsky\.app/profile|wa\.me|t\.me"
    r"|vimeo\.com)"
)
_PERSONAL_SITES = r"(?:wordpress|blogspot|tumblr|substack|wixsite|weebly|squarespace|carrd|linktr)\.(?:com|co|ee)"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,5}\.[a-z]{2,}\b", re.I)),
    (
        "date_of_birth",
        re.compile(
            r"\b(?:d\.?o\.?b\b\.?(?:'s)?|date\s+of\s+birth|birth\s*date|birthday(?:'s)?|born|b\.(?=\s*\d))"
            rf"(?:\s+(?:on|in))?{_GLUE}{_DATE}",
            re.I,
        ),
    ),
    (
        "personal_date",
        re.compile(
            r"\b(?:admitted|admission(?:\s+date)?|discharged|discharge(?:\s+date)?|date\s+of\s+(?:death|admission"
            r"|discharge)|died|passed\s+away|passed|deceased|death|d\.o\.d\.?|dod)"
            rf"(?:\s+home)?(?:\s+(?:to|from)\s+(?:[A-Za-z']+\s+){{0,3}}?)?{_GLUE}{_DATE}",
            re.I,
        ),
    ),
    (
        "record_number",
        re.compile(
            r"\b(?:mrn|medical\s+record(?:\s+(?:number|no\.?|#))?|record\s+(?:number|no\.?|#)|hospital\s+"
            r"(?:number|no\.?|id)|patient\s+(?:id|number|no\.?)|chart\s+(?:number|no\.?|#)|nhs\s+(?:number|no\.?)"
            r"|chi\s+(?:number|no\.?)|ssn|social\s+security(?:\s+number)?"
            # Words that name an identifier by themselves ("member ID" or just "Medicare 1EG4-TE5-MK73") ...
            r"|(?:insurance|member|membership|subscriber|policy|medicaid|medicare|beneficiary|acct|health\s+card|hcn"
            r"|ohip|mbi|national\s+insurance|passport|driver'?s?\s+licen[cs]e|licen[cs]e|serial|pacemaker|npi|dea"
            r"|gmc|nmc|vin|iban|sort\s+code)(?:\s+(?:id|number|no\.?|num|#|code|serial(?:\s+number)?))?"
            # ... and everyday words that do only with "number", "ID" or "serial" after them ("the plan is 2024-25").
            r"|(?:plan|group|claim|account|case|reference|ref|card|device|implant|pump|sensor|transmitter|meter"
            r"|prescription|rx|tax|registration|plate|dl|ni)\s+(?:id|number|no\.?|num|#|code|serial(?:\s+number)?))"
            r"(?:\s+(?:on\s+(?:it|the\s+\w+)|for\s+(?:him|her|them|me|my\s+\w+)))?"
            rf"(?![a-z]){_GLUE}(?-i:(?=[A-Z0-9-]{{0,6}}[-/\s]?\d)([A-Z]{{0,6}}[-/\s]?\d[A-Z\d]{{0,14}}(?:[-/\s]?[A-Z\d]{{1,8}}){{0,4}}))",
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
            r"|0\d{3}-\d{3}-\d{4}"  # 0161-496-0000
            r"|07\d{3}\s?\d{6}"  # 07700 900123
            r"|07\d{9}"  # 07700900123
            r"|07\d{3}[\s-]\d{3}[\s-]\d{3}"  # 07700-900-321
            r")(?![\w.]?\d)"
        ),
    ),
    # With a cue ("call", "fax", "mobile"): any 7 to 15 digits, however they are grouped.
    (
        "phone",
        re.compile(
            r"\b(?:phone|telephone|tel|mobile|mob|cell|cellphone|fax|fax\s+number|landline|call|ring|text|txt|sms"
            r"|whats\s?app|signal|contact|reach|pager|bleep|extension|ext)\b\.?"
            r"(?:\s+(?:me|us|him|her|them|my\s+\w+|the\s+\w+|on|at|number|no\.?|is|was|:|-))*\s*[:#]?\s*"
            r"(\+?\(?\d[\d\s().-]{5,18}\d)(?![\w.]?\d)",
            re.I,
        ),
    ),
    (
        "street_address",
        re.compile(
            rf"\b\d{{1,5}}[a-z]?,?\s+(?:[A-Z][a-z]*(?:'s)?\.?\s+|\d{{1,3}}(?:st|nd|rd|th)\s+){{1,4}}{_STREET_SUFFIX}\b\.?"
            r"(?:,?\s+(?:apt|apartment|unit|suite|ste|flat|floor|fl)\.?\s*#?\s*\w{1,5})?",
            re.I,
        ),
    ),
    (
        "street_address",
        re.compile(
            r"\b(?:(?:apt|apartment|flat|unit|suite)\.?\s*#?\s*\d{1,4}[a-z]?,?\s+\d{1,5}[a-z]?\s+[A-Z][a-z]+"
            r"|p\.?\s?o\.?\s+box\s+\d{1,6}|postbox\s+\d{1,6})",
            re.I,
        ),
    ),
    ("postcode", re.compile(r"\b\d{5}-\d{4}\b")),  # ZIP+4 pinpoints a handful of addresses
    ("postcode", re.compile(r"\b(?:[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)\s?\d[ABD-HJLNP-UW-Z]{2}\b")),  # UK, e.g. LS1 3EX
    ("postcode", re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b")),  # Canada
    (
        "postcode",  # a city, a state and a ZIP: "Chicago IL 60612", "Austin, TX 78701"
        re.compile(rf"\b[A-Z][a-z]+(?:\s[A-Z][a-z]+)?,?\s+{_US_STATES},?\s+\d{{5}}\b"),
    ),
    (
        "postcode",  # a cued ZIP or postcode: "zip 60612", "post code 2000", "PLZ 10115"
        re.compile(
            r"\b(?:zip(?:\s*code)?|post\s*code|postal\s+code|plz|cap|code\s+postal)\b"
            r"(?:\s+(?:is|was|here|of|:))*\s*[:#]?\s*(\d{4,5}|[A-Z]{1,2}\d{1,2}[A-Z]?\s?\d[A-Z]{2})\b",
            re.I,
        ),
    ),
    (
        "postcode",  # where someone lives, as a ZIP: "we live in 90210"
        re.compile(r"\b(?:live|living|lives|based|moved|located)\s+(?:in|to|at)\s+(\d{5})\b(?![.,]\d)", re.I),
    ),
    (
        "url",
        re.compile(
            rf"(?<![\w.-])(?:https?://)?(?:www\.|m\.)?{_PERSONAL_HOSTS}/?[\w@.%~+-]{{2,}}[\w/@.%~?=&+-]{{0,100}}", re.I
        ),
    ),
    (
        "url",
        re.compile(rf"(?<![\w.-])(?:https?://)?[a-z0-9-]{{1,63}}\.{_PERSONAL_SITES}\b[\w/@.%~?=&+-]{{0,100}}", re.I),
    ),
    (
        "url",  # a link the author says is their own: "my blog is at https://…"
        re.compile(
            r"\b(?:my|our|his|her|their)\s+(?:own\s+|family\s+|personal\s+|little\s+)?(?:blog|site|website|web\s*site|page|homepage|profile"
            r"|channel|account|vlog|podcast|fundraiser|shop|handle)\b[^\n]{0,30}?"
            r"((?:https?://|www\.)[\w.-]{1,100}[\w/@.%~?=&+-]{0,100}|@\w{2,30}\b)",
            re.I,
        ),
    ),
    (
        "url",  # "find me on TikTok @handle"
        re.compile(
            r"(?i:\bon\s+(?:insta(?:gram)?|twitter|x|tiktok|ig|threads|fb|snapchat|youtube|bluesky))\s*:?\s*"
            r"(@[A-Za-z0-9_.]{3,30})"
        ),
    ),
    (
        "url",
        re.compile(
            r"(?<![\w.])@[A-Za-z0-9_]{3,30}\s+on\s+(?i:insta(?:gram)?|twitter|x|tiktok|ig|threads|fb|snapchat|youtube|bluesky)\b"
        ),
    ),
    ("ip", re.compile(r"(?<![\w.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\w.]?\d)")),
    (
        "url",
        re.compile(
            r"(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])|\b(?:[0-9a-f]{1,4}:){2,6}:[0-9a-f]{1,4}\b", re.I
        ),
    ),
]

# A full name (two or three capitalised words) after a cue that ties it to the writer or someone they care for.
_NAME_CUE = re.compile(
    r"(?i:\b(?:my\s+name\s+is|my\s+name's|(?:full\s+|patient\s+)?name\s*:|patient\s*:|full\s+name\s+is|i\s+am|i'm|this\s+is"
    r"|called|named|signed|regards,?|(?:thanks|love|cheers|best|regards)(?:\s+(?:all|everyone|for\s+\w+|x+))?,"
    r"|^\s*from|meet|it's"
    r"|(?:my|our)\s+(?:(?:little|baby|big|older|younger|eldest|oldest|youngest|middle|twin|late)\s+|step-?)?"
    r"(?:son|daughter|child|kid|boy|girl|baby|husband|wife|partner|mum|mom|mother|dad|father|eldest|youngest"
    r"|brother|sister|grandson|granddaughter|grandmother|grandfather|grandma|grandad|nan|niece|nephew|twin"
    r"|friend|fiance|fiancee|carer)(?:'s\s+name\s+is|\s+is\s+called|\s+is\s+named|\s+is|,)?"
    r"|(?:son|daughter|husband|wife|child|patient|mother|father|mum|mom|dad|parent|carer|caregiver|guardian)\s+of"
    r"|(?:mr|mrs|ms|miss|mx)\.?(?=\s+[A-Z][a-z]+\s+[A-Z])"
    r"|^\s*(?:hi|hiya|hello|hey)(?:\s+all|\s+everyone)?,?(?=\s+[A-Z][a-z]+\s+[A-Z][a-z]+\s+here\b)))\s+"
    r"(?:(?i:patient|dr\.?)\s+)?"
    rf"({_NAME}(?:\s+(?:{_NAME}|[A-Z]\.|(?:van|von|de|da|del|di|le|la|al|bin|ibn)))?\s+{_NAME})",
    re.M,
)

# NHS numbers (10 digits, often 3-3-4) carry a mod-11 check digit, so they can be found without a cue.
_NHS = re.compile(r"(?<![\d-])(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})(?![\d-])")


def _nhs_valid(digits: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9]) and len(set(digits)) > 1


def _street_is_plausible(match: re.Match[str]) -> bool:
    """'3 times a day' is not a street: the words before the suffix must be capitalised names."""
    text = match.group(0)
    head = re.split(rf"\s+{_STREET_SUFFIX}\b", text, maxsplit=1, flags=re.I)[0]
    words = head.replace(",", " ").split()[1:]
    return bool(words) and all(w[0].isupper() or w[0].isdigit() for w in words)


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


_IP_CUE = re.compile(r"\b(?:ip|ips|address|router|server|host|login|logged|connect(?:ed|ion)?|from|vpn|wifi)\b", re.I)
_NUMBERING_CUE = re.compile(
    r"\b(?:v|ver|version|release|firmware|build|stage|section|sect|step|chapter|rule|figure|fig|table|clause"
    r"|item|para|paragraph|appendix|protocol|level|grade)\.?\s*$",
    re.I,
)


def _ip_is_plausible(match: re.Match[str]) -> bool:
    """'section 3.1.4.2' and 'version 10.2.4.5' are not addresses: an IP needs a cue, or an octet of 32 or more
    and no numbering word in front of it."""
    before = match.string[max(0, match.start() - 30) : match.start()]
    if _IP_CUE.search(before):
        return True
    return not _NUMBERING_CUE.search(before) and max(int(o) for o in match.group(0).split(".")) >= 32


def _plausible(kind: str, match: re.Match[str]) -> bool:
    if kind == "ip":
        return _ip_is_plausible(match)
    if kind == "street_address" and match.group(0)[:1].isdigit():
        return _street_is_plausible(match)
    if kind == "phone" and match.groups():
        return 7 <= _digits(match.group(1)) <= 15 and "/" not in match.group(1)
    if kind == "record_number" and match.groups():
        return _digits(match.group(1)) >= 4
    return True


def _names(text: str) -> list[Finding]:
    found = []
    for match in _NAME_CUE.finditer(text):
        words = [w.strip(".").lower() for w in match.group(1).split()]
        if any(w in _NOT_NAMES for w in words):
            continue
        found.append(Finding("name", match.start(1), match.end(1)))
    return found


def scan(text: str) -> list[Finding]:
    """Likely identifiers in `text`, in order, without overlaps (the first, longest pattern wins)."""
    slow_work("the PHI scan")
    found: list[Finding] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            if _plausible(kind, match):  # a cued value: the value alone (redaction keeps "MRN", drops the number)
                span = match.span(1) if match.groups() else match.span()
                found.append(Finding("url" if kind == "ip" else kind, *span))
    for match in _NHS.finditer(text):
        if _nhs_valid("".join(match.groups())):
            found.append(Finding("record_number", match.start(), match.end()))
    found += _names(text)
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
        found = f"This may contain {describe(findings)}."
        # Pages show `found` on the field and the prompt (_macros/phi.html) says what to do; the API's message
        # says it for API clients.
        super().__init__({field: found}, f"{found} Edit it out, or send {CONFIRM_FIELD}: true to share it as written.")

    @property
    def kinds(self) -> list[str]:
        return kinds(self.findings)


def check(text: str, confirmed: bool, *, field: str = "body") -> list[Finding]:
    """Scan `text` before it is published. Returns the findings (empty: nothing found; non-empty and
    `confirmed`: the author chose to publish, and the caller passes them to record_confirmed once the new
    object has its id). Raises PHIConfirmationRequired when there are findings and the
    author hasn't confirmed. Pure."""
    findings = scan(text)
    if findings and not confirmed:
        raise PHIConfirmationRequired(findings, field)
    return findings


def check_texts(texts: dict[str, str], confirmed: bool, *, previous: str = "") -> list[Finding]:
    """The guard over several fields of one thing a person writes ({field: text}, in form order). Findings whose
    exact text was already in `previous` (the version the author confirmed or published before) don't ask again.
    Returns the findings (for record_confirmed once the thing has an id); raises
    PHIConfirmationRequired, on the first field with a finding, when there are some and `confirmed` is false. Pure:
    callers run it inside lhn.database.reading(), before the write transaction."""
    findings: list[Finding] = []
    first = ""
    for name, text in texts.items():
        found = [f for f in scan(text or "") if not previous or text[f.start : f.end] not in previous]
        if found and not first:
            first = name
        findings += found
    if findings and not confirmed:
        raise PHIConfirmationRequired(findings, first)
    return findings


def record_confirmed(
    findings: list[Finding], *, by: User, target_type: str, target_id: int, community_id: int | None = None
) -> None:
    """After the author confirmed and the text was stored (so it has an id): signals.phi_confirmed, for
    moderation to record who, what kinds and where (never the text). Nothing when there were no findings."""
    if findings:
        signals.phi_confirmed.send(
            by, kinds=kinds(findings), target_type=target_type, target_id=target_id, community_id=community_id
        )
