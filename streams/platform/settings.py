"""The settings of each process, read once from the environment at its start.

Each process reads one frozen class (:class:`WorkerSettings`, :class:`GatewaySettings`,
:class:`DeskSettings`, :class:`NotifierSettings`) composed of the sections it shares with others;
:class:`Settings` is all of them, for whoever starts the whole stack.

Every value comes from an environment variable named ``CC_<FIELD>`` (upper case),
except ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` which keep their customary names.
Nothing else in the project reads ``os.environ``.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    """A process cannot run with these settings; the message names the variable to set."""


class _Section(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CC_", frozen=True, extra="ignore", populate_by_name=True
    )

    def with_values(self, **updates: object) -> Self:
        """A validated copy with some values replaced (the environment is not read again)."""
        return type(self).model_validate({**self.model_dump(), **updates})

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable ``field`` is read from."""
        alias = cls.model_fields[field].validation_alias
        if isinstance(alias, AliasChoices):
            return str(alias.choices[0])
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def _json_text(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# ---- sections shared by several processes ---------------------------------------------------


class PlatformSettings(_Section):
    """What every process needs: the broker, the database, names, customer classes."""

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "CC_KAFKA_BOOTSTRAP_SERVERS"),
    )
    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CC_DATABASE_URL")
    )
    topic_prefix: str = ""
    app_id: str = "contactcenter"
    # where a process keeps its local files (a worker: faust's data directory, one per app id)
    state_dir: str = ".contactcenter"
    # consumer-group timing; the defaults suit a local broker, production may raise them
    broker_session_timeout: float = 6.0
    broker_rebalance_timeout: float = 6.0
    broker_heartbeat_interval: float = 1.0
    # how long a consumer's fetch may wait for data (the local broker answers only when the
    # wait is over, so every hop can cost up to this much)
    consumer_fetch_max_wait: float = 0.05
    # how long a service waits for the broker to take a record it publishes
    gateway_publish_timeout: float = 5.0
    # the customer classes and their base routing priority (the gateway classifies arrivals
    # into them, every process exports their metric series)
    class_weights: dict[str, float] = {"vip": 100.0, "standard": 0.0}
    # priority gained per second waited: with the weights, the order of the waiting line (routing
    # serves by it; the chat page shows a customer's place in it)
    aging_per_second: float = 1.0
    default_language: str = "en"
    log_level: str = "WARNING"
    # readiness (streams/platform/readiness.py): each probe of the broker and the database is
    # a round trip that must answer within the deadline; every process probes on its own
    # this often and exports the outcome for the alerts
    readiness_deadline_seconds: float = 1.0
    dependency_probe_interval_seconds: float = 5.0
    # after a PostgreSQL outage, writers probe this often for its return instead of sleeping
    # out their backoff (streams/platform/retry.py)
    reconnect_probe_interval_seconds: float = 0.2
    # where the repository's files are browsable (alerts link their runbook under it); empty:
    # the local Prometheus links to this checkout's files
    runbook_base_url: str = ""
    # a directory Prometheus discovers scrape targets in (services/runtime/scrape_targets.py):
    # a process started with it registers its metrics port there while it runs
    prometheus_targets_dir: str = ""

    _class_weights_text = field_validator("class_weights", mode="before")(_json_text)

    def require_database_url(self) -> str:
        if self.database_url is None:
            raise ConfigurationError(f"{self.env_name('database_url')} is not set")
        return self.database_url.get_secret_value()


class RoutingSettings(_Section):
    """The routing policy's defaults for every pool, and how routing batches its inputs."""

    channel_capacity: dict[str, int] = {"voice": 1, "chat": 3, "email": 5, "sms": 5}
    exclusive_channels: list[str] = ["voice"]
    # per exclusive channel, the open contacts of other channels an agent may hold and still
    # be offered it (they wait while it is handled); chosen by simulation (README, Simulation)
    cross_channel_hold: dict[str, int] = {"voice": 1}
    offer_timeout_seconds: float = 20.0
    max_missed_offers: int = 3
    last_agent_window_seconds: float = 86400.0
    # the handle time the predicted wait assumes on a channel until a contact completes there
    # (handle_prior_seconds per channel, default_handle_seconds for a channel missing there);
    # the estimate says it is rough until the channel has a few completions
    default_handle_seconds: float = 300.0
    handle_prior_seconds: dict[str, float] = {"voice": 320, "chat": 350, "email": 290, "sms": 170}
    # per pool id ("*": every other pool), the steps that widen a waiting contact's requirement
    # over its wait: [{"after_seconds": 30, "lower_by": 3}, {"after_seconds": 90, "drop":
    # ["warranty"]}, {"after_seconds": 180, "any_agent": true}] (README, Relaxation)
    relaxation_steps: dict[str, list[dict[str, Any]]] = {
        "*": [{"after_seconds": 30, "lower_by": 3}, {"after_seconds": 180, "any_agent": True}]
    }
    # how long routing recognises an applied input by its event id, and a finished contact
    routing_input_memory_seconds: float = 3600.0
    routing_finished_memory_seconds: float = 7 * 86400.0
    routing_batch_size: int = 500
    routing_batch_within: float = 0.005
    tick_interval: float = 1.0
    # a partition stopped at an offset regression checks this often whether
    # `contactcenter routing-recover` has run
    routing_regression_recheck_seconds: float = 1.0

    _policy_text = field_validator(
        "channel_capacity",
        "exclusive_channels",
        "cross_channel_hold",
        "handle_prior_seconds",
        "relaxation_steps",
        mode="before",
    )(_json_text)


