"""Shared fixtures: the real broker and the real PostgreSQL, started by the tests themselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from services.runtime.broker import LocalBroker
from services.runtime.postgres import EmbeddedPostgres, create_database
from streams.platform.migrations import migrate
from streams.platform.settings import Settings
from streams.platform.topics import ensure_topics


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    with LocalBroker() as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    configured = Settings().database_url
    if configured is not None:
        yield configured.get_secret_value()
        return
    with EmbeddedPostgres() as server:
        yield server.url


@pytest.fixture
async def database_url(postgres_server_url: str) -> str:
    """A fresh database with every migration applied."""
    url = await create_database(postgres_server_url)
    await migrate(url)
    return url


@pytest.fixture
async def topic_prefix(broker: LocalBroker) -> AsyncIterator[str]:
    """Topics of their own for one test, created explicitly."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    await ensure_topics(broker.bootstrap_servers, prefix)
    yield prefix


@pytest.fixture
def settings(
    broker: LocalBroker,
    database_url: str,
    topic_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return Settings(
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        DATABASE_URL=database_url,
        topic_prefix=topic_prefix,
        app_id=f"cc-{topic_prefix.rstrip('.')}",
        state_dir=str(tmp_path_factory.getbasetemp() / "state"),
    )


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client for the services a test module starts."""
    async with aiohttp.ClientSession() as session:
        yield session


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--screenshots",
        default=None,
        help="write the page tests' screenshots here (docs/screenshots refreshes the docs')",
    )
