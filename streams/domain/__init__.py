"""Pure routing policy of one pool: inputs in, decisions out, no I/O and no clock.

``OfferRejected`` here is the input (an agent's rejection); the decision of the same name
is exported as ``OfferRejectedDecision`` (and lives in ``streams.domain.decisions``)."""

from streams.domain.decisions import (
    AgentCandidate,
    AgentStateChanged,
    ContactAssigned,
    ContactCandidate,
    ContactQueued,
    ContactReleased,
    ContactRemoved,
    ContactRequeued,
    Decision,
    EventIgnored,
    Explanation,
    OfferExpired,
    OfferMade,
    OfferRescinded,
)
from streams.domain.decisions import OfferRejected as OfferRejectedDecision
from streams.domain.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentNotReady,
    AgentReady,
    CallbackRequested,
    ContactAbandoned,
    ContactArrived,
    ContactCompleted,
    ContactEnded,
    OfferAccepted,
    OfferRejected,
    RoutingInput,
    Tick,
)
from streams.domain.model import AgentStatus, Channel, ContactStatus, PoolConfig
from streams.domain.router import QueueStat, Router

__all__ = [
    "AgentCandidate",
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentNotReady",
    "AgentReady",
    "AgentStateChanged",
    "AgentStatus",
    "CallbackRequested",
    "Channel",
    "ContactAbandoned",
    "ContactArrived",
    "ContactAssigned",
    "ContactCandidate",
    "ContactCompleted",
    "ContactEnded",
    "ContactQueued",
    "ContactReleased",
    "ContactRemoved",
    "ContactRequeued",
    "ContactStatus",
    "Decision",
    "EventIgnored",
    "Explanation",
    "OfferAccepted",
    "OfferExpired",
    "OfferMade",
    "OfferRejected",
    "OfferRejectedDecision",
    "OfferRescinded",
    "PoolConfig",
    "QueueStat",
    "Router",
    "RoutingInput",
    "Tick",
]
