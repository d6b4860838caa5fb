"""Chat pages: reading and posting without JavaScript, the unread marker, members only, adding channels,
hiding, the presence opt-out in the profile, and a constant query count."""

import re

from lhn.accounts import services as accounts
from lhn.chat import services as chat
from lhn.chat.models import GENERAL
from lhn.communities import services as communities
from tests import factories
from tests.conftest import committed, login


def setup(app):
    with committed(app):
        doc = factories.user("clinician", username="doc", verified=True, institution=None)
        community = factories.community(doc, slug="ibd", name="Pediatric IBD")
        teen = factories.member(community, factories.user("patient", username="teen")).user
        factories.member(community, factories.user("caregiver", username="mum"))
        factories.member(community, factories.user("caregiver", username="mod"), role="moderator")
        factories.user("patient", username="intruder")
        general = chat.find_channel(community, GENERAL)
        factories.chat_message(general.id, teen, "Hello **everyone**")
        return general.id


def test_members_read_and_post_without_javascript(app, client):
    setup(app)
    login(client, "mum")
    page = client.get("/c/ibd/chat", follow_redirects=True)
    assert page.status_code == 200
    assert "<strong>everyone</strong>" in page.text
    assert 'class="badge badge-role badge-patient">Patient<' in page.text
    assert 'data-channel-id="' in page.text
    assert "js/chat.js" in page.text
    assert "js/live.js" in page.text
    client_id = re.search(r'name="client_id" type="hidden" value="(\w+)"', page.text).group(1)
    for _ in range(2):  # the browser resends the form: stored once
        posted = client.post("/c/ibd/chat/general", data={"client_id": client_id, "body": "Hi from *mum*"})
        assert posted.status_code == 302
    page = client.get("/c/ibd/chat/general").text
    assert page.count("Hi from <em>mum</em>") == 1
    too_long = client.post("/c/ibd/chat/general", data={"client_id": "zz", "body": "x" * 4001})
    assert "Field cannot be longer than 4000 characters." in too_long.text or "limited to 4000" in too_long.text


def test_chat_is_for_members(app, client):
    setup(app)
    assert client.get("/c/ibd/chat/general").status_code == 302  # log in first
    login(client, "intruder")
    assert client.get("/c/ibd/chat").status_code == 403
    page = client.get("/c/ibd/chat/general")
    assert page.status_code == 403
    assert "everyone" not in page.text
    assert client.post("/c/ibd/chat/general", data={"client_id": "a", "body": "hi"}).status_code == 403


def test_unread_marker_sits_above_the_first_unread_message_and_opening_reads(app, client):
    general_id = setup(app)
    login(client, "mum")
    client.get("/c/ibd/chat/general")  # read up to now
    with committed(app):
        factories.chat_message(general_id, accounts.get_user("teen"), "Are you there?")
    page = client.get("/c/ibd/chat/general").text
    assert page.index('id="unread-marker"') < page.index("Are you there?")
    assert page.index("Hello <strong>everyone</strong>") < page.index('id="unread-marker"')
    assert 'id="unread-marker"' not in client.get("/c/ibd/chat/general").text


def test_moderators_add_channels_limited_to_roles(app, client):
    setup(app)
    login(client, "teen")
    assert client.get("/c/ibd/channels/new").status_code == 403
    login(client, "mod")
    form = client.get("/c/ibd/channels/new").text
    assert 'value="clinician"' in form
    bad = client.post("/c/ibd/channels/new", data={"name": "Bad Name", "topic": ""})
    assert "Use 1–40 lowercase letters" in bad.text
    data = {"name": "families", "topic": "Everyday life", "roles": ["patient", "caregiver"]}
    made = client.post("/c/ibd/channels/new", data=data, follow_redirects=True)
    assert "#families is ready." in made.text
    assert "Patients and caregivers (and the community&#39;s moderators)" in made.text
    assert "A patient space: only the number of people online is shown." in made.text


