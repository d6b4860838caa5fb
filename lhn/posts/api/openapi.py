"""The OpenAPI description of the posts API (the routes of this package): its paths and schemas."""

from __future__ import annotations

from lhn.api.openapi import (
    BOOLEAN,
    COUNT,
    CURSOR,
    DATE,
    ID,
    TEXT,
    TEXTS,
    body_schema,
    choice_param,
    nullable,
    op,
    page_of,
    path_param,
    query_param,
    ref,
)
from lhn.posts import services as posts
from lhn.posts.models import IdeaStatus, PostKind

POST_ID = path_param("post_id", "integer")
ANSWER = path_param("answer_id", "integer")
SLUG = path_param("slug")
LIST_PARAMS = [
    choice_param("kind", "One kind of post", [k.value for k in PostKind]),
    query_param("tag", "One tag"),
    choice_param("view", "latest (default), unanswered or top", posts.VIEWS),
    choice_param("period", "For view=top: week (default), month or all", posts.PERIODS),
    CURSOR,
]
PHI_NOTE = (
    "The PHI guard: text that may hold a full name, email, phone or fax number, a date of birth, admission, "
    "discharge or death, a record, plan, account, licence or device number, an address or postcode, or a personal "
    "link or IP address is refused with 422 phi_confirmation_required until sent again with confirm_phi: true "
    "(the confirmation is recorded, never the text)"
)
WRITE_NOTE = (
    ". New accounts (first days) have lower per-user rate limits (429) and at most two links; a muted "
    "member gets 403; a thread in slow mode answers 422 with the seconds to wait"
)
CONFIRM_PHI = {**BOOLEAN, "description": PHI_NOTE}
TEXT_BODY = body_schema({"body": TEXT}, {"confirm_phi": CONFIRM_PHI})
POST_FIELDS = {
    "title": {"type": "string", "minLength": 10, "maxLength": 150},
    "body": {**TEXT, "description": "A question's details (the same as sections.body)"},
    "sections": {"type": "object", "additionalProperties": nullable(TEXT), "maxProperties": 50,
                 "description": "idea: problem, proposal, affected; experience: setting, what_done, "
                 "what_happened, lessons; call: summary, sites, commitment, ethics"},
    "tags": {"oneOf": [{**TEXTS, "maxItems": 100}, TEXT], "description": "A list, or one string of tags"},
    "roles": {"type": "array", "items": {"enum": list(posts.CALL_ROLE_LABELS)}, "maxItems": 100},
    "other_roles": TEXT,
    "deadline": DATE,
    "linked_idea_id": {**ID, "description": "An idea of the same community (experiences); null for none"},
    "confirm_phi": CONFIRM_PHI,
}  # fmt: skip
NEW_POST_BODY = body_schema({"kind": {"enum": [k.value for k in PostKind]}, "title": POST_FIELDS["title"]},
                            {k: v for k, v in POST_FIELDS.items() if k != "title"})  # fmt: skip
EDIT_POST_BODY = body_schema(
    optional=POST_FIELDS, description="Fields not sent (or null) keep their value; a null linked_idea_id unlinks"
)


EVIDENCE = {**TEXTS, "maxItems": 5, "description": "DOIs, PMIDs or https addresses"}
HIDE_BODY = body_schema({"reason": {**TEXT, "description": "Readers see it"}})
RESTORE_BODY = body_schema(optional={"reason": {**TEXT, "description": "For the moderation log"}})


def vote(values: list[int]) -> dict[str, object]:
    return body_schema({"value": {"type": "integer", "enum": values}})


