"""Wiring: the one place that builds the notifier from the settings with real adapters."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import asyncpg
from aiohttp import web
from aiokafka import AIOKafkaProducer

from services.notifier.callbacks import callback_app
from services.notifier.config import NotifierConfig
from services.notifier.senders import SmtpConfig, SmtpEmail, TwilioSms
from services.notifier.service import Notifier
from services.notifier.surveys import SurveySender
from services.runtime.processes import stop_on_signals
from services.twilio_client import make_async_twilio_client, signature_check
from streams.notices.config import notice_policy
from streams.notices.outbox import Send
from streams.platform import metrics
from streams.platform.settings import NotifierSettings

log = logging.getLogger(__name__)


def notifier_config(settings: NotifierSettings) -> NotifierConfig:
    return NotifierConfig(
        from_email=settings.notice_from_email,
        public_url=settings.notifier_public_url,
        max_attempts=settings.notifier_max_attempts,
        backoff_base=settings.notifier_backoff_base_seconds,
        backoff_max=settings.notifier_backoff_max_seconds,
        send_lease=timedelta(seconds=settings.notifier_send_lease_seconds),
        batch_size=settings.notifier_batch_size,
        topic_prefix=settings.topic_prefix,
    )


def smtp_config(settings: NotifierSettings) -> SmtpConfig:
    password = settings.smtp_relay_password
    return SmtpConfig(
        host=settings.smtp_relay_host,
        port=settings.smtp_relay_port,
        username=settings.smtp_relay_username,
        password=None if password is None else password.get_secret_value(),
        timeout=settings.notifier_send_timeout,
    )


def build_notifier(
    settings: NotifierSettings, pool: asyncpg.Pool, publish: Send | None = None
) -> tuple[Notifier, TwilioSms]:
    """Must run inside the event loop (the SDK's asyncio HTTP session)."""
    sms = TwilioSms(
        make_async_twilio_client(settings, timeout=settings.notifier_send_timeout),
        settings.twilio_from_number,
    )
    notifier = Notifier(
        pool,
        sms,
        SmtpEmail(smtp_config(settings)),
        notice_policy(settings),
        notifier_config(settings),
        publish=publish,
    )
    return notifier, sms


def build_survey_sender(
    settings: NotifierSettings,
    pool: asyncpg.Pool,
    notifier: Notifier,
) -> SurveySender:
    """The survey pass, on the notifier's senders and rules."""
    return SurveySender(
        pool,
        notifier.sms,
        notifier.email,
        notifier.policy,
        notifier.config,
        settings.survey_public_url,
    )


async def serve(settings: NotifierSettings, stop: asyncio.Event | None = None) -> None:
    """Run the send loop and the status-callback endpoint until ``stop`` (or SIGTERM/SIGINT);
    outcomes are published to the notices topic through the outbox."""
    signatures = signature_check(settings, "notifier")  # refuses to start without a token
    stop = stop_on_signals(stop)
    pool = await asyncpg.create_pool(settings.require_database_url(), min_size=1, max_size=4)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=0
    )
    await producer.start()

    async def publish(topic: str, key: bytes | None, payload: bytes) -> None:
        await producer.send_and_wait(topic, key=key, value=payload)
        metrics.EVENTS_OUT.labels(topic=metrics.topic_label(topic, settings.topic_prefix)).inc()

    notifier, sms = build_notifier(settings, pool, publish)
    config = notifier.config
    runner = web.AppRunner(
        callback_app(
            pool,
            signatures,
            settings.notifier_public_url,
            notices_topic=config.notices_topic,
        ),
        access_log=None,
    )
    await runner.setup()
    await web.TCPSite(runner, settings.notifier_host, settings.notifier_port).start()
    log.warning("notifier listening on %s:%s", settings.notifier_host, settings.notifier_port)
    surveys = build_survey_sender(settings, pool, notifier)
    survey_pass = asyncio.create_task(surveys.run_forever(stop, settings.notifier_poll_interval))
    try:
        await notifier.run_forever(stop, settings.notifier_poll_interval)
    finally:
        stop.set()
        await survey_pass
        await runner.cleanup()
        await sms.close()
        await producer.stop()
        await pool.close()
