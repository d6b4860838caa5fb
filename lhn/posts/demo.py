"""Demo content for every community: questions with answers (some vetted), ideas with a status timeline,
experiences and calls for collaborators with interested members. Idempotent: a post whose title exists
in its community is left alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from lhn.accounts import services as accounts
from lhn.accounts.models import User
from lhn.communities import services as communities
from lhn.communities.models import Community
from lhn.database import utcnow
from lhn.extensions import db
from lhn.posts import services as posts
from lhn.posts.models import Post


def _user(username: str) -> User:
    return accounts.get_user(username)


def _find(community: Community, title: str) -> Post | None:
    return db.session.scalar(select(Post).where(Post.community_id == community.id, Post.title == title))


def _post(community: Community, kind: str, author: str, title: str, tags: str = "", **extra: Any) -> Post | None:
    """Create the post unless it exists; None means it existed (the step's follow-ups are skipped)."""
    if _find(community, title) is not None:
        return None
    fields = posts.PostFields(title=title, tags=tags, sections=extra.pop("sections"), **extra)
    return posts.create_post(community, kind, fields, by=_user(author))


def _answer(post: Post, author: str, body: str, *, votes: tuple[tuple[str, int], ...] = ()) -> Any:
    answer = posts.post_answer(post.id, body, by=_user(author))
    for voter, value in votes:
        posts.vote_answer(answer.id, value, by=_user(voter))
    return answer


def _vet(answer: Any, vetter: str, note: str, evidence: list[str], review_days: int | None = None) -> None:
    review = (utcnow().date() + timedelta(days=review_days)).isoformat() if review_days else None
    posts.vet_answer(answer.id, by=_user(vetter), note=note, evidence=evidence, review_by=review)


def _deadline(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def seed_pediatric_ibd() -> None:
    ibd = communities.get_community("pediatric-ibd")
    trips = _post(ibd, "question", "mum_of_two", "How do you handle school trips during a flare?", "school travel",
                  sections={"body": "My 11-year-old has Crohn's and a three-day school trip is coming up in May. "
                            "He's been flaring on and off since Christmas.\n\nWhat did you arrange with the school "
                            "(toilets, food, medicines)? Did anyone's child just skip it?"})  # fmt: skip
    if trips:
        doctor = _answer(trips, "dr_okafor", (
            "Most children can go, with a plan made **two to three weeks ahead**:\n\n"
            "1. A short letter from the IBD team for the trip lead: diagnosis, medicines and their times, and "
            "what a flare looks like for *your* child.\n"
            "2. A toilet plan: a 'no questions asked' card, a seat near the coach door, and planned stops.\n"
            "3. Spare underwear, wipes and a sealable bag in a day pack.\n"
            "4. If he is on steroids, the trip lead must know about sick-day rules.\n\n"
            "If he is passing blood daily or waking at night to open his bowels, call us first: we may want to "
            "see him before he goes."), votes=(("mum_of_two", 1), ("ibd_teen", 1), ("sam_mod", 1)))  # fmt: skip
        _vet(
            doctor,
            "dr_lind",
            "Practical and in line with the ESPGHAN/ECCO advice on school and activities.",
            ["10.1016/j.crohns.2014.04.005", "https://www.nice.org.uk/guidance/ng129"],
            review_days=365,
        )
        nurse = _answer(trips, "nurse_priya", (
            "From the nursing side: ask the school for a **named adult** on the trip who has read the letter, and "
            "give your son a discreet way to tell them he needs a break (we use a coloured card)."),
            votes=(("mum_of_two", 1),))  # fmt: skip
        posts.accept_answer(nurse.id, by=_user("mum_of_two"))
        _vet(
            nurse,
            "dr_okafor",
            "Matches what our network's nurses advise families.",
            ["https://www.nice.org.uk/guidance/ng129"],
        )
        _answer(trips, "ibd_teen", "I went on my Year 8 trip mid-flare. The card thing works. Nobody noticed.",
                votes=(("mum_of_two", 1), ("sam_mod", 1)))  # fmt: skip
        posts.post_comment(trips.id, "Did the school ask for a care plan in writing, or was the letter enough?",
                           by=_user("sam_mod"), answer_id=doctor.id)  # fmt: skip
        posts.vote_post(trips.id, 1, by=_user("ibd_teen"))
        posts.vote_post(trips.id, 1, by=_user("nurse_priya"))
    tired = _post(
        ibd,
        "question",
        "ibd_teen",
        "Is it normal to feel exhausted for days after an infliximab infusion?",
        "infliximab fatigue",
        sections={
            "body": "I'm 15, on infliximab every 8 weeks. For about three days "
            "after each infusion I can barely get up for school. Is that the drug, or something else?"
        },
    )
    if tired:
        lind = _answer(
            tired,
            "dr_lind",
            (
                "Tiredness for a day or two after an infusion is common and usually settles. Three days every time "
                "is worth telling your team about: they may check your **drug level and antibodies**, iron and "
                "vitamin D, and ask about sleep and mood, which all add to fatigue in IBD."
            ),
            votes=(("ibd_teen", 1),),
        )
        _vet(
            lind,
            "dr_okafor",
            "Accurate; fatigue after infusions should prompt a level and an iron check.",
            ["10.1016/j.crohns.2014.04.005"],
        )
        sam = _answer(tired, "sam_mod", "As a parent: my daughter felt the same until her iron was sorted. Ask!")
        posts.post_comment(tired.id, "Thanks, I'll ask at the next clinic.", by=_user("ibd_teen"), answer_id=sam.id)
    een = _post(ibd, "question", "mum_of_two", "Exclusive enteral nutrition: how did you make the shakes bearable?",
                "diet een", sections={"body": "Eight weeks of shakes only. Flavours, temperatures, straws? "
                "Anything that helped your child stick with it."})  # fmt: skip
    if een:
        _answer(een, "ibd_teen", "Ice cold, through a straw, with a sports bottle so nobody at school asks.")
    _post(
        ibd,
        "question",
        "ibd_teen",
        "Can I ask for rest breaks in my exams because of Crohn's?",
        "school exams",
        sections={"body": "My exams are in June. Has anyone got access arrangements for toilet breaks?"},
    )
    line = _post(ibd, "idea", "mum_of_two", "Offer a nurse phone line for 48 hours after infusions", "infusions",
                 sections={"problem": "After an infusion, families with a worry call the ward switchboard and wait, "
                           "or go to the emergency department for things a nurse could answer on the phone.",
                           "proposal": "A phone line answered by an IBD nurse from 8am to 8pm for the 48 hours after "
                           "each infusion, with a simple log of calls and outcomes.",
                           "affected": "Children and young people on infusions and their families; the day-unit "
                           "nurses; the emergency department."})  # fmt: skip
    if line:
        for voter in ("ibd_teen", "nurse_priya", "sam_mod"):
            posts.vote_post(line.id, 1, by=_user(voter))
        posts.change_idea_status(
            line.id,
            "under_review",
            by=_user("sam_mod"),
            reason="Three sites said they'd try it; discussed at the January network call.",
        )
        posts.change_idea_status(
            line.id,
            "adopted",
            by=_user("dr_okafor"),
            reason="Agreed as the network's next improvement cycle, starting at Riverside.",
        )
        posts.post_comment(line.id, "Northgate can pilot it on Tuesdays and Thursdays first.", by=_user("nurse_priya"))
    idea = line or _find(ibd, "Offer a nurse phone line for 48 hours after infusions")
    story = _post(ibd, "experience", "dr_okafor", "How we ran a post-infusion phone line at Riverside", "infusions",
                  linked_idea_id=idea.id if idea else None,
                  sections={"setting": "Riverside Children's Hospital, a 12-bed paediatric IBD day unit seeing about "
                            "40 infusions a week.",
                            "what_done": "Two IBD nurses shared a mobile for 48 hours after each infusion, 8am–8pm. "
                            "Families got the number on a card at discharge. Every call went into a short log.",
                            "what_happened": "Over 12 weeks: 61 calls, 9 led to a same-day review, and emergency "
                            "visits after infusions fell from 14 to 5 compared with the 12 weeks before.",
                            "lessons": "Give the card at the infusion chair, not at discharge. Agree in advance what "
                            "the nurse can advise alone and when to call the registrar."})  # fmt: skip
    if story:
        posts.post_comment(story.id, "Could you share the call log template?", by=_user("sam_mod"))
    call = _post(
        ibd,
        "call",
        "prof_chen",
        "Families wanted: symptom diaries during exclusive enteral nutrition",
        "research een",
        roles=["patients", "caregivers", "site-clinicians"],
        deadline=_deadline(60),
        sections={
            "summary": "A multi-site study of what children eat and feel during and after exclusive "
            "enteral nutrition, led by the Nordic Institute for Health Research.",
            "sites": "Paediatric IBD centres in the UK, Sweden and the US.",
            "commitment": "A two-minute daily diary in an app for 12 weeks, and two short calls.",
            "ethics": "Approved by the Swedish Ethical Review Authority (Dnr 2026-01234-01).",
        },
    )
    if call:
        accepted = posts.express_interest(call.id, "My son starts EEN next month; we'd like to help.",
                                          by=_user("mum_of_two"))  # fmt: skip
        posts.decide_interest(accepted.id, by=_user("prof_chen"), accept=True)
        posts.express_interest(call.id, "I did EEN last year and can tell you what was hard.", by=_user("ibd_teen"))
        posts.express_interest(call.id, "Northgate could join as a site.", by=_user("nurse_priya"))
    _post(ibd, "idea", "ibd_teen", "A transition checklist for 16-year-olds moving to adult care", "transition",
          sections={"problem": "Nobody told me what changes at the adult clinic.",
                    "proposal": "A one-page checklist we go through at 15, 16 and 17.",
                    "affected": "Teenagers and their parents; both clinics."})  # fmt: skip


def seed_type_1_diabetes() -> None:
    t1d = communities.get_community("type-1-diabetes")
    alarms = _post(t1d, "question", "sugar_runner", "How do you manage CGM alarms during sleepovers?", "cgm sleep",
                   sections={"body": "I'm 14 and my sensor alarms wake everyone at sleepovers. Do you change the "
                             "alarm settings for the night, and is that safe?"})  # fmt: skip
    if alarms:
        lind = _answer(alarms, "dr_lind", (
            "Agree a **sleepover setting** with your diabetes team: usually the low alarm stays on and urgent-low "
            "can't be silenced, while the high alarm can be raised for one night. Share your readings with a "
            "parent's phone so they get the alarm instead of your friends."), votes=(("sugar_runner", 1),))  # fmt: skip
        _vet(
            lind,
            "dr_okafor",
            "Sensible and matches the NICE advice on alarms and sharing.",
            ["https://www.nice.org.uk/guidance/ng18"],
            review_days=540,
        )
        _answer(alarms, "mum_of_two", "We set 'follow' on my phone and tell the host parent to ring me.")
    sport = _post(t1d, "question", "mum_of_two", "What do you do before football practice to avoid hypos?",
                  "exercise hypos", sections={"body": "My daughter drops low halfway through training. "
                  "Snack before? Reduce the pump basal? What works for you?"})  # fmt: skip
    if sport:
        priya = _answer(
            sport,
            "nurse_priya",
            (
                "Many families reduce the basal by 50% starting 60–90 minutes before training and give 10–20 g of "
                "fast carbs if she starts below 7 mmol/L. Check at half time. Agree the exact numbers with her team."
            ),
        )
        _vet(
            priya,
            "dr_lind",
            "A safe starting plan; individual targets still come from her team.",
            ["https://www.nice.org.uk/guidance/ng18"],
        )
    cards = _post(t1d, "idea", "sugar_runner", "A shared sick-day rules card for schools", "school",
                  sections={"problem": "Every clinic gives schools a different sick-day sheet.",
                            "proposal": "One card, agreed by the network, that schools keep in the first-aid kit.",
                            "affected": "Pupils with T1D, school staff, clinic nurses."})  # fmt: skip
    if cards:
        posts.post_comment(cards.id, "Happy to draft it with the nurses.", by=_user("nurse_priya"))
        posts.vote_post(cards.id, 1, by=_user("mum_of_two"))
    _post(
        t1d,
        "experience",
        "dr_lind",
        "Moving our clinic to remote CGM reviews",
        "cgm clinic",
        sections={
            "setting": "Lakeside Paediatric Clinic, 220 children with type 1 diabetes.",
            "what_done": "Every other review became a video call with the CGM report shared beforehand.",
            "what_happened": "Fewer missed appointments (18% to 7%); HbA1c unchanged over a year.",
            "lessons": "Ask families to upload data two days before; book interpreters in advance.",
        },
    )
    app_call = _post(
        t1d,
        "call",
        "prof_chen",
        "Teen co-designers wanted for a hypo-awareness app",
        "research",
        roles=["patients", "patient-partners"],
        deadline=_deadline(45),
        sections={
            "summary": "We are designing an app that helps teenagers spot hypos earlier.",
            "sites": "",
            "commitment": "Four online workshops of one hour over two months.",
            "ethics": "Approved by the Stockholm regional ethics committee (2026/0456).",
        },
    )
    if app_call:
        posts.express_interest(app_call.id, "I'd love to help, I hate the current apps.", by=_user("sugar_runner"))


def seed_cystic_fibrosis() -> None:
    cf = communities.get_community("cystic-fibrosis")
    saline = _post(cf, "question", "salty_breather", "Hypertonic saline makes me cough for an hour — is that expected?",
                   "airway-clearance", sections={"body": "I started 7% saline nebs last month. The coughing goes on "
                   "for an hour afterwards. Does it get better?"})  # fmt: skip
    if saline:
        lind = _answer(saline, "dr_lind", (
            "Some cough is the point: it helps clear mucus. An hour is longer than we'd like. Ask your team "
            "about taking a **bronchodilator before** the saline and doing your airway clearance during and "
            "straight after the neb, not later."))  # fmt: skip
        _vet(
            lind,
            "prof_chen",
            "Consistent with the NICE guideline on airway clearance.",
            ["https://www.nice.org.uk/guidance/ng78"],
        )
    video = _post(cf, "idea", "salty_breather", "Evening physio sessions by video for working adults", "physio",
                  sections={"problem": "Physio reviews are only in working hours.",
                            "proposal": "One evening a week of video physio reviews.",
                            "affected": "Adults with CF who work; the physio team."})  # fmt: skip
    if video:
        posts.change_idea_status(video.id, "under_review", by=_user("dr_lind"),
                                 reason="The physio team is checking rotas.")  # fmt: skip
    _post(cf, "experience", "dr_lind", "Keeping patients apart in clinic with text-message waiting",
          "infection-control",
          sections={"setting": "An adult CF clinic of 180 patients.",
                    "what_done": "Patients wait in their cars and get a text when their room is ready.",
                    "what_happened": "No shared waiting time; patients liked it; no extra staff needed.",
                    "lessons": "Have a plan for people who arrive by bus."})  # fmt: skip
    study = _post(
        cf,
        "call",
        "prof_chen",
        "Adults with CF wanted for an exercise tolerance study",
        "research",
        roles=["patients"],
        deadline=_deadline(90),
        sections={
            "summary": "A study of how modulator therapy changes exercise tolerance.",
            "sites": "Adult CF centres in Sweden and the UK.",
            "commitment": "Two exercise tests a year apart, and a step counter.",
            "ethics": "Approved by the Swedish Ethical Review Authority (Dnr 2026-04321-02).",
        },
    )
    if study:
        interest = posts.express_interest(study.id, "I'm 27 and on a modulator since last year.",
                                          by=_user("salty_breather"))  # fmt: skip
        posts.decide_interest(interest.id, by=_user("prof_chen"), accept=True)


STEPS = [
    ("posts: pediatric IBD", seed_pediatric_ibd),
    ("posts: type 1 diabetes", seed_type_1_diabetes),
    ("posts: cystic fibrosis", seed_cystic_fibrosis),
]
