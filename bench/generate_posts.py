"""Build a benchmark database: one public community with 100k posts and 300k answers (and their revisions,
tags, votes, some vettings and comments, and the full-text index), plus one question with exactly 30 answers.

Rows go in with bulk INSERTs and pre-rendered HTML (no Markdown pipeline per row), so it takes minutes.

    .venv/bin/python bench/generate_posts.py --db bench/results/posts.sqlite3 [--posts 100000 --answers 300000]

It prints the URLs the benchmark uses (bench/posts_bench.py reads them from the database too).
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from markupsafe import escape
from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
_VOCABULARY = (
    "infliximab adalimumab mesalazine budesonide prednisolone methotrexate azathioprine vedolizumab ustekinumab "
    "calprotectin colonoscopy endoscopy flare remission fatigue school exams sport swimming travel diet enteral "
    "nutrition shakes iron vitamin infusion injection clinic nurse consultant appointment waiting list pain "
    "abdominal bloating diarrhoea blood weight growth puberty transition adult teenager parent sibling teacher "
    "toilet card letter plan sleep mood anxiety support group hospital ward admission discharge surgery stoma "
    "fistula abscess scan ultrasound MRI blood test level antibodies dose interval week month year morning "
    "evening night breakfast lunch dinner snack fluid water salt sugar fibre vegetables fruit bread pasta rice "
    "milk lactose gluten allergy rash joint eye skin mouth ulcer headache fever infection vaccine holiday camp "
    "exercise football dance gym bike walk run rest break homework friends team coach trip bus train flight "
    "insurance pharmacy prescription delivery side effect nausea vomiting hair cold flu covid mask hand washing "
    "research study trial diary app questionnaire data site ethics consent results improvement cycle measure"
)
_SYLLABLES = [
    "ba",
    "ce",
    "di",
    "fo",
    "gu",
    "la",
    "me",
    "ni",
    "po",
    "ru",
    "sa",
    "te",
    "vi",
    "xo",
    "zu",
    "mab",
    "nib",
    "tin",
    "rol",
    "zol",
    "par",
    "dex",
    "lin",
    "vor",
    "ket",
]
# A long tail of rarer words (drug-like names), so some searches match few posts, as in real text.
WORDS = _VOCABULARY.split() + sorted({a + b + c for a in _SYLLABLES[:15] for b in _SYLLABLES for c in _SYLLABLES[15:]})
TAGS = [
    "school", "diet", "een", "infusions", "biologics", "steroids", "fatigue", "sport", "travel", "exams",
    "transition", "surgery", "mental-health", "sleep", "growth", "research", "vaccines", "iron", "pain", "clinic",
]  # fmt: skip
KINDS = ["question"] * 70 + ["idea"] * 15 + ["experience"] * 10 + ["call"] * 5
BATCH = 2_000


# Word frequencies follow Zipf's law (as in real text): a few words are in most posts, most in few.
ZIPF = [1 / (rank + 1) for rank in range(len(WORDS))]


def sentence(rng: random.Random, n: int) -> str:
    words = rng.choices(WORDS, weights=ZIPF, k=n)
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def paragraphs(rng: random.Random, count: int, words: tuple[int, int]) -> list[str]:
    return [" ".join(sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(*words) // 12 + 1))
            for _ in range(count)]  # fmt: skip


def as_markdown(paras: list[str]) -> str:
    return "\n\n".join(paras)


def as_html(paras: list[str]) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in paras)


def build(db_path: Path, n_posts: int, n_answers: int, n_users: int, seed: int) -> None:
    import os

    os.environ["LHN_DATABASE_URL"] = f"sqlite:///{db_path}"
    from flask_migrate import upgrade

    from lhn import create_app
    from lhn.accounts.models import User
    from lhn.accounts.passwords import hash_password
    from lhn.communities import services as communities
    from lhn.communities.models import Membership
    from lhn.extensions import db
    from lhn.posts.models import Answer, AnswerRevision, AnswerVote, Comment, Post, PostRevision, PostTag, Vetting
    from lhn.posts.services.common import wilson_lower_bound
    from lhn.search.models import SearchDocument

    rng = random.Random(seed)
    if db_path.exists():
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    app = create_app({"SECRET_KEY": "bench-generator-secret-key-xxxxxxxxxxxxxxxxxxxx", "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 64})  # fmt: skip
    started = time.monotonic()
    with app.app_context():
        upgrade(directory=str(Path(app.root_path) / "migrations"))
        conn = db.session.connection()
        now = datetime.now(UTC)
        password = hash_password("bench-password-1")
        roles = ["patient"] * 45 + ["caregiver"] * 25 + ["clinician"] * 20 + ["researcher"] * 10
        users = []
        for i in range(n_users):
            role = rng.choice(roles)
            users.append({"id": i + 1, "username": f"user{i + 1}", "email": f"user{i + 1}@bench.example",
                          "display_name": f"Member {i + 1}", "password_hash": password, "role": role,
                          "verified_at": now if role in ("clinician", "researcher") and rng.random() < 0.6 else None,
                          "created_at": now - timedelta(days=800), "bio": "", "bio_html": ""})  # fmt: skip
        db.session.execute(insert(User), users)
        owner = db.session.get(User, next(u["id"] for u in users if u["role"] == "clinician" and u["verified_at"]))
        community = communities.create_community(communities.CommunityFields(
            name="Benchmark IBD Network", slug="bench", condition_name="Inflammatory bowel disease",
            description="A community for benchmarks.", guidelines="Be kind."), by=owner)  # fmt: skip
        members = [{"community_id": community.id, "user_id": u["id"], "role": "member", "joined_at": now,
                    "guidelines_accepted_at": now, "guidelines_version": 1}
                   for u in users if u["id"] != owner.id]  # fmt: skip
        db.session.execute(insert(Membership), members)
        db.session.execute(text("UPDATE community SET member_count = :n WHERE id = :id"),
                           {"n": n_users, "id": community.id})  # fmt: skip
        clinicians = [u["id"] for u in users if u["role"] == "clinician" and u["verified_at"]]
        # Drop the triggers while loading; the index is rebuilt in one pass at the end (much faster).
        for trigger in ("search_document_ai", "search_document_ad", "search_document_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")

        kinds = [rng.choice(KINDS) for _ in range(n_posts)]
        question_ids = [i + 1 for i, k in enumerate(kinds) if k == "question"]
        big = question_ids[-1]  # the newest question gets exactly 30 answers
        counts = dict.fromkeys(question_ids, 0)
        counts[big] = 30
        others = question_ids[:-1]
        for _ in range(n_answers - 30):
            counts[rng.choice(others)] += 1
        span = timedelta(days=730)
        answer_id = revision_id = 0
        with click.progressbar(range(0, n_posts, BATCH), label=f"{n_posts:,} posts, {n_answers:,} answers") as bar:
            for start in bar:
                posts_rows, tag_rows, post_revs, answer_rows, answer_revs, docs = [], [], [], [], [], []
                votes, vettings, comments = [], [], []
                for pid in range(start + 1, min(start + BATCH, n_posts) + 1):
                    kind = kinds[pid - 1]
                    created = now - span + span * (pid / n_posts)
                    author = rng.randint(1, n_users)
                    title = sentence(rng, rng.randint(6, 12))[:-1] + ("?" if kind == "question" else "")
                    paras = paragraphs(rng, rng.randint(1, 2), (30, 70))
                    tags = sorted(set(rng.sample(TAGS, rng.randint(0, 3))))
                    body, body_html = as_markdown(paras), as_html(paras)
                    n = counts.get(pid, 0)
                    answer_texts = []
                    vetted_at = None
                    for k in range(n):
                        answer_id += 1
                        a_paras = paragraphs(rng, rng.randint(1, 2), (20, 60))
                        a_created = created + timedelta(hours=k + 1)
                        ups, downs = rng.randint(0, 12), rng.randint(0, 3)
                        vetted = (pid == big and k in (3, 17)) or (pid != big and rng.random() < 0.02)
                        row = {"id": answer_id, "post_id": pid, "community_id": community.id,
                               "author_id": rng.randint(1, n_users), "body": as_markdown(a_paras),
                               "body_html": as_html(a_paras), "revision": 1, "ups": ups, "downs": downs,
                               "score": ups - downs, "wilson": wilson_lower_bound(ups, downs),
                               "created_at": a_created, "comment_count": 0, "vetted_current": vetted,
                               "vetted_at": a_created + timedelta(days=1) if vetted else None,
                               "vetted_revision": 1 if vetted else None, "hidden_reason": ""}  # fmt: skip
                        revision_id += 1
                        answer_revs.append({"id": revision_id, "answer_id": answer_id, "number": 1,
                                            "body": row["body"], "editor_id": row["author_id"],
                                            "created_at": a_created})  # fmt: skip
                        if vetted:
                            vetter = rng.choice(clinicians)
                            vettings.append({"answer_id": answer_id, "post_id": pid, "community_id": community.id,
                                             "action": "vet", "by_id": vetter, "revision_id": revision_id,
                                             "revision_number": 1, "note": "Consistent with the guideline.",
                                             "evidence": [{"type": "doi", "value": "10.1016/j.crohns.2014.04.005",
                                                           "url": "https://doi.org/10.1016/j.crohns.2014.04.005"}],
                                             "created_at": row["vetted_at"]})  # fmt: skip
                            vetted_at = max(vetted_at or row["vetted_at"], row["vetted_at"])
                        if pid == big:
                            for v in range(ups):
                                voter = 1 + (17 * k + v) % n_users
                                votes.append({"answer_id": answer_id, "post_id": pid, "user_id": voter,
                                              "value": 1, "created_at": a_created})  # fmt: skip
                            if k % 5 == 0:
                                row["comment_count"] = 2
                                comments += [{"post_id": pid, "answer_id": answer_id, "community_id": community.id,
                                              "author_id": rng.randint(1, n_users), "body": sentence(rng, 12),
                                              "body_html": f"<p>{sentence(rng, 12)}</p>", "created_at": a_created,
                                              "hidden_reason": ""} for _ in range(2)]  # fmt: skip
                        answer_rows.append(row)
                        answer_texts.append(" ".join(a_paras))
                    posts_rows.append({
                        "id": pid, "community_id": community.id, "author_id": author, "kind": kind, "title": title,
                        "body": body, "body_html": body_html, "details": {"body": body} if kind == "question" else {},
                        "tags": " ".join(tags), "revision": 1, "score": rng.randint(0, 20), "answer_count": n,
                        "comment_count": 0, "interest_count": 0, "vetted_at": vetted_at, "created_at": created,
                        "idea_status": "proposed" if kind == "idea" else None, "hidden_reason": "",
                        "deadline": (created + timedelta(days=60)).date() if kind == "call" else None,
                    })  # fmt: skip
                    tag_rows += [{"post_id": pid, "name": t, "community_id": community.id} for t in tags]
                    post_revs.append({"post_id": pid, "number": 1, "title": title, "body": body,
                                      "tags": " ".join(tags), "editor_id": author, "created_at": created})  # fmt: skip
                    facets = [f"zc{community.id}", f"zk{kind}", "zpub", *("zt" + t.encode().hex() for t in tags)]
                    if vetted_at:
                        facets.append("zvetted")
                    if kind == "question" and n == 0:
                        facets.append("zunanswered")
                    docs.append({"post_id": pid, "community_id": community.id, "kind": kind, "created_at": created,
                                 "title": title, "body": "\n".join([" ".join(paras), *answer_texts]),
                                 "facets": " ".join(facets)})  # fmt: skip
                db.session.execute(insert(Post), posts_rows)
                db.session.execute(insert(PostTag), tag_rows)
                db.session.execute(insert(PostRevision), post_revs)
                if answer_rows:
                    db.session.execute(insert(Answer), answer_rows)
                    db.session.execute(insert(AnswerRevision), answer_revs)
                if votes:
                    db.session.execute(insert(AnswerVote), votes)
                if vettings:
                    db.session.execute(insert(Vetting), vettings)
                if comments:
                    db.session.execute(insert(Comment), comments)
                db.session.execute(insert(SearchDocument), docs)
        click.echo("Building the full-text index …")
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        from lhn.search.models import SQLITE_DDL

        for statement in SQLITE_DDL[1:]:
            conn.exec_driver_sql(statement)
        db.session.commit()
        conn = db.engine.connect()
        conn.exec_driver_sql("PRAGMA optimize")
        conn.exec_driver_sql("ANALYZE")
        conn.close()
    elapsed = time.monotonic() - started
    click.echo(f"Done in {elapsed:.0f} s: {db_path} ({db_path.stat().st_size / 1e6:.0f} MB)")
    click.echo(f"  community page:  /c/bench/posts\n  question (30 answers): /c/bench/q/{big}\n"
               "  search:          /c/bench/search?q=calprotectin")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "results" / "posts.sqlite3")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=300_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    build(args.db.resolve(), args.posts, args.answers, args.users, args.seed)


if __name__ == "__main__":
    main()
