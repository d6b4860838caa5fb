"""Research study rules, used as one: `from lhn.research import services as research`. studies (posting,
importing a FHIR R5 ResearchStudy, closing, the study's audit), profiles (a person's own research profile and the
studies they may fit), contacts ("contact me", withdrawing, and what the study's lead sees)."""

from lhn.research.services.contacts import (
    SHAREABLE,
    SMALL,
    Reach,
    contact_study,
    find_my_contact,
    study_reach,
    withdraw_contact,
)
from lhn.research.services.profiles import (
    ProfileFields,
    consents_to_contact,
    count_matches,
    find_profile,
    fits,
    my_facts,
    my_matches,
    save_profile,
)
from lhn.research.services.studies import (
    fields_of,
    get_study,
    import_study,
    list_studies,
    may_post,
    may_read_audit,
    may_set_status,
    post_study,
    set_status,
    study_audit,
)

__all__ = [
    "SHAREABLE",
    "SMALL",
    "ProfileFields",
    "Reach",
    "consents_to_contact",
    "contact_study",
    "count_matches",
    "fields_of",
    "find_my_contact",
    "find_profile",
    "fits",
    "get_study",
    "import_study",
    "list_studies",
    "may_post",
    "may_read_audit",
    "may_set_status",
    "my_facts",
    "my_matches",
    "post_study",
    "save_profile",
    "set_status",
    "study_audit",
    "study_reach",
    "withdraw_contact",
]  # fmt: skip
