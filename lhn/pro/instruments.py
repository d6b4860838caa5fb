"""The instruments LHN ships, as FHIR R5 Questionnaires: PHQ-9 and GAD-7 (free to use, no permission needed, as
their authors state; scoring as published: the sum of item scores, bands at 5, 10, 15 and 20 for PHQ-9 and 5, 10
and 15 for GAD-7), and a short IBD check-in written for the demo community, which is not a validated instrument.

Answer weights use the standard itemWeight extension; severity bands an LHN extension (BAND_URL) holding each
band's lowest and highest total and its label."""

from __future__ import annotations

from typing import Any

ITEM_WEIGHT = "http://hl7.org/fhir/StructureDefinition/itemWeight"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
BAND_URL = "urn:lhn:fhir:StructureDefinition/score-band"
SUBSCALE_URL = "urn:lhn:fhir:StructureDefinition/subscale"  # on an item: valueString, the subscale it counts in
ANSWER_SYSTEM = "urn:lhn:pro:answers"
TWO_WEEKS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]

PHQ9_ITEMS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety or "
    "restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
]
GAD7_ITEMS = [
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid, as if something awful might happen",
]
IBD_ITEMS: list[tuple[str, list[str]]] = [
    ("Tummy pain in the past week", ["None", "Mild", "Moderate", "Severe"]),
    ("Stools a day, compared with your usual", ["Same as usual", "1 or 2 more", "3 or 4 more", "5 or more more"]),
    ("Blood in your stools", ["None", "Streaks now and then", "Obvious, most times", "Mostly blood"]),
    ("How you felt in general", ["Well", "A bit below par", "Poorly", "Very poorly"]),
]


def questionnaire(code: str, title: str, preamble: str, items: list[tuple[str, list[str]]],
                  bands: list[tuple[int, int, str]], *, copyright_text: str = "") -> dict[str, Any]:  # fmt: skip
    """A Questionnaire whose items are single choices weighted 0, 1, 2, ... in the order given."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "url": f"urn:lhn:questionnaire:{code}",
        "name": code.replace("-", "").upper(),
        "title": title,
        "status": "active",
        "description": preamble,
        "extension": [
            {"url": BAND_URL, "extension": [{"url": "low", "valueInteger": low}, {"url": "high", "valueInteger": high},
                                            {"url": "label", "valueString": label}]}
            for low, high, label in bands
        ],
        "item": [
            {"linkId": str(number), "text": text, "type": "coding", "required": True,
             "answerOption": [
                 {"valueCoding": {"system": ANSWER_SYSTEM, "code": str(weight), "display": answer},
                  "extension": [{"url": ITEM_WEIGHT, "valueDecimal": weight}]}
                 for weight, answer in enumerate(answers)
             ]}
            for number, (text, answers) in enumerate(items, start=1)
        ],
    }  # fmt: skip
    if copyright_text:
        resource["copyright"] = copyright_text
    return resource


SHIPPED: dict[str, dict[str, Any]] = {
    "phq-9": questionnaire(
        "phq-9", "PHQ-9: depression in the last two weeks",
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
        [(text, TWO_WEEKS) for text in PHQ9_ITEMS],
        [(0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 19, "Moderately severe"), (20, 27, "Severe")],
        copyright_text="Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or distribute.",
    ),
    "gad-7": questionnaire(
        "gad-7", "GAD-7: anxiety in the last two weeks",
        "Over the last 2 weeks, how often have you been bothered by the following problems?",
        [(text, TWO_WEEKS) for text in GAD7_ITEMS],
        [(0, 4, "Minimal"), (5, 9, "Mild"), (10, 14, "Moderate"), (15, 21, "Severe")],
        copyright_text="Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, with an "
        "educational grant from Pfizer Inc. No permission required to reproduce, translate, display or distribute.",
    ),
    "ibd-check-in": questionnaire(
        "ibd-check-in", "IBD check-in: how this week went",
        "A short check-in written for the LHN demo. It is not a validated instrument: use it to try LHN out.",
        IBD_ITEMS, [(0, 2, "Quiet"), (3, 5, "Some symptoms"), (6, 8, "Troublesome"), (9, 12, "Bad week")],
    ),
}
# A positive answer to these items gets the crisis message, whatever the total (PHQ-9 item 9).
SAFETY_ITEMS = {"phq-9": {"9"}}
