"""Fixtures for the sandbox's tests: a receiver of its webhooks (an aiohttp server that
records every POST)."""

import pytest_asyncio

from .test_sandbox_support import start_receiver


@pytest_asyncio.fixture
async def receiver(aiohttp_server):
    return await start_receiver(aiohttp_server)
