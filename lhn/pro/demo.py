"""Demo data for patient-reported outcomes: Pediatric IBD offers the IBD check-in (every two weeks) and PHQ-9
(monthly); Gutsy Teen has answered the check-in six times as a flare settled, and has a PHQ-9 draft to finish.
Runs after the communities step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from lhn.accounts import services as accounts
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.pro import services as pro

# The teen's check-ins, oldest first: a flare settling (each a weight per item: pain, stools, blood, wellbeing).
CHECK_INS = [(3, 2, 1, 2), (2, 2, 1, 2), (2, 1, 0, 1), (1, 1, 0, 1), (1, 0, 0, 1), (0, 0, 0, 0)]


def seed_pro() -> None:
    community = communities.get_community("pediatric-ibd")
    owner, teen = accounts.get_user("dr_okafor"), accounts.get_user("ibd_teen")
    if pro.list_instruments(community):
        return
    check_in = pro.offer_shipped(community, "ibd-check-in", schedule_days=14, by=owner)
    phq9 = pro.offer_shipped(community, "phq-9", schedule_days=30, by=owner)
    start = utcnow() - timedelta(days=14 * len(CHECK_INS))
    for number, weights in enumerate(CHECK_INS):
        answers = {str(item): str(weight) for item, weight in enumerate(weights, start=1)}
        pro.save_answers(check_in, answers, by=teen, complete=True, now=start + timedelta(days=14 * number))
    pro.save_answers(phq9, {"1": "1", "2": "0", "3": "2"}, by=teen, complete=False)


STEPS: list[tuple[str, Callable[[], None]]] = [("questionnaires", seed_pro)]