class NoticeRulesSettings(_Section):
    """When a shipment delay becomes a notice (docs/notices.md)."""

    notice_delay_threshold_hours: float = 4.0
    notice_worse_by_hours: float = 24.0
    notice_severe_delay_hours: float = 48.0
    notice_exception_delay_hours: float = 24.0
    notice_quiet_hours: str = "21:00-08:00"  # local time of the customer; "" for none
    notice_rate_limit_count: int = 3
    notice_rate_limit_window_hours: float = 24.0
    notice_vip_tiers: list[str] = ["vip"]
    # tier → {minimum delay hours: discount percent}
    notice_compensation: dict[str, dict[str, int]] = {
        "vip": {"4": 10, "24": 20, "72": 30},
        "standard": {"24": 5, "72": 10},
    }
    notice_pool_id: str = "default"


class TwilioSettings(_Section):
    """Twilio's REST API (SMS, voice) and the URL Twilio calls back (and signs)."""

    # the base URL points the SDK at a proxy or a local test server
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from_number: str = ""
    twilio_api_base_url: str | None = None
    # webhooks and status callbacks are checked against twilio_auth_token; without a token the
    # gateway and the notifier refuse to start unless this is set (local development only:
    # every request is then taken as Twilio's, signed or not)
    allow_unsigned_webhooks_for_development: bool = False
    # the public base URL is what Twilio signs, so it must be the URL Twilio calls (proxies
    # change the host)
    public_base_url: str = "http://127.0.0.1:8080"


class EmailRelaySettings(_Section):
    """Outbound e-mail (agent replies, notices) through this relay, from this mailbox."""

    smtp_relay_host: str = "127.0.0.1"
    smtp_relay_port: int = 25
    smtp_relay_username: str | None = None
    smtp_relay_password: SecretStr | None = None
    support_email: str = "support@example.com"


# ---- one class per process ------------------------------------------------------------------


class SurveySettings(_Section):
    """Satisfaction surveys after a contact (docs/guides.md)."""

    # where the link in the survey e-mail and chat prompt points (the desk serves /survey)
    survey_public_url: str = "http://127.0.0.1:8090"
    # how long after the send an SMS score counts as the survey's answer
    survey_answer_window_hours: float = 72.0


class WorkerSettings(PlatformSettings, RoutingSettings, NoticeRulesSettings):
    log_batch_size: int = 1000
    log_batch_within: float = 0.2
    # worker transport: how long the producer gathers records
    producer_linger: float = 0.0
    # a worker told to stop (SIGTERM) exits within this time even when the broker is away
    worker_shutdown_timeout: float = 10.0
    metrics_port: int = 9101


