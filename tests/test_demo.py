"""The demo data: its people are established members, held to the ordinary limits, not a new account's."""

from lhn import demo, limits
from lhn.accounts import services as accounts
from lhn.database import transaction


def test_demo_people_are_established_members_not_new_accounts(app):
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
