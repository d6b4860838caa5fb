"""The same write sent several times at once, as a double click or a client's retry sends it, against the real
server on SQLite and on PostgreSQL: never a 5xx, and never two rows where the service keeps one.

SQLite lets one writer in at a time, so a service's "is it there already?" and its insert can't be split. PostgreSQL
(read committed) lets two transactions both find nothing and both insert: before each person's writes took turns
there (lhn/database.py), 7 of the 11 writes below answered 500 (a unique constraint) to some of the 8, and two
stored 8 rows where one belongs (8 pending invitations for one person, 8 vettings of one answer by one clinician)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from lhn.accounts.demo import DEMO_PASSWORD
from tests.live.chat_client import api_token

pytestmark = pytest.mark.live

AT_ONCE = 8
RIVERSIDE = "riverside-childrens"

# (who, method, path under /api/v1, body): writes a person repeats, each found racing on PostgreSQL or a neighbour.
SAME_PERSON = [
    ("mum_of_two", "POST", "/posts/2/vote", {"value": 1}),
    ("mum_of_two", "POST", "/follows", {"target_type": "post", "target_id": 2}),
    ("mum_of_two", "PUT", "/communities/pediatric-ibd/my-consent",
     {"qi_aggregates": True, "research": True, "study_contact": True}),
    ("mum_of_two", "PUT", "/communities/pediatric-ibd/my-research-profile", {}),
    ("mum_of_two", "PUT", "/sessions/1/registration", None),
    ("sugar_runner", "POST", "/communities/pediatric-ibd/join", {"accept_guidelines": True}),
    ("dr_okafor", "POST", "/measures/1/data", {"site": RIVERSIDE, "period": "2026-11", "numerator": 5,
                                               "denominator": 10}),
    ("dr_okafor", "POST", "/measures/1/phases", {"site": RIVERSIDE, "period": "2026-06", "reason": "New huddle"}),
    ("dr_okafor", "POST", "/measures/1/invitations", {"username": "nurse_priya"}),
    ("dr_okafor", "POST", "/answers/3/vet", {"note": "Sound advice.",
                                             "evidence": ["https://www.nice.org.uk/guidance/ng18"]}),
    ("dr_okafor", "PUT", "/posts/2/slow-mode", {"seconds": 60}),
]  # fmt: skip

# What each of those keeps one of, counted in the database afterwards.
ONE_ROW = {
    "/measures/1/invitations": "SELECT count(*) FROM measure_owner_invitation i JOIN user_account u ON u.id = i.user_id"
                               " WHERE i.measure_id = 1 AND i.status = 'pending' AND u.username = 'nurse_priya'",
    "/answers/3/vet": "SELECT count(*) FROM vetting v JOIN user_account u ON u.id = v.by_id"
                      " WHERE v.answer_id = 3 AND v.action = 'vet' AND u.username = 'dr_okafor'",
    "/communities/pediatric-ibd/join": "SELECT count(*) FROM membership m JOIN user_account u ON u.id = m.user_id"
                                       " WHERE m.community_id = 1 AND u.username = 'sugar_runner'",
}  # fmt: skip


def _at_once(url: str, requests_to_send: list[tuple[str, str, str, Any]]) -> Counter[int]:
    """Send each (token, method, path, body) from a thread of its own, released together; the statuses."""
    start, statuses = threading.Barrier(len(requests_to_send)), Counter()

    def send(token: str, method: str, path: str, body: Any) -> None:
        start.wait()
        answer = requests.request(method, f"{url}/api/v1{path}", json=body, timeout=60,
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        statuses[answer.status_code] += 1

    threads = [threading.Thread(target=send, args=args) for args in requests_to_send]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _count(live: Any, query: str) -> int:
    engine = create_engine(live.env["LHN_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("login", "method", "path", "body"), SAME_PERSON, ids=[f"{c[1]} {c[2]}" for c in SAME_PERSON])
def test_one_person_sending_the_same_write_at_once_gets_what_one_send_gets(demo_server, login, method, path, body):
    live, _work = demo_server
    token = api_token(live.url, login, DEMO_PASSWORD)
    statuses = _at_once(live.url, [(token, method, path, body)] * AT_ONCE)
    assert not [s for s in statuses if s >= 500], statuses
    assert any(200 <= s < 300 for s in statuses), statuses  # the write itself is allowed: one of them did it
    if path in ONE_ROW:
        assert _count(live, ONE_ROW[path]) == 1


def test_two_people_making_the_same_change_at_once_get_one_change_and_a_clear_refusal(demo_server):
    """Two owners start a phase at the same site and period at the same moment: one is stored; the others are
    told it exists (422) or that someone changed it first (409), never a 500."""
    live, _work = demo_server
    phase = {"site": RIVERSIDE, "period": "2026-04", "reason": "Started the transition clinic"}
    okafor, mum = api_token(live.url, "dr_okafor", DEMO_PASSWORD), api_token(live.url, "mum_of_two", DEMO_PASSWORD)
    statuses = _at_once(live.url, [(token, "POST", "/measures/1/phases", phase) for token in [okafor, mum] * 4])
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {201, 409, 422}, statuses
