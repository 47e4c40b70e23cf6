"""What every gateway handler needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from services.conversations import ConversationStore
from services.customers import CustomerDirectory
from services.edge.outbox import EdgeOutbox
from services.gateway.chat_hub import ChatHub
from services.gateway.chat_sessions import ChatSessions
from services.publisher import Publisher
from services.twilio_client import SignatureCheck
from streams.platform.settings import GatewaySettings

MAX_IVR_CHOICES = 4  # including 0 for a person


@dataclass
class GatewayContext:
    settings: GatewaySettings
    publisher: Publisher
    customers: CustomerDirectory
    conversations: ConversationStore
    signatures: SignatureCheck
    chat: ChatHub
    outbox: EdgeOutbox
    chat_sessions: ChatSessions

    def __post_init__(self) -> None:
        choices = self.settings.ivr_choices
        if len(choices) > MAX_IVR_CHOICES - 1 or "0" in choices:
            raise ValueError(
                f"ivr_choices: at most {MAX_IVR_CHOICES - 1} choices besides 0 (a person)"
            )
        if not all(len(key) == 1 and key.isdigit() for key in choices):
            raise ValueError("ivr_choices: keys are single digits")

    @property
    def pool_id(self) -> str:
        return self.settings.gateway_pool_id

    def pool_for(self, customer_class: str | None) -> str:
        """The routing pool of a contact of ``customer_class``."""
        pools = self.settings.gateway_class_pools
        return pools.get(customer_class or "", self.settings.gateway_pool_id)


CONTEXT: web.AppKey[GatewayContext] = web.AppKey("gateway_context", GatewayContext)
