"""The test virtualenv itself: what a Home Assistant started from it needs to reach Flatpeak."""

from __future__ import annotations

import socket

import aiodns
import aiohttp
import pycares
import pytest


async def test_aiodns_resolves_localhost() -> None:
    """aiodns and pycares are a working pair (pycares 5 breaks aiodns 3.2: every lookup raised
    TypeError), both directly and through aiohttp's AsyncResolver, which HA's sessions use."""
    resolver = aiodns.DNSResolver()
    try:
        result = await resolver.getaddrinfo("localhost", family=socket.AF_INET)
    finally:
        await _close(resolver)
    assert [node.addr[0] for node in result.nodes] == [b"127.0.0.1"], pycares.__version__

    async_resolver = aiohttp.AsyncResolver()
    try:
        hosts = await async_resolver.resolve("localhost", 443, socket.AF_INET)
    finally:
        await async_resolver.close()
    assert [host["host"] for host in hosts] == ["127.0.0.1"]


async def test_aiodns_reports_unknown_names_as_dns_errors() -> None:
    """A failed lookup is a DNS error (which aiohttp turns into a connection error)."""
    resolver = aiodns.DNSResolver(timeout=1.0, tries=1)  # no network here: fail fast
    try:
        with pytest.raises(aiodns.error.DNSError):
            await resolver.getaddrinfo("name.invalid", family=socket.AF_INET)
    finally:
        await _close(resolver)


async def _close(resolver: aiodns.DNSResolver) -> None:
    """Release the resolver's channel (and its thread, on pycares 5)."""
    close = getattr(resolver, "close", None)
    if close is not None:
        await close()
    else:
        resolver.cancel()
