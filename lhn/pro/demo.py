"""Demo data for patient-reported outcomes: Pediatric IBD offers the IBD check-in (every two weeks) and PHQ-9
(monthly); Gutsy Teen has answered the check-in six times as a flare settled, and has a PHQ-9 draft to finish.
A measure computed from the check-in (the mean score per site and month) draws on pseudonymous respondents at three
sites who chose to count their answers; Lakeside's handful of people stays hidden. Runs after the measures step."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from lhn.accounts import services as accounts
from lhn.accounts.demo import DEMO_PASSWORD
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.pro import services as pro
from lhn.pro.models import Instrument, Purpose

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
    _respondents(check_in)
    # defined after the answers: a new measure computes every period that has ended, once
    pro.define_measure(check_in, pro.MeasureRequest(statistic="mean", name=CHECK_IN_MEASURE), by=owner)


CHECK_IN_MEASURE = "Mean IBD check-in score (lower is better)"
# Pseudonymous respondents who count their answers in QI measures: (site, how many, chance of flare symptoms).
RESPONDENTS = [("riverside-childrens", 16, 0.35), ("northgate-university-hospital", 13, 0.45),
               ("lakeside-clinic", 4, 0.5)]  # fmt: skip
MONTHS = 6


def _respondents(check_in: Instrument) -> None:
    """Monthly check-ins for the last MONTHS months from each respondent; flare symptoms get rarer at Riverside,
    which tested the nurse phone line. The respondents join the community and consent to QI aggregates."""
    community, now, check_in_owner = check_in.community, utcnow(), accounts.get_user("dr_okafor")
    rng = random.Random("pro-demo")  # noqa: S311 - demo data
    for site, count, chance in RESPONDENTS:
        for n in range(1, count + 1):
            person = accounts.register_user(
                email=f"checkin-{site}-{n}@demo.lhn.example", username=f"checkin_{site.split('-')[0]}_{n}",
                display_name=f"{site.split('-')[0].capitalize()} respondent {n}", password=DEMO_PASSWORD,
                role="patient", institution=site, confirm_real_name=False, email_confirmed=True)  # fmt: skip
            if community.is_restricted:
                request = communities.request_to_join(person, community, accept_guidelines=True)
                communities.decide_join_request(request.id, by=check_in_owner, approve=True)
            else:
                communities.join_community(person, community, accept_guidelines=True)
            pro.set_consents(community, person, {Purpose.QI_AGGREGATES: True})
            for month in range(MONTHS, 0, -1):
                odds = chance * (0.6 if site == "riverside-childrens" and month <= 3 else 1.0)
                flare = rng.random() < odds
                weights = (2, 1, 1, 1) if flare else (rng.choice((0, 1)), 0, 0, rng.choice((0, 1)))
                answers = {str(item): str(weight) for item, weight in enumerate(weights, start=1)}
                pro.save_answers(check_in, answers, by=person, complete=True,
                                 now=now - timedelta(days=30 * month - rng.randint(0, 10)))  # fmt: skip


STEPS: list[tuple[str, Callable[[], None]]] = [("questionnaires", seed_pro)]