OPENAPI_SCHEMAS = {
    "PostSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string"}, "community": {"type": "string"},
            "title": {"type": "string"}, "url": {"type": "string"}, "author": ref("Person"),
            "tags": {"type": "array", "items": {"type": "string"}}, "score": {"type": "integer"},
            "answer_count": {"type": "integer"}, "comment_count": {"type": "integer"},
            "vetted_at": {"type": ["string", "null"]}, "idea_status": {"type": ["string", "null"]},
            "title_html": {"type": "string", "description": "Search results only: the title with <mark>s"},
            "snippet_html": {"type": "string", "description": "Search results only: escaped text with <mark>s"},
        },
    },
    "Post": {
        "allOf": [ref("PostSummary"), {"type": "object", "properties": {
            "body": {"type": ["string", "null"]}, "body_html": {"type": ["string", "null"]},
            "moderation": {"type": ["object", "null"], "description": "hidden (with reason) or withdrawn"},
            "answers": {"type": "array", "items": ref("Answer")}, "comments": {"type": "array"},
            "timeline": {"type": "array"}, "interests": {"type": "array"},
        }}],
    },
    "Answer": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "author": ref("Person"), "body_html": {"type": ["string", "null"]},
            "score": {"type": "integer"}, "accepted": {"type": "boolean"}, "vetted": {"type": "boolean"},
            "changed_since_vetting": {"type": "boolean"}, "vetting": {"oneOf": [ref("Vetting"), {"type": "null"}]},
            "revision": {"type": "integer"},
        },
    },
    "Vetting": {
        "type": "object",
        "properties": {
            "action": {"enum": ["vet", "unvet"]}, "by": ref("Person"), "at": {"type": "string"},
            "revision": {"type": "integer"}, "note": {"type": "string", "description": "vet: note; unvet: reason"},
            "evidence": {"type": "array", "items": {"type": "object", "properties": {
                "type": {"enum": ["doi", "pmid", "url"]}, "value": {"type": "string"}, "url": {"type": "string"}}}},
            "review_by": {"type": ["string", "null"], "format": "date"},
            "review_due": {"type": "boolean", "description": "the review-by date has come (or a re-review was asked)"},
            "standing": {"enum": ["clinician", "researcher", "moderator"]},
        },
    },
    "Interest": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "person": ref("Person"), "message": {"type": "string"},
                       "status": {"enum": ["pending", "accepted", "declined", "withdrawn"]}},
    },
}  # fmt: skip
OPENAPI_PATHS = {
    "/communities/{slug}/posts": {
        "post": op("Write a question, idea, experience or call (members)" + WRITE_NOTE, status="201",
                   response=ref("Post"), params=[SLUG], body=NEW_POST_BODY),
    },
    "/communities/{slug}/vetted": {
        "get": op("The knowledge base: questions with a currently vetted answer, most recently vetted first",
                  auth=False, response=page_of(ref("PostSummary")), errors=("403", "404", "422"),
                  params=[SLUG, query_param("tag", "One tag"), CURSOR]),
    },
    "/me/feed": {"get": op("Posts across my communities", response=page_of(ref("PostSummary")),
                           errors=("401", "422"), params=LIST_PARAMS)},
    "/me/vetted": {"get": op("Vetted answers across my communities", response=page_of(ref("PostSummary")),
                             errors=("401", "422"), params=[query_param("tag", "One tag"), CURSOR])},
    "/posts/{post_id}": {
        "get": op("A post with its answers (vetted first), comments, timeline or interest", auth=False,
                  response=ref("Post"), params=[POST_ID], errors=("404",)),
        "patch": op("Edit my post (a new revision); fields not sent keep their value", response=ref("Post"),
                    params=[POST_ID], body=EDIT_POST_BODY),
        "delete": op("Withdraw my post", status="204", params=[POST_ID], errors=("401", "403", "404")),
    },
    "/posts/{post_id}/revisions": {
        "get": op("Every version of a post, newest first, with word diffs", auth=False, params=[POST_ID],
                  errors=("404",)),
    },
    "/posts/{post_id}/vote": {
        "post": op("Vote for a question or idea: {\"value\": 1}, or 0 to take it back", params=[POST_ID],
                   body=vote([0, 1])),
    },
    "/posts/{post_id}/answers": {
        "post": op("Answer a question (members)" + WRITE_NOTE, status="201", response=ref("Answer"), params=[POST_ID],
                   body=TEXT_BODY),
    },
    "/posts/{post_id}/slow-mode": {
        "put": op("Slow mode for a post's thread (moderators): one answer or comment per person per `seconds`; "
                  "0 turns it off", params=[POST_ID], body=body_schema({"seconds": COUNT}),
                  response={"type": "object", "properties": {"post_id": {"type": "integer"},
                                                             "seconds": {"type": "integer"}}}),
    },
    "/posts/{post_id}/comments": {
        "post": op("Comment on a post (on a question: ask the asker to clarify), or on one of a question's answers "
                   "(answer_id)" + WRITE_NOTE, status="201", params=[POST_ID],
                   body=body_schema({"body": TEXT}, {"answer_id": ID, "confirm_phi": CONFIRM_PHI})),
    },
    "/comments/{comment_id}": {
        "delete": op("Withdraw my comment", status="204", params=[path_param("comment_id", "integer")],
                     errors=("401", "403", "404")),
    },
    "/posts/{post_id}/status": {
        "post": op("Move an idea to another status, with a reason (moderators)", status="201", params=[POST_ID],
                   body=body_schema({"status": {"enum": [s.value for s in IdeaStatus]}, "reason": TEXT}),
                   errors=("401", "403", "404", "409", "422")),
    },
    "/posts/{post_id}/interest": {
        "get": op("Interest in a call: everyone's for its author and moderators, my own for others", auth=False,
                  response={"type": "object", "properties": {"items": {"type": "array", "items": ref("Interest")}}},
                  params=[POST_ID], errors=("404",)),
        "post": op("Say I'm interested in a call, with a short message", status="201", response=ref("Interest"),
                   params=[POST_ID], body=body_schema({"message": TEXT}),
                   errors=("401", "403", "404", "409", "422")),
        "delete": op("Withdraw my interest", response=ref("Interest"), params=[POST_ID], errors=("401", "404", "409")),
    },
    "/interests/{interest_id}": {
        "post": op("Accept or decline an interested member (the call's author): {\"decision\": \"accept\"|\"decline\"}",
                   response=ref("Interest"), params=[path_param("interest_id", "integer")],
                   body=body_schema({"decision": {"enum": ["accept", "decline"]}}),
                   errors=("401", "404", "409", "422")),
    },
    "/answers/{answer_id}": {
        "patch": op("Edit my answer (a new revision; a vetted answer then shows changed_since_vetting)",
                    response=ref("Answer"), params=[ANSWER], body=TEXT_BODY),
        "delete": op("Withdraw my answer", status="204", params=[ANSWER], errors=("401", "403", "404")),
    },
    "/answers/{answer_id}/revisions": {
        "get": op("Every version of an answer, newest first, with word diffs", auth=False, params=[ANSWER],
                  errors=("404",)),
    },
    "/answers/{answer_id}/vote": {
        "post": op("Vote on an answer: {\"value\": 1 | -1 | 0}", params=[ANSWER], body=vote([-1, 0, 1])),
    },
    "/answers/{answer_id}/accept": {
        "post": op("Accept this answer to my question", params=[ANSWER], errors=("401", "403", "404", "409")),
        "delete": op("Take back my acceptance", params=[ANSWER], errors=("401", "403", "404", "409")),
    },
    "/answers/{answer_id}/vet": {
        "post": op("Vet an answer's current revision (verified clinician and researcher members; moderators where "
                   "the community lets them)", status="201",
                   response=ref("Vetting"), params=[ANSWER], errors=("401", "403", "404", "409", "422"),
                   body=body_schema({"note": {**TEXT, "maxLength": 500}, "evidence": EVIDENCE}, {"review_by": DATE})),
        "delete": op("Unvet an answer, with a reason (JSON body or ?reason=)", response=ref("Vetting"),
                     params=[ANSWER, query_param("reason", "Why the mark is removed (without a body)")],
                     body=body_schema({"reason": TEXT}), body_required=False,
                     errors=("401", "403", "404", "409", "422")),
    },
    "/answers/{answer_id}/rereview": {
        "post": op("Ask the vetter to review a vetted answer again now, with a reason (moderators and vetters)",
                   response=ref("Vetting"), params=[ANSWER], body=body_schema({"reason": TEXT}),
                   errors=("401", "403", "404", "409", "422")),
    },
    "/answers/{answer_id}/vettings": {
        "get": op("The append-only vetting history of an answer", auth=False, params=[ANSWER], errors=("404",),
                  response={"type": "object", "properties": {"items": {"type": "array", "items": ref("Vetting")}}}),
    },
    **{
        f"/{collection}/{{item_id}}/{action}": {
            "post": op(f"{action.capitalize()} a {collection[:-1]} (community moderators)"
                       + (", with the reason readers see" if action == "hide" else ""),
                       params=[path_param("item_id", "integer")],
                       body=HIDE_BODY if action == "hide" else RESTORE_BODY,
                       errors=("401", "403", "404", "409", "422")),
        }
        for collection in ("posts", "answers", "comments") for action in ("hide", "restore")
    },
}  # fmt: skip
