"""Request and response bodies of the HTTP API (the contact itself is the core contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispo.contact import Speaker, valid_unicode
from dispo.model.predictor import Prediction
from serve.roles import Role


class ReasonScore(BaseModel):
    label: str
    probability: float


class TaskScore(BaseModel):
    label: str | None
    probability: float
    probabilities: dict[str, float]


class EvidenceTurn(BaseModel):
    turn: int = Field(description="index of the turn in the contact")
    weight: float = Field(description="share of the task's attention on this turn")


class Suggestion(BaseModel):
    """A disposition suggestion: calibrated probabilities and the turns that carry each signal."""

    suggestion_id: str
    contact_id: str
    model_version: str
    reasons: list[ReasonScore] = Field(description="top reasons, most probable first")
    outcome: TaskScore | None
    sentiment: TaskScore | None
    sentiment_start: TaskScore | None = Field(default=None, description="the sentiment of the opening turns")
    upsell_probability: float | None
    disposition_code: str | None
    evidence: dict[str, list[EvidenceTurn]]
    latency_ms: float

    @classmethod
    def from_prediction(cls, suggestion_id: str, prediction: Prediction, latency_ms: float) -> Suggestion:
        body = prediction.to_dict()
        return cls(suggestion_id=suggestion_id, latency_ms=round(latency_ms, 3), **body)


class Dispositions(BaseModel):
    dispositions: list[Suggestion]


class FeedbackIn(BaseModel):
    """What the agent finally chose. ``accepted`` means the suggested code as it was; otherwise
    give the chosen reason and outcome (the code is rendered from them)."""

    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=200)
    accepted: bool
    reason: str | None = Field(default=None, max_length=200)
    outcome: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2_000)


class FeedbackOut(BaseModel):
    decision_id: str
    suggestion_id: str
    agent_id: str
    accepted: bool
    reason: str | None
    outcome: str | None
    disposition_code: str | None
    created_at: datetime


class LiveTurnIn(BaseModel):
    """A WebSocket message from the agent desktop: a new turn, or the end of the contact."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["turn", "close"]
    speaker: Speaker | None = None
    text: str | None = None  # sized by the settings (DISPO_MAX_TURN_CHARS, ...) when the turn is added
    offset_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @field_validator("text")
    @classmethod
    def _unicode(cls, value: str | None) -> str | None:
        return value if value is None else valid_unicode(value)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200)


class KeyOut(BaseModel):
    id: str
    tenant_id: str
    role: str
    name: str
    key: str = Field(description="the secret; shown only once")


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=r"^v[0-9]+$")


class Problem(BaseModel):
    """The body of every error response."""

    error: str
    detail: str
    problems: list[dict[str, object]] = Field(default_factory=list)