def test_hide_and_unhide_through_forms_and_what_readers_see(app, client):
    setup(app)
    with app.app_context():
        message_id = chat.list_messages(chat.find_channel(communities.get_community("ibd"), GENERAL)).items[0].id
    login(client, "mod")
    client.post(f"/chat/messages/{message_id}/hide", data={"reason": ""})
    assert "Hidden by a moderator" not in client.get("/c/ibd/chat/general").text
    client.post(f"/chat/messages/{message_id}/hide", data={"reason": "Check your facts"})
    mod_page = client.get("/c/ibd/chat/general").text
    assert "Hidden by a moderator: Check your facts" in mod_page
    assert "everyone" in mod_page
    reader = app.test_client()
    login(reader, "mum")
    page = reader.get("/c/ibd/chat/general").text
    assert "Hidden by a moderator: Check your facts" in page
    assert "<strong>everyone</strong>" not in page
    author = app.test_client()
    login(author, "teen")
    assert "<strong>everyone</strong>" in author.get("/c/ibd/chat/general").text
    client.post(f"/chat/messages/{message_id}/unhide")
    assert "Hidden by a moderator" not in reader.get("/c/ibd/chat/general").text
    author.post(f"/chat/messages/{message_id}/delete")
    assert "This message was deleted by its author." in reader.get("/c/ibd/chat/general").text


def test_profile_presence_opt_out(app, client):
    setup(app)
    login(client, "mum")
    form = client.get("/settings/profile").text
    assert re.search(r'<input [^>]*checked id="show_presence"', form)
    client.post("/settings/profile", data={"display_name": "caregiver mum", "role": "caregiver", "bio": "",
                                           "institution": ""})  # fmt: skip
    me = client.get("/api/v1/me").get_json()
    assert me["show_presence"] is False
    client.patch("/api/v1/me", json={"show_presence": True}, headers={"X-CSRFToken": "unused"})
    assert client.get("/api/v1/me").get_json()["show_presence"] is True


def test_channel_page_query_count_does_not_grow_with_messages(app, client, count_queries):
    general_id = setup(app)
    login(client, "mum")
    client.get("/c/ibd/chat/general")
    with count_queries() as few:
        client.get("/c/ibd/chat/general")
    with committed(app):
        for n, name in enumerate(["teen", "doc", "mod"] * 10):
            factories.chat_message(general_id, accounts.get_user(name), f"message {n}")
    with count_queries() as many:
        client.get("/c/ibd/chat/general")
    # 20: moving the read position is a write transaction of its own, which ends the page's read snapshot, so
    # the reader and the channel load again from the new one (lhn.database.transaction).
    assert len(many) == len(few) <= 20


def test_the_chat_form_over_the_rate_limit_or_in_slow_mode_keeps_the_text_and_says_the_wait(make_app):
    from tests.forms import submit

    app = make_app(CHAT_RATE_LIMIT="1 per minute")
    setup(app)
    client = app.test_client()
    login(client, "mum")
    assert submit(client, "/c/ibd/chat/general", "Send", body="First message").status_code == 302
    refused = submit(client, "/c/ibd/chat/general", "Send", body="Second, too soon")
    assert refused.status_code == 429
    assert "Second, too soon" in refused.text
    wait = int(refused.headers["Retry-After"])
    assert 0 < wait <= 60
    assert re.search(rf"Try again in ({wait} seconds?|1 minute)\.", refused.text)
    # Slow mode (no rate limit here): the header says the seconds the message says.
    app = make_app()
    with committed(app):
        general = chat.find_channel(communities.get_community("ibd"), GENERAL)
        chat.set_channel_slow_mode(general.id, 120, by=accounts.get_user("mod"))
        factories.member(communities.get_community("ibd"), factories.user("patient", username="kid"))
    client = app.test_client()
    login(client, "kid")
    assert submit(client, "/c/ibd/chat/general", "Send", body="One").status_code == 302
    refused = submit(client, "/c/ibd/chat/general", "Send", body="Two, in slow mode")
    assert "Two, in slow mode" in refused.text
    assert f"please wait {refused.headers['Retry-After']} seconds" in refused.text
