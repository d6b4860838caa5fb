"""Reading an instrument from its FHIR R5 Questionnaire and scoring answers to it. Pure: no database.

An instrument is a list of single-choice items, each option weighted by the standard itemWeight extension (or
ordinalValue, its older name); the total is the sum of the chosen options' weights, and its severity band is the
one whose range holds the total (lhn/pro/instruments.py BAND_URL). A completed set of answers becomes a FHIR R5
QuestionnaireResponse, checked with fhir.resources like every resource LHN emits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fhir.resources.questionnaire import Questionnaire
from fhir.resources.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError as FhirInvalid

from lhn.errors import ValidationFailed
from lhn.markup import clean_text
from lhn.pro.instruments import BAND_URL, ITEM_WEIGHT, ORDINAL_VALUE, SUBSCALE_URL

MAX_ITEMS, MAX_OPTIONS, MAX_JSON, TEXT_MAX = 100, 20, 200_000, 2000
TEXT_TYPES = ("string", "text")


@dataclass(frozen=True)
class Option:
    code: str
    display: str
    system: str
    weight: float


@dataclass(frozen=True)
class Item:
    link_id: str
    text: str
    options: tuple[Option, ...]  # none for a free-text item
    subscale: str = ""
    required: bool = True

    @property
    def free_text(self) -> bool:
        return not self.options


@dataclass(frozen=True)
class Spec:
    url: str
    title: str
    description: str
    items: tuple[Item, ...]
    bands: tuple[tuple[float, float, str], ...]

    @property
    def lowest(self) -> float:
        return sum(min(o.weight for o in item.options) for item in self.items if not item.free_text)

    @property
    def highest(self) -> float:
        return sum(max(o.weight for o in item.options) for item in self.items if not item.free_text)

    @property
    def subscales(self) -> list[str]:
        return list(dict.fromkeys(item.subscale for item in self.items if item.subscale))


@dataclass(frozen=True)
class Score:
    total: float
    band: str  # "" when the instrument defines no bands
    subscales: dict[str, float] | None = None


def _weight(option: dict[str, Any]) -> float | None:
    for extension in option.get("extension") or []:
        if extension.get("url") in (ITEM_WEIGHT, ORDINAL_VALUE):
            value = extension.get("valueDecimal", extension.get("valueInteger"))
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def _bands(resource: dict[str, Any]) -> list[tuple[float, float, str]]:
    bands = []
    for extension in resource.get("extension") or []:
        if extension.get("url") != BAND_URL:
            continue
        parts: dict[str, Any] = {e.get("url"): next((v for k, v in e.items() if k.startswith("value")), None)
                                 for e in extension.get("extension") or []}  # fmt: skip
        low, high, label = parts.get("low"), parts.get("high"), parts.get("label")
        if not (isinstance(low, int | float) and isinstance(high, int | float) and isinstance(label, str)
                and low <= high):  # fmt: skip
            raise ValidationFailed({"questionnaire": "A severity band needs a low and a high total and a label."})
        bands.append((float(low), float(high), label[:60]))
    return sorted(bands)


def read_questionnaire(resource: dict[str, Any], *, validated: bool = False) -> Spec:
    """The instrument a Questionnaire describes. `validated`: it passed fhir.resources when it was offered (a stored
    one), so the 2.5 ms of pydantic validation isn't paid again on every page. Raises
    ValidationFailed({"questionnaire": why})."""
    def refuse(why: str) -> ValidationFailed:
        return ValidationFailed({"questionnaire": why})

    if not isinstance(resource, dict) or resource.get("resourceType") != "Questionnaire":
        raise refuse("Send a FHIR R5 Questionnaire (resourceType Questionnaire).")
    try:
        if not validated:
            Questionnaire.model_validate(resource)
    except (FhirInvalid, TypeError, ValueError, RecursionError) as exc:  # also what fhir.resources can't take
        if not isinstance(exc, FhirInvalid):
            raise refuse(f"Not a valid FHIR R5 Questionnaire: {exc}"[:300]) from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise refuse(f"Not a valid FHIR R5 Questionnaire: {where or 'the resource'}: {first.get('msg', '')}.") from None
    raw_items = resource.get("item") or []
    if not isinstance(raw_items, list) or not raw_items or len(raw_items) > MAX_ITEMS:
        raise refuse(f"An instrument has from 1 to {MAX_ITEMS} items.")
    items, seen = [], set()
    for raw in raw_items:
        link_id, text = str(raw.get("linkId", "")), str(raw.get("text", "")).strip()
        if raw.get("type") not in ("coding", "choice", *TEXT_TYPES) or raw.get("item"):
            raise refuse(f"Item {link_id}: LHN scores single-choice items (type coding) and keeps free text (type "
                         "string or text), not nested groups.")  # fmt: skip
        if link_id in seen or not text:
            raise refuse(f"Item {link_id}: each item needs its own linkId and a text.")
        seen.add(link_id)
        subscale = next((str(e.get("valueString", ""))[:60] for e in raw.get("extension") or []
                         if e.get("url") == SUBSCALE_URL), "")  # fmt: skip
        if raw.get("type") in TEXT_TYPES:
            items.append(Item(link_id, text, (), "", raw.get("required") is True))
            continue
        options = []
        for option in raw.get("answerOption") or []:
            coding, weight = option.get("valueCoding") or {}, _weight(option)
            if weight is None or not coding.get("code"):
                raise refuse(f"Item {link_id}: every answer needs a code and a weight (the itemWeight extension).")
            options.append(Option(str(coding["code"]), str(coding.get("display") or coding["code"]),
                                  str(coding.get("system", "")), weight))  # fmt: skip
        if not 2 <= len(options) <= MAX_OPTIONS or len({o.code for o in options}) != len(options):
            raise refuse(f"Item {link_id}: from 2 to {MAX_OPTIONS} answers, each with its own code.")
        items.append(Item(link_id, text, tuple(options), subscale))
    if all(item.free_text for item in items):
        raise refuse("An instrument needs at least one scored (single-choice) item.")
    title = str(resource.get("title") or resource.get("name") or "").strip()
    if not title:
        raise refuse("The Questionnaire needs a title.")
    return Spec(str(resource.get("url", "")), title[:200], str(resource.get("description", ""))[:2000], tuple(items),
                tuple(_bands(resource)))  # fmt: skip


def parse_questionnaire(text: str) -> tuple[dict[str, Any], Spec]:
    """A Questionnaire sent as JSON text: the resource and its instrument. Raises ValidationFailed."""
    if len(text or "") > MAX_JSON:
        raise ValidationFailed({"questionnaire": f"Up to {MAX_JSON:,} characters."})
    try:
        resource = json.loads(text or "")
    except (ValueError, RecursionError):
        raise ValidationFailed({"questionnaire": "This is not JSON: paste the Questionnaire resource."}) from None
    return resource, read_questionnaire(resource)


def check_answers(spec: Spec, answers: dict[str, str], *, complete: bool) -> dict[str, str]:
    """The answers kept (known items, known codes); when `complete`, every item must be answered.
    Raises ValidationFailed naming each item (`item-<linkId>`)."""
    kept, errors = {}, {}
    for item in spec.items:
        code = answers.get(item.link_id) or ""
        if item.free_text:
            text = clean_text(code).strip()
            if len(text) > TEXT_MAX:
                errors[f"item-{item.link_id}"] = f"Up to {TEXT_MAX:,} characters."
            elif text:
                kept[item.link_id] = text
            elif complete and item.required:
                errors[f"item-{item.link_id}"] = "Answer this question to finish (or save and come back later)."
            continue
        if code and code not in {o.code for o in item.options}:
            errors[f"item-{item.link_id}"] = "Choose one of the answers."
        elif code:
            kept[item.link_id] = code
        elif complete:
            errors[f"item-{item.link_id}"] = "Answer this question to finish (or save and come back later)."
    if errors:
        raise ValidationFailed(errors)
    return kept


def score(spec: Spec, answers: dict[str, str]) -> Score:
    """The total of a complete set of answers and its band."""
    total, subscales = 0.0, dict.fromkeys(spec.subscales, 0.0)
    for item in spec.items:
        if item.free_text:
            continue
        weight = next(o.weight for o in item.options if o.code == answers[item.link_id])
        total += weight
        if item.subscale:
            subscales[item.subscale] += weight
    return Score(total, band_of(spec, total), subscales or None)


def band_of(spec: Spec, total: float) -> str:
    """The band holding `total`: from a band's low up to the next band's low (decimal weights can fall between
    whole-number ranges), the last one up to its high."""
    for index, (low, high, label) in enumerate(spec.bands):
        following = spec.bands[index + 1][0] if index + 1 < len(spec.bands) else None
        if low <= total and (total < following if following is not None else total <= high):
            return label
    return ""


def response_resource(spec: Spec, answers: dict[str, str], *, authored: str, response_id: int | None = None
                      ) -> dict[str, Any]:  # fmt: skip
    """A completed QuestionnaireResponse (FHIR R5), validated. No identifier of the person: it is theirs."""
    items = []
    for item in spec.items:
        if item.free_text:
            if answers.get(item.link_id):
                items.append({"linkId": item.link_id, "text": item.text,
                              "answer": [{"valueString": answers[item.link_id]}]})  # fmt: skip
            continue
        option = next(o for o in item.options if o.code == answers[item.link_id])
        coding = {"code": option.code, "display": option.display} | ({"system": option.system} if option.system else {})
        items.append({"linkId": item.link_id, "text": item.text, "answer": [{"valueCoding": coding}]})
    resource: dict[str, Any] = {"resourceType": "QuestionnaireResponse", "status": "completed",
                                "questionnaire": spec.url or "urn:lhn:questionnaire", "authored": authored,
                                "item": items}  # fmt: skip
    if response_id is not None:
        resource["id"] = f"pro-{response_id}"
    QuestionnaireResponse.model_validate(resource)
    return resource


def read_response(spec: Spec, resource: dict[str, Any]) -> dict[str, str]:
    """The answers in a QuestionnaireResponse to this instrument (its round trip). Raises ValidationFailed."""
    try:
        QuestionnaireResponse.model_validate(resource)
    except FhirInvalid:
        raise ValidationFailed({"response": "Not a valid FHIR R5 QuestionnaireResponse."}) from None
    answers = {}
    for item in resource.get("item") or []:
        given = (item.get("answer") or [{}])[0]
        if given.get("valueString"):
            answers[str(item.get("linkId"))] = str(given["valueString"])
        elif (given.get("valueCoding") or {}).get("code"):
            answers[str(item.get("linkId"))] = str(given["valueCoding"]["code"])
    return check_answers(spec, answers, complete=True)
