"""Zendesk tickets with their comments: one JSON file per ticket, ``{"ticket": <Ticket>,
"comments": [<Ticket Comment>...]}`` as the Ticketing API returns them (``GET /api/v2/tickets/{id}``
and ``GET /api/v2/tickets/{id}/comments``).

A comment's author is the customer when it is the ticket's ``requester_id`` or, where the export
sideloads the ticket's ``users`` (``?include=users``), any user whose ``role`` is ``end-user`` (a CC'd
customer replying); an agent otherwise. Ids are compared as strings (an export may write one as a
number and the other as a string). A ticket none of whose public comments is the customer's (an agent
writing first and never answered, or ids that do not match) is kept, with a warning and
``customer_comments: 0`` in metadata. Private (internal) notes are agents' notes to each other, not
part of the conversation, and are kept out of the turns (counted in metadata), as are public comments
that hold only attachments (``skipped_items``). The ticket's ``id`` names the contact
(``zendesk-<id>``); a ticket without one is a rejection. The ticket's channel comes from
``via.channel``; its tags, custom fields, group and assignee are metadata; a tag or field is the
agent's code only through the code map (``wrapup_field`` names which custom field holds it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, load_object_holding

CHANNELS = {"email": "email", "web": "email", "api": "email", "chat": "chat", "native_messaging": "chat",
            "voice": "voice", "sms": "sms", "twitter": "social", "facebook": "social", "whatsapp": "chat",
            "mobile_sdk": "mobile_app", "mobile": "mobile_app"}  # fmt: skip

logger = logging.getLogger(__name__)


def read_zendesk(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object_holding(path, "ticket", dict, "a Zendesk ticket object")
    if problems:
        yield 0, doc, None, problems
        return
    ticket: dict[str, Any] = doc["ticket"]
    comments = doc.get("comments")
    if not isinstance(comments, list) or not comments:
        yield 0, doc, None, [FieldProblem("comments", "the ticket's comments", type(comments).__name__)]
        return
    requester = ticket.get("requester_id")
    if requester is None:
        yield 0, doc, None, [FieldProblem("ticket.requester_id", "the customer's user id", None)]
        return
    ticket_id = ticket.get("id")
    if not isinstance(ticket_id, int | str) or isinstance(ticket_id, bool) or ticket_id == "":
        yield 0, doc, None, [FieldProblem("ticket.id", "the ticket's id", ticket_id)]
        return
    customers = {str(requester)} | _end_users(doc.get("users"), problems)
    turns: list[dict[str, Any]] = []
    private = skipped = 0
    for i, comment in enumerate(comments):
        if not isinstance(comment, dict):
            problems.append(FieldProblem(f"comments[{i}]", "a comment object", type(comment).__name__))
            continue
        if comment.get("public") is False:
            private += 1
            continue
        text = comment.get("plain_body") or comment.get("body")
        if isinstance(text, str) and not text.strip() and comment.get("attachments"):  # a file, no words
            skipped += 1
            continue
        if not isinstance(text, str) or not text.strip():
            problems.append(FieldProblem(f"comments[{i}].body", "the comment's text", text))
            continue
        turns.append({"speaker": "customer" if str(comment.get("author_id")) in customers else "agent", "text": text})
    if not turns and not problems:
        problems.append(
            FieldProblem("comments", "a public comment with text", f"{private} private, {skipped} attachment-only")
        )
    if problems:
        yield 0, doc, None, problems
        return
    customer_comments = sum(turn["speaker"] == "customer" for turn in turns)
    if not customer_comments:
        logger.warning("%s: no public comment by the customer (requester %s); every turn is the agent's", path,
                       requester)  # fmt: skip
    via: dict[str, Any] = ticket["via"] if isinstance(ticket.get("via"), dict) else {}
    raw: dict[str, Any] = {
        "contact_id": f"zendesk-{ticket_id}",
        "customer_id": str(requester),
        "channel": CHANNELS.get(str(via.get("channel", "email")), "email"),
        "turns": turns,
    }
    if ticket.get("assignee_id") is not None:
        raw["agent_id"] = str(ticket["assignee_id"])
    if ticket.get("group_id") is not None:
        raw["queue"] = str(ticket["group_id"])
    for when, key in (("created_at", "started_at"), ("updated_at", "ended_at")):
        if isinstance(ticket.get(when), str):
            raw[key] = ticket[when]
    kept = ("id", "tags", "custom_fields", "status", "priority", "satisfaction_rating")
    platform: dict[str, Any] = {k: ticket[k] for k in kept if k in ticket}
    platform["private_notes"] = private
    platform["customer_comments"] = customer_comments
    if skipped:
        platform["skipped_items"] = skipped
    raw["metadata"] = {"platform": platform}
    field = f"ticket.custom_fields[id={doc.get('wrapup_field')}]"
    problems = codes.apply(raw, _wrapup(ticket, doc.get("wrapup_field")), field) if codes is not None else []
    yield 0, doc, None if problems else raw, problems


def _end_users(users: Any, problems: list[FieldProblem]) -> set[str]:
    """The ids (as strings) of the sideloaded users whose role is ``end-user``: customers."""
    if users is None:
        return set()
    if not isinstance(users, list):
        problems.append(FieldProblem("users", "the sideloaded users (a list)", type(users).__name__))
        return set()
    return {
        str(u.get("id"))
        for u in users
        if isinstance(u, dict) and u.get("role") == "end-user" and u.get("id") is not None
    }


def _wrapup(ticket: dict[str, Any], field_id: Any) -> str | None:
    """The disposition the agent set: the custom field ``field_id`` (when the export names one)."""
    for field in ticket.get("custom_fields") or []:
        if isinstance(field, dict) and field_id is not None and field.get("id") == field_id:
            value = field.get("value")
            return str(value) if value is not None else None
    return None
