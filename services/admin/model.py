"""The admin API's typed records: what a request carries and an answer returns (the OpenAPI
document is generated from these), and the pure rules that apply a change to a profile."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.contacts import Channel
from schemas.control import OpeningHours, ServiceLevel

AgentId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]
PoolId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
SkillName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$")]
Proficiency = Annotated[int, Field(ge=1, le=10)]
Capacity = Annotated[int, Field(ge=0, le=50)]
Reason = Annotated[str, Field(max_length=200)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Role(StrEnum):
    """What a signed-in person may do: an agent works contacts; a supervisor also watches and
    acts on the pools they supervise; an admin also changes agents, tokens and pools."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return (Role.AGENT, Role.SUPERVISOR, Role.ADMIN).index(self)


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentProfile(_Body):
    """An agent (or a supervisor, or an admin: everyone who signs in) as the admin API
    shows it; the token itself is never shown again after it was issued."""

    agent_id: AgentId
    pool_id: PoolId
    name: str | None = Field(default=None, max_length=200)
    role: Role = Role.AGENT
    enabled: bool = True
    language: str | None = Field(default=None, max_length=20)
    skills: dict[SkillName, Proficiency] = Field(default_factory=dict)
    capacity: dict[Channel, Capacity] = Field(
        default_factory=dict, description="per channel; a channel left out: the pool's default"
    )
    supervised_pools: list[PoolId] = Field(default_factory=list)
    has_token: bool = False


class NewAgent(_Body):
    agent_id: AgentId
    pool_id: PoolId
    name: str | None = Field(default=None, max_length=200)
    role: Role = Role.AGENT
    language: str | None = Field(default=None, max_length=20)
    skills: dict[SkillName, Proficiency] = Field(default_factory=dict)
    capacity: dict[Channel, Capacity] = Field(default_factory=dict)
    supervised_pools: list[PoolId] = Field(default_factory=list)
    reason: Reason = ""

    def profile(self) -> AgentProfile:
        return AgentProfile(**self.model_dump(exclude={"reason"}))


class AgentChanges(_Body):
    """A partial change: the fields given replace the agent's (skills and capacity whole)."""

    name: str | None = Field(default=None, max_length=200)
    pool_id: PoolId | None = None
    role: Role | None = None
    enabled: bool | None = None
    language: str | None = Field(default=None, max_length=20)
    skills: dict[SkillName, Proficiency] | None = None
    capacity: dict[Channel, Capacity] | None = None
    supervised_pools: list[PoolId] | None = None
    reason: Reason = ""

    def applied_to(self, profile: AgentProfile) -> AgentProfile:
        given = self.model_dump(exclude={"reason"}, exclude_unset=True)
        return profile.model_copy(update={k: v for k, v in given.items() if v is not None})


class AgentList(_Body):
    agents: list[AgentProfile]


class IssuedToken(_Body):
    """The new token, shown this once (only its SHA-256 is stored); the old one stops working."""

    agent_id: AgentId
    token: str


class ReasonBody(_Body):
    reason: Reason = ""


class PoolPolicySpec(_Body):
    """A pool's policy; a field left null keeps the workers' default (``CC_CLASS_WEIGHTS``,
    ``CC_AGING_PER_SECOND``)."""

    class_weights: (
        dict[Annotated[str, StringConstraints(min_length=1, max_length=50)], float] | None
    ) = Field(default=None, min_length=1)
    aging_per_second: float | None = Field(default=None, ge=0, le=1000)
    service_levels: list[ServiceLevel] = Field(default_factory=list)
    business_hours: list[OpeningHours] = Field(default_factory=list)
    time_zone: str = Field(default="UTC", min_length=1, max_length=64)


class PoolPolicyChange(PoolPolicySpec):
    reason: Reason = ""

    def spec(self) -> PoolPolicySpec:
        return PoolPolicySpec(**self.model_dump(exclude={"reason"}))


class PoolView(_Body):
    pool_id: PoolId
    policy: PoolPolicySpec = Field(default_factory=PoolPolicySpec)
    wrapup_codes: list[Line] = Field(default_factory=list)
    canned_replies: list[Line] = Field(default_factory=list)


class PoolList(_Body):
    pools: list[PoolView]


class WrapupCodes(_Body):
    codes: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]] = Field(
        max_length=100
    )
    reason: Reason = ""


class CannedReplies(_Body):
    replies: list[Line] = Field(max_length=200)
    reason: Reason = ""


class AuditEntry(_Body):
    """One change: who made it, when, to what, and the subject before and after."""

    audit_id: int
    at: datetime
    actor_id: str
    action: str
    subject_kind: str
    subject_id: str
    pool_id: str | None = None
    reason: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditList(_Body):
    entries: list[AuditEntry]


class Change(_Body):
    """Who changes what, and why (what the store audits with the change)."""

    actor_id: str
    action: str
    reason: str = ""


class Problem(_Body):
    """Every 4xx and 5xx answer."""

    error: str
    details: list[str] = Field(default_factory=list)