class GatewaySettings(PlatformSettings, TwilioSettings, EmailRelaySettings, SurveySettings):
    """The channel gateway: Twilio webhooks, web chat, inbound e-mail (and a chat transcript by
    e-mail through the outbound relay)."""

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    gateway_pool_id: str = "default"
    # a routing pool of its own for some customer classes (e.g. {"vip": "vip"}: a dedicated
    # VIP pool); classes not listed go to gateway_pool_id
    gateway_class_pools: dict[str, str] = {}
    gateway_max_body_bytes: int = 65_536
    ivr_choices: dict[str, str] = {"1": "billing", "2": "orders", "3": "technical"}
    # the IVR offers a callback when routing predicts a longer wait than this for the caller
    callback_offer_threshold_seconds: float = 120.0
    # a web chat whose customer left without "end" and did not reconnect within this time is
    # ended (assigned) or abandoned (waiting)
    chat_reconnect_grace_seconds: float = 120.0
    # the chat page: its greeting, the business hours it shows, and whether it asks for a name
    # and e-mail before the chat (both optional for the customer)
    chat_greeting: str = "Hi! How can we help you today?"
    chat_business_hours: str = "Mon-Fri 08:00-18:00"
    chat_prechat_form: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_max_message_bytes: int = 10_000_000
    # exactly once at the edge: a record staged but not published (broker away, and no retry
    # came) is published by the re-sender after this long; published records are remembered
    # this long to recognise late retries (SMTP clients retry for days)
    edge_resend_after_seconds: float = 5.0
    edge_outbox_keep_days: float = 7.0
    # web chat identity (docs/security.md): the secret the embedding site signs customer ids
    # with (HMAC-SHA256, hex); without it every chat is anonymous
    chat_identity_secret: SecretStr | None = None
    # a chat session unused this long is gone (the customer starts a new one)
    chat_session_idle_hours: float = 24.0
    # after a resume rotates the session's secret, the previous one still works this long
    # (a second tab of the same browser resuming at the same moment)
    chat_session_rotation_grace_seconds: float = 30.0
    # the session cookie: Secure when the request came over TLS (None) or as set (behind a
    # TLS-terminating proxy: true); SameSite=None (with Secure) lets a page of another site
    # embed the chat in an iframe
    chat_cookie_secure: bool | None = None
    chat_cookie_samesite: Literal["Strict", "Lax", "None"] = "Strict"
    # origins (scheme://host[:port]) of the sites that embed the chat: they may open a session
    # and post a signed identity to the page; the gateway's own origin always may
    chat_allowed_origins: list[str] = []


class DeskSettings(
    PlatformSettings,
    RoutingSettings,
    NoticeRulesSettings,
    TwilioSettings,
    EmailRelaySettings,
    SurveySettings,
):
    """The agent desk: offers, screen pop, replies on the contact's channel, the agents'
    capacity per channel beside their state; the supervisor's floor (capacities against
    routing's per-channel defaults) and the admin API."""

    desk_host: str = "127.0.0.1"
    desk_port: int = 8090
    desk_accept_wait_seconds: float = 10.0
    # the codes an agent picks from at wrap-up, and the canned replies offered while replying
    desk_disposition_codes: list[str] = [
        "resolved",
        "follow_up",
        "escalated",
        "compensation_offered",
        "no_answer",
    ]
    desk_canned_replies: list[str] = [
        "Thanks for your patience, let me check that for you.",
        "I'm sorry for the delay with your order.",
        "Is there anything else I can help you with?",
    ]
    # how often the supervisor's floor is read again for its live stream
    supervisor_refresh_seconds: float = Field(default=1.0, gt=0)


class NotifierSettings(
    PlatformSettings, NoticeRulesSettings, TwilioSettings, EmailRelaySettings, SurveySettings
):
    """The notifier: sends due notices (docs/notices.md), serves Twilio's status callbacks."""

    notice_from_email: str = "notices@example.com"
    notifier_host: str = "127.0.0.1"
    notifier_port: int = 8095
    notifier_public_url: str = "http://127.0.0.1:8095"  # what Twilio calls back (and signs)
    notifier_poll_interval: float = 1.0
    notifier_batch_size: int = 20
    notifier_max_attempts: int = 6
    notifier_backoff_base_seconds: float = 2.0
    notifier_backoff_max_seconds: float = 300.0
    notifier_send_lease_seconds: float = 60.0
    notifier_send_timeout: float = 10.0
    notifier_metrics_port: int = 9103  # the notifier's /metrics (workers: metrics_port)


class Settings(WorkerSettings, GatewaySettings, DeskSettings, NotifierSettings):
    """The whole stack's settings: what the local runtime, the crash harness and the tests
    hand to each process they start (every process reads only its own class)."""


def child_environment(settings: PlatformSettings, **overrides: object) -> dict[str, str]:
    """The environment for a child process that should run with ``settings`` (plus overrides):
    this process's environment with every setting written out."""
    import os

    values = settings.model_dump()
    values.update(overrides)
    env = dict(os.environ)
    for name, value in values.items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None:
            continue
        if name == "database_url":
            env["DATABASE_URL"] = str(value)
        elif name == "kafka_bootstrap_servers":
            env["KAFKA_BOOTSTRAP_SERVERS"] = str(value)
        else:
            text = json.dumps(value) if isinstance(value, dict | list) else str(value)
            env[f"CC_{name.upper()}"] = text
    return env
