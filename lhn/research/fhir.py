"""A study's fields and their FHIR R5 form: a ResearchStudy whose recruitment.eligibility points to a contained
Group (membership definitional) holding the structured criteria as characteristics, and the free-text
eligibility as the Group's description. Built from the fields, read back from an imported resource (validated with
fhir.resources; then our own checks, naming the field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhir.resources.researchstudy import ResearchStudy
from pydantic import ValidationError

from lhn.errors import ValidationFailed
from lhn.research.models import StudyStatus

LHN = "https://lhn.health/fhir"
ETHICS = f"{LHN}/ethics-approval"
SITE = f"{LHN}/institution"
CRITERION = f"{LHN}/eligibility-criterion"
QUESTIONNAIRE = f"{LHN}/questionnaire"  # a community's questionnaire, by its code
STATE = "http://hl7.org/fhir/research-study-status"
AGE = {"system": "http://loinc.org", "code": "30525-0", "display": "Age"}
# Criterion code -> the field holding its values (any one of them meets it).
LIST_FIELDS = {"diagnoses": "diagnoses", "countries": "countries", "sites": "eligible_sites", "roles": "roles"}


@dataclass
class StudyFields:
    """What a researcher gives for a study (a form, JSON, or read from a ResearchStudy)."""

    title: str = ""
    condition: str = ""
    sites: list[str] = field(default_factory=list)  # institution slugs
    status: str = StudyStatus.RECRUITING.value
    target_number: int | None = None
    ethics_reference: str = ""
    age_min: int | None = None
    age_max: int | None = None
    diagnoses: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    eligible_sites: list[str] = field(default_factory=list)  # where a person is treated (institution slugs)
    roles: list[str] = field(default_factory=list)
    instrument_code: str = ""  # one of the community's questionnaires, with a score range
    score_min: float | None = None
    score_max: float | None = None
    eligibility_text: str = ""


def _age_range(low: int | None, high: int | None) -> dict[str, Any]:
    bound = {"unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}
    return ({"low": {"value": low, **bound}} if low is not None else {}) | (
        {"high": {"value": high, **bound}} if high is not None else {})


def _criterion(name: str, **value: Any) -> dict[str, Any]:
    return {"code": {"coding": [{"system": CRITERION, "code": name}]}, "exclude": False, **value}


def _characteristics(f: StudyFields) -> list[dict[str, Any]]:
    found = []
    if f.age_min is not None or f.age_max is not None:
        found.append({"code": {"coding": [AGE]}, "exclude": False, "valueRange": _age_range(f.age_min, f.age_max)})
    for name, attribute in LIST_FIELDS.items():
        values = getattr(f, attribute)
        if values:
            found.append(_criterion(name, valueCodeableConcept={
                "coding": [{"system": f"{CRITERION}/{name}", "code": v} for v in values]}))
    if f.instrument_code:
        score = ({"low": {"value": f.score_min}} if f.score_min is not None else {}) | (
            {"high": {"value": f.score_max}} if f.score_max is not None else {})
        criterion = _criterion("pro-score", valueRange=score)
        criterion["code"]["coding"].append({"system": QUESTIONNAIRE, "code": f.instrument_code})
        found.append(criterion)
    return found


def to_resource(f: StudyFields, *, study_id: int | None, site_names: dict[str, str]) -> dict[str, Any]:
    """The ResearchStudy of the fields (R5), validated."""
    group: dict[str, Any] = {"resourceType": "Group", "id": "eligibility", "type": "person",
                             "membership": "definitional", "characteristic": _characteristics(f)}  # fmt: skip
    if f.eligibility_text:
        group["description"] = f.eligibility_text
    resource: dict[str, Any] = {
        "resourceType": "ResearchStudy", "status": "active", "title": f.title,
        "condition": [{"text": f.condition}],
        "identifier": [{"type": {"text": "Ethics approval"}, "system": ETHICS, "value": f.ethics_reference}],
        "site": [{"identifier": {"system": SITE, "value": s}, "display": site_names.get(s, s)} for s in f.sites],
        "progressStatus": [{"state": {"coding": [{"system": STATE, "code": f.status}]}, "actual": True}],
        "recruitment": {"eligibility": {"reference": "#eligibility"}},
        "contained": [group],
    }  # fmt: skip
    if study_id is not None:
        resource["id"] = f"study-{study_id}"
    if f.target_number is not None:
        resource["recruitment"]["targetNumber"] = f.target_number
    ResearchStudy.model_validate(resource)
    return resource


def _codes(concept: dict[str, Any] | None) -> list[str]:
    return [c.get("code") or "" for c in (concept or {}).get("coding") or []]


def _criterion_name(characteristic: dict[str, Any]) -> str:
    for coding in (characteristic.get("code") or {}).get("coding") or []:
        if coding.get("system") == AGE["system"] and coding.get("code") == AGE["code"]:
            return "age"
        if coding.get("system") == CRITERION:
            return str(coding.get("code"))
    return ""


def _bound(range_: dict[str, Any], end: str) -> Any:
    return (range_.get(end) or {}).get("value")


def _read_group(resource: dict[str, Any], f: StudyFields) -> None:
    reference = ((resource.get("recruitment") or {}).get("eligibility") or {}).get("reference")
    groups = [c for c in resource.get("contained") or [] if c.get("resourceType") == "Group"
              and reference == f"#{c.get('id')}"]  # fmt: skip
    if not groups:
        return
    group = groups[0]
    f.eligibility_text = group.get("description") or ""
    for characteristic in group.get("characteristic") or []:
        name, range_ = _criterion_name(characteristic), characteristic.get("valueRange") or {}
        if characteristic.get("exclude"):
            raise ValidationFailed({"research_study": "Exclusion criteria aren't supported: state who may take part."})
        if name == "age":
            low, high = _bound(range_, "low"), _bound(range_, "high")
            f.age_min, f.age_max = (int(low) if low is not None else None), (int(high) if high is not None else None)
        elif name in LIST_FIELDS:
            setattr(f, LIST_FIELDS[name], _codes(characteristic.get("valueCodeableConcept")))
        elif name == "pro-score":
            f.instrument_code = next((c.get("code") or "" for c in characteristic["code"].get("coding") or []
                                      if c.get("system") == QUESTIONNAIRE), "")  # fmt: skip
            f.score_min, f.score_max = _bound(range_, "low"), _bound(range_, "high")
        else:
            raise ValidationFailed({"research_study": "An eligibility characteristic uses a code LHN doesn't know: "
                                    f"use age ({AGE['system']}|{AGE['code']}) or {CRITERION}."})  # fmt: skip


def from_resource(resource: Any) -> StudyFields:
    """The fields of an imported ResearchStudy (R5). Raises ValidationFailed (field `research_study`) naming what
    is wrong."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "ResearchStudy":
        raise ValidationFailed({"research_study": "Send a FHIR R5 ResearchStudy (resourceType ResearchStudy)."})
    try:
        ResearchStudy.model_validate(resource)
    except (ValidationError, ValueError, TypeError) as exc:
        problem = str(exc).splitlines()[1:2] or [str(exc)]
        raise ValidationFailed({"research_study": f"Not a valid FHIR R5 ResearchStudy: {problem[0][:300]}"}) from exc
    try:
        return _fields(resource)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ValidationFailed({"research_study": "The ResearchStudy could not be read."}) from exc


def _fields(resource: dict[str, Any]) -> StudyFields:
    f = StudyFields(title=resource.get("title") or "",
                    condition=next((c.get("text") or "" for c in resource.get("condition") or []), ""))  # fmt: skip
    f.ethics_reference = next((i.get("value") or "" for i in resource.get("identifier") or []
                               if i.get("system") == ETHICS), "")  # fmt: skip
    f.sites = [(s.get("identifier") or {}).get("value") or "" for s in resource.get("site") or []]
    states = [code for p in resource.get("progressStatus") or [] for code in _codes(p.get("state"))]
    f.status = states[-1] if states else StudyStatus.RECRUITING.value
    f.target_number = (resource.get("recruitment") or {}).get("targetNumber")
    _read_group(resource, f)
    return f
