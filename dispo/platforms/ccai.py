"""Google Contact Center AI Insights conversations: one JSON file per Conversation resource (REST
JSON, as ``projects.locations.conversations.get`` returns it with ``view=FULL``).

Speakers come from each transcript segment's ``segmentParticipant.role`` (END_USER, HUMAN_AGENT,
AUTOMATED_AGENT, ANY_AGENT) or, for two-channel calls, from ``callMetadata`` (which channel holds
the customer and which the agent). A segment's offset is its first word's ``startOffset``. The
agent's disposition code (``qualityMetadata.agentInfo[].dispositionCode``) is the agent's code
through the code map; segment sentiment and the latest analysis are metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dispo.errors import FieldProblem
from dispo.platforms.codes import CodeMap
from dispo.platforms.connect import RawContact, check_id, load_object, spoken_turn

ROLES = {"END_USER": "customer", "HUMAN_AGENT": "agent", "AUTOMATED_AGENT": "system", "ANY_AGENT": "agent"}
MEDIUMS = {"PHONE_CALL": "voice", "CHAT": "chat"}


def _seconds(duration: Any) -> float | None:
    """A protobuf Duration in JSON (``"1.500s"``) as seconds."""
    if isinstance(duration, str) and duration.endswith("s"):
        try:
            return float(duration[:-1])
        except ValueError:
            return None
    return None


def _channel_role(by_channel: dict[int, str], tag: Any) -> str | None:
    return by_channel.get(tag) if isinstance(tag, int) else None


def read_ccai(path: Path, codes: CodeMap | None, name: str) -> Iterator[RawContact]:
    doc, problems = load_object(path, "one CCAI Insights Conversation")
    if problems:
        yield 0, doc, None, problems
        return
    transcript: dict[str, Any] = doc["transcript"] if isinstance(doc.get("transcript"), dict) else {}
    segments = transcript.get("transcriptSegments")
    if not isinstance(segments, list) or not segments:
        found = type(segments).__name__
        yield 0, doc, None, [FieldProblem("transcript.transcriptSegments", "a non-empty list", found)]
        return
    call = doc["callMetadata"] if isinstance(doc.get("callMetadata"), dict) else {}
    by_channel: dict[int, str] = {}
    for key, role in (("customerChannel", "customer"), ("agentChannel", "agent")):
        if isinstance(call.get(key), int):
            by_channel[call[key]] = role
        elif call.get(key) is not None:
            problems.append(FieldProblem(f"callMetadata.{key}", "a channel number", call[key]))
    turns: list[dict[str, Any]] = []
    analytics: list[dict[str, Any]] = []
    for i, segment in enumerate(segments):
        if not isinstance(segment, dict):
            problems.append(FieldProblem(f"transcript.transcriptSegments[{i}]", "an object", type(segment).__name__))
            continue
        participant: dict[str, Any] = (
            segment["segmentParticipant"] if isinstance(segment.get("segmentParticipant"), dict) else {}
        )
        where = f"transcript.transcriptSegments[{i}]"
        turn = spoken_turn(
            ROLES.get(str(participant.get("role", ""))) or _channel_role(by_channel, segment.get("channelTag")),
            segment.get("text"), problems, text_field=f"{where}.text", what="the segment's text",
            unmapped=FieldProblem(f"{where}.segmentParticipant.role",
                                  f"one of {', '.join(ROLES)} (or callMetadata channels)", participant.get("role")),
        )  # fmt: skip
        if turn is None:
            continue
        words = segment.get("words")
        if isinstance(words, list) and words and isinstance(words[0], dict):
            offset = _seconds(words[0].get("startOffset"))
            if offset is not None:
                turn["offset_s"] = offset
        turns.append(turn)
        if "sentiment" in segment:
            analytics.append({"turn": len(turns) - 1, "sentiment": segment["sentiment"]})
    name = doc.get("name")
    check_id(name, "name", "the conversation's resource name", problems)
    if problems:
        yield 0, doc, None, problems
        return
    assert isinstance(name, str)
    channel = MEDIUMS.get(str(doc.get("medium")), "voice")
    raw: dict[str, Any] = {"contact_id": name.rsplit("/", 1)[-1], "channel": channel, "turns": turns}
    quality: dict[str, Any] = doc["qualityMetadata"] if isinstance(doc.get("qualityMetadata"), dict) else {}
    agents = quality.get("agentInfo")
    agent: dict[str, Any] = agents[0] if isinstance(agents, list) and agents and isinstance(agents[0], dict) else {}
    if doc.get("agentId") or agent.get("agentId"):
        raw["agent_id"] = str(doc.get("agentId") or agent.get("agentId"))
    if agent.get("team"):
        raw["queue"] = str(agent["team"])
    if isinstance(doc.get("startTime"), str):
        raw["started_at"] = doc["startTime"]
    platform: dict[str, Any] = {k: doc[k] for k in ("name", "duration", "turnCount", "languageCode", "labels",
                                                    "latestAnalysis") if k in doc}  # fmt: skip
    if analytics:
        platform["turns"] = analytics
    raw["metadata"] = {"platform": platform}
    code = agent.get("dispositionCode")
    problems = codes.apply(raw, code, "qualityMetadata.agentInfo[0].dispositionCode") if codes is not None else []
    yield 0, doc, None if problems else raw, problems
