"""Patient-reported outcome rules, used as one: `from lhn.pro import services as pro`. instruments (what a
community offers: shipped or imported FHIR Questionnaires), responses (answering, drafts, scoring, a person's
own history and FHIR Bundle), consent (what a person's data may serve, per purpose and community, and their own
record of it), aggregates (co-owned measures computed from the answers of people who consent)."""

from lhn import periodic, reminders
from lhn.pro.services.aggregates import MeasureRequest, define_measure, measures_defined, measures_of, publish_due
from lhn.pro.services.consent import consenting, consents_of, my_record, record_use, set_consents
from lhn.pro.services.instruments import (
    get_instrument,
    import_questionnaire,
    list_instruments,
    may_offer,
    offer_shipped,
    spec_of,
)
from lhn.pro.services.responses import (
    MyInstrument,
    draft_of,
    history,
    may_respond,
    my_bundle,
    my_instruments,
    needs_safety_message,
    responds_in,
    save_answers,
    send_due_reminders,
)

reminders.register("questionnaires-due", send_due_reminders)
periodic.register("questionnaire-measures", publish_due)

__all__ = [
    "MeasureRequest",
    "MyInstrument",
    "consenting",
    "consents_of",
    "define_measure",
    "draft_of",
    "get_instrument",
    "history",
    "import_questionnaire",
    "list_instruments",
    "may_offer",
    "may_respond",
    "measures_defined",
    "measures_of",
    "my_bundle",
    "my_instruments",
    "my_record",
    "needs_safety_message",
    "offer_shipped",
    "publish_due",
    "record_use",
    "responds_in",
    "save_answers",
    "send_due_reminders",
    "set_consents",
    "spec_of",
]  # fmt: skip
