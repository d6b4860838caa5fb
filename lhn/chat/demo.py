"""Demo chat: channels in the demo communities and a short, realistic conversation. Idempotent."""

from __future__ import annotations

from lhn.accounts import services as accounts
from lhn.chat import services as chat
from lhn.communities import services as communities

CHANNELS = [
    ("pediatric-ibd", "dr_okafor", "clinicians-only", "Case questions between clinicians", ["clinician"]),
    ("pediatric-ibd", "sam_mod", "families", "Patients and families: everyday life with IBD", ["patient", "caregiver"]),
    ("type-1-diabetes", "dr_lind", "sensors-and-pumps", "CGMs, pumps and the apps around them", []),
]

# (community, channel, sender, text): the client id is derived, so seeding twice stores each once.
CONVERSATION = [
    ("pediatric-ibd", "general", "dr_okafor",
     "Welcome to the network chat! Introduce yourself if you like, and remember: **no identifying details**."),
    ("pediatric-ibd", "general", "mum_of_two",
     "Hi all! Our son was diagnosed with Crohn's last spring. Anyone else starting school after a flare?"),
    ("pediatric-ibd", "general", "ibd_teen",
     "Me! I told my teachers I need a pass for the loo. It helped more than I expected."),
    ("pediatric-ibd", "general", "sam_mod",
     "Great tip @ibd_teen. We have a school letter template in the resources; ask if you can't find it."),
    ("pediatric-ibd", "general", "nurse_priya",
     "@mum_of_two the first term back is often the hardest. Our clinic does a call with the school nurse."),
    ("pediatric-ibd", "clinicians-only", "dr_okafor",
     "Has anyone moved to proactive drug monitoring for infliximab in under-10s? Interested in trough targets."),
    ("pediatric-ibd", "clinicians-only", "dr_lind",
     "We target 5–10 µg/mL in maintenance; happy to share our protocol (no patient data)."),
    ("pediatric-ibd", "families", "mum_of_two",
     "Does anyone have lunchbox ideas for exclusive enteral nutrition weeks?"),
    ("pediatric-ibd", "families", "ibd_teen", "Honestly? Flavoured ice made from the shakes. Game changer."),
    ("type-1-diabetes", "general", "sugar_runner",
     "Anyone running a half marathon on a pump? How do you set temp basals?"),
    ("type-1-diabetes", "general", "dr_lind",
     "@sugar_runner many people start a temp basal 60–90 minutes before. Discuss numbers with your own team."),
]  # fmt: skip


def seed_chat() -> None:
    for slug, owner, name, topic, roles in CHANNELS:
        community = communities.get_community(slug)
        chat.create_general_channel(community)
        if chat.find_channel(community, name) is None:
            chat.create_channel(community, by=accounts.get_user(owner), name=name, topic=topic, roles=roles)
    for n, (slug, name, username, text) in enumerate(CONVERSATION):
        community = communities.get_community(slug)
        channel = chat.find_channel(community, name)
        if channel is not None:
            chat.post_message(channel.id, by=accounts.get_user(username), client_id=f"demo-{n}", body=text)
