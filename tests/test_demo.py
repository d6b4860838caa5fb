"""The demo data: its people are established members, held to the ordinary limits, not a new account's; its texts
read as written."""

import re

from sqlalchemy import select

from lhn import demo, limits
from lhn.accounts import services as accounts
from lhn.database import transaction
from lhn.extensions import db


def test_demo_people_are_established_members_not_new_accounts(make_app):
    app = make_app(CHAT_RATE_LIMIT="")  # the tests' one chat limit for everybody would hide the table's row
    with app.app_context():
        for _ in range(2):  # seeding again changes nothing
            for _name, step in demo.STEPS:
                with transaction():
                    step()
        for spec in demo.USERS:
            person = accounts.get_user(spec.username)
            assert not limits.is_new_account_now(person), spec.username
            assert limits.limit_for("chat", person) == limits.RATE_LIMITS["chat"]  # 30 messages a minute, not 10
            assert limits.limit_for("post", person) == limits.RATE_LIMITS["post"]


def test_no_demo_text_breaks_a_sentence_mid_line(app):
    # Markdown here keeps a writer's line breaks (<br>): a source line wrapped inside a sentence shows broken.
    with app.app_context():
        for _name, step in demo.STEPS:
            with transaction():
                step()
        broken = []
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not column.name.endswith("_html"):
                    continue
                for html in db.session.scalars(select(column).where(column.like("%<br>%"))):
                    broken += [(table.name, column.name, m) for m in re.findall(r"\S+ \S+<br>\s*[a-z(]\S*", html)]
        assert broken == []
