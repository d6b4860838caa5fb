"""Demo measures: two or three per demo community, three years of monthly data for three sites each, through
the real services. Deterministic (seeded), idempotent (an existing measure is left alone), and quick.

"Clinical remission" in the pediatric IBD network improves at Riverside after an adopted change (a PDSA cycle
that adopts pre-visit planning), so the demo shows a detected shift on the site's chart and the network's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.database import utcnow
from lhn.extensions import db
from lhn.measures import services as measures
from lhn.measures.models import Measure
from lhn.measures.services import data, learning, periods

MONTHS = 36
CHANGE_AT = 20  # Riverside adopts pre-visit planning in month 21 of 36
# The age-band breakdown of "Quality of life (IMPACT-III)" for the last STRATA_MONTHS months: each band's share of
# the patients and how its mean score differs (young adults in transition score lower). Riverside and Northgate send
# it every month, Lakeside (a smaller clinic, so a band of 1-10 patients) only in the first: that month is hidden.
STRATA_MONTHS = 6
AGE_BANDS = {"0-11": (0.3, 2.5), "12-17": (0.45, 0.0), "18+": (0.25, -4.0)}
SMALL_SITE = "lakeside-clinic"


@dataclass
class Site:
    slug: str
    submitter: str  # a member of the site's team (or its appointed data lead)
    size: int  # patients (denominator) or exposure scale
    level: float  # the site's usual value
    lead: bool = False  # the submitter is appointed as data lead by the owner


@dataclass
class DemoMeasure:
    community: str
    owner: str
    fields: dict
    sites: list[Site]
    co_owners: list[str] = field(default_factory=list)
    improvement: tuple[str, float] | None = None  # (site, new level) from CHANGE_AT on


IBD_SITES = [
    Site("riverside-childrens", "dr_okafor", 120, 0.56),
    Site("lakeside-clinic", "dr_lind", 70, 0.64),
    Site("northgate-university-hospital", "nurse_priya", 95, 0.60, lead=True),
]
T1D_SITES = [
    Site("lakeside-clinic", "dr_lind", 110, 0.45),
    Site("riverside-childrens", "dr_okafor", 90, 0.40),
    Site("northgate-university-hospital", "nurse_priya", 80, 0.42, lead=True),
]
CF_SITES = [
    Site("lakeside-clinic", "dr_lind", 60, 0.62),
    Site("riverside-childrens", "dr_okafor", 75, 0.58),
    Site("northgate-university-hospital", "dr_lind", 55, 0.60, lead=True),
]

MEASURES = [
    DemoMeasure(
        "pediatric-ibd",
        "dr_okafor",
        {
            "name": "Clinical remission",
            "type": "proportion",
            "period": "month",
            "improvement": "up",
            "unit": "% of patients",
            "target": 75,
            "baseline_points": 12,
            "description": "Patients with IBD seen in the month whose Physician Global Assessment is *quiescent*.\n\n"
            "Numerator: patients in remission. Denominator: patients seen with a PGA recorded.",
            "data_source": "Site registry, monthly extract (visits with a PGA).",
        },
        IBD_SITES,
        co_owners=["mum_of_two", "ibd_teen"],
        improvement=("riverside-childrens", 0.78),
    ),
    DemoMeasure(
        "pediatric-ibd",
        "dr_okafor",
        {
            "name": "Quality of life (IMPACT-III)",
            "type": "continuous",
            "period": "month",
            "improvement": "up",
            "unit": "score 0–100",
            "target": 75,
            "description": "Mean IMPACT-III score of patients who completed it.",
            "data_source": "Patient-reported, in clinic, on a tablet.",
            "stratifiers": "age_band (Age band): 0-11, 12-17, 18+",
        },
        [Site(s.slug, s.submitter, s.size // 2, 68 + i * 2, s.lead) for i, s in enumerate(IBD_SITES)],
        co_owners=["ibd_teen"],
    ),
    DemoMeasure(
        "type-1-diabetes",
        "dr_lind",
        {
            "name": "HbA1c below 58 mmol/mol",
            "type": "proportion",
            "period": "month",
            "improvement": "up",
            "unit": "% of patients",
            "target": 55,
            "description": "Patients whose latest HbA1c is below 58 mmol/mol.",
            "data_source": "Laboratory results linked to the clinic list.",
        },
        T1D_SITES,
        co_owners=["sugar_runner"],
    ),
    DemoMeasure(
        "type-1-diabetes",
        "dr_lind",
        {
            "name": "Mean HbA1c",
            "type": "continuous",
            "period": "month",
            "improvement": "down",
            "unit": "mmol/mol",
            "target": 58,
            "description": "Mean of the latest HbA1c of each patient seen in the month.",
        },
        [Site(s.slug, s.submitter, s.size, 62 - i * 1.5, s.lead) for i, s in enumerate(T1D_SITES)],
    ),
    DemoMeasure(
        "type-1-diabetes",
        "dr_lind",
        {
            "name": "Emergency visits for hypoglycaemia",
            "type": "count",
            "period": "month",
            "improvement": "down",
            "unit": "visits",
            "description": "Emergency department visits with severe hypoglycaemia.",
        },
        [Site(s.slug, s.submitter, 0, 14 + i * 2, s.lead) for i, s in enumerate(T1D_SITES)],
    ),
    DemoMeasure(
        "cystic-fibrosis",
        "prof_chen",
        {
            "name": "FEV1 at least 80% predicted",
            "type": "proportion",
            "period": "month",
            "improvement": "up",
            "unit": "% of patients",
            "target": 70,
            "description": "Patients aged 6 and over with FEV1 ≥ 80% predicted.",
        },
        CF_SITES,
        co_owners=["salty_breather", "dr_lind"],
    ),
    DemoMeasure(
        "cystic-fibrosis",
        "prof_chen",
        {
            "name": "Pulmonary exacerbations",
            "type": "rate",
            "period": "month",
            "improvement": "down",
            "unit": "per 1,000 patient-days",
            "description": "Exacerbations treated with IV antibiotics.",
        },
        [Site(s.slug, s.submitter, 1700 + i * 300, 0.0045, s.lead) for i, s in enumerate(CF_SITES)],
    ),
]


def _user(username: str) -> User:
    return accounts.get_user(username)


def _months() -> list[date]:
    """The 36 months before the current one (data can't be from the future)."""
    last = periods.start_of(utcnow().date(), "month")
    first = last
    for _ in range(MONTHS):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    return periods.span(first, last, "month")[:MONTHS]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _value(spec: DemoMeasure, site: Site, month: int, rng: random.Random) -> dict[str, float]:
    level = site.level
    if spec.improvement and spec.improvement[0] == site.slug and month >= CHANGE_AT:
        level = spec.improvement[1]
    kind = spec.fields["type"]
    if kind == "proportion":
        n = site.size + rng.randint(-12, 12)
        return {"numerator": sum(rng.random() < level for _ in range(n)), "denominator": n}
    if kind == "rate":
        exposure = site.size * 30 + rng.randint(-400, 400)
        return {"events": _poisson(rng, level * exposure), "exposure": exposure}
    if kind == "count":
        return {"count": _poisson(rng, level)}
    n = site.size + rng.randint(-8, 8)
    return {"value": round(rng.gauss(level, 1.6), 1), "n": n}


def _ensure_member(username: str, slug: str) -> None:
    community = communities.get_community(slug)
    person = _user(username)
    if communities.find_membership(person, community) is not None:
        return
    owner = communities.list_members(community, by=_user("admin"), role="owner").items[0].user
    if community.is_restricted:
        request = communities.request_to_join(person, community, accept_guidelines=True)
        communities.decide_join_request(request.id, by=owner, approve=True)
    else:
        communities.join_community(person, community, accept_guidelines=True)


def _existing(community_id: int, name: str) -> Measure | None:
    return db.session.scalar(select(Measure).where(Measure.community_id == community_id, Measure.name == name))


def seed_measures() -> None:
    months = _months()
    for spec in MEASURES:
        community = communities.get_community(spec.community)
        if _existing(community.id, spec.fields["name"]) is not None:
            continue
        owner = _user(spec.owner)
        for site in spec.sites:
            _ensure_member(site.submitter, spec.community)
        measure = measures.create_measure(community, measures.MeasureFields(**spec.fields), by=owner)
        for username in spec.co_owners:
            _ensure_member(username, spec.community)
            measures.invite_owner(measure, username, by=owner)
            measures.answer_invitation(measure, by=_user(username), accept=True)
        for site in spec.sites:
            institution = accounts.find_institution(site.slug)
            submitter = _user(site.submitter)
            if site.lead:
                measures.appoint_site_lead(measure, site.submitter, site.slug, by=owner)
            measures.give_consent(measure, institution, by=submitter, agreed=True)  # type: ignore[arg-type]
            rng = random.Random(f"{spec.community}/{spec.fields['name']}/{site.slug}")  # noqa: S311 - demo data
            rows = [
                data.Row(site=site.slug, period=periods.label(m, "month"), values=_value(spec, site, i, rng))
                for i, m in enumerate(months)
            ]
            data.import_rows(measure, rows, by=submitter, source="demo")
            if measure.stratifiers:
                recent = rows[-STRATA_MONTHS:]
                _seed_strata(measure, recent[:1] if site.slug == SMALL_SITE else recent, submitter)
        if spec.improvement:
            _seed_learning(measure, spec, months, owner)


def _seed_strata(measure: Measure, rows: list[data.Row], submitter: User) -> None:
    """Each month's mean score split by age band (AGE_BANDS): the bands' n add up to the month's, and their means
    average (weighted by n) to the month's mean. Through the service sites use."""
    for row in rows:
        n, mean = int(row.values["n"]), float(row.values["value"])
        sizes = [round(n * share) for share, _ in AGE_BANDS.values()]
        sizes[-1] = n - sum(sizes[:-1])
        offsets = [offset for _, offset in AGE_BANDS.values()]
        shift = sum(size * offset for size, offset in zip(sizes, offsets, strict=True)) / n
        values = {
            band: {"value": round(mean + offset - shift, 3), "n": size}
            for band, size, offset in zip(AGE_BANDS, sizes, offsets, strict=True)
        }
        measures.record_strata(measure, row.site, row.period, "age_band", values, by=submitter, source="demo")


def _seed_learning(measure: Measure, spec: DemoMeasure, months: list[date], owner: User) -> None:
    slug = spec.improvement[0]  # type: ignore[index]
    test = learning.create_cycle(
        measure,
        learning.PdsaFields(
            site=slug,
            title="Pre-visit planning huddle with text reminders",
            started_on=months[CHANGE_AT - 3],
            plan="Each Friday the team reviews next week's patients: overdue labs, missed doses, who needs a call. "
            "Families get a text two days before the visit.",
            prediction="More patients arrive with labs done and treatment adjusted; remission up from about 56% to 65% "
            "within three months.",
            do_notes="Ran for eight weeks in the Tuesday and Thursday clinics.",
            study="Remission rose above the prediction; the huddle takes 20 minutes.",
        ),
        by=owner,
    )
    learning.close_cycle(
        test,
        measure,
        act="adopt",
        act_notes="Adopted as standard work in every IBD clinic.",
        ended_on=months[CHANGE_AT],
        by=owner,
    )
    learning.create_cycle(
        measure,
        learning.PdsaFields(
            site=slug,
            title="Nurse phone call after a flare",
            started_on=months[-4],
            prediction="Fewer patients lose remission in the month after a flare.",
            plan="The IBD nurse calls within 48 hours of any flare.",
        ),
        by=owner,
    )
    learning.add_note(
        measure,
        site=slug,
        on=months[8] + (months[9] - months[8]) / 2,
        text="New electronic health record went live: two weeks of incomplete PGA entry.",
        by=owner,
    )
    learning.add_note(measure, site="", on=months[CHANGE_AT], text="Riverside adopts pre-visit planning.", by=owner)


# Each step runs in its own transaction (lhn.demo runs every feature's steps in order).
STEPS: list[tuple[str, Callable[[], None]]] = [("measures", seed_measures)]  # three years of monthly data
