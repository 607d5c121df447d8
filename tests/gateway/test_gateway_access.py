"""Reaching the gateway: its TLS certificate must be trusted and its token right, and neither
failure shows a token."""

from __future__ import annotations

import asyncio

import pytest

from watchdog_lab.bots.errors import GatewayAuthFailed, GatewayUnreachable
from watchdog_lab.bots.gateway import GatewayKernelManager, GatewayRest

from .conftest import RunningGateway

WRONG = "not-the-gateway-token-0123456789abcdef"


def test_a_wrong_token_is_refused_with_an_auth_error_that_does_not_show_it(
    gateway: RunningGateway,
) -> None:
    with pytest.raises(GatewayAuthFailed) as refused:
        GatewayRest(gateway.target(token=WRONG)).call("GET", "/api/kernels")
    assert "403" in str(refused.value) or "401" in str(refused.value)
    assert WRONG not in str(refused.value)
    assert WRONG not in gateway.log_text()


def test_a_certificate_no_trusted_authority_signed_is_refused(gateway: RunningGateway) -> None:
    with pytest.raises(GatewayUnreachable, match="TLS"):
        GatewayRest(gateway.target(ca_pem="")).call("GET", "/api/kernels")


def test_the_kernel_channels_refuse_a_client_whose_certificate_check_fails(
    gateway: RunningGateway,
) -> None:
    """The WebSocket goes through the same TLS policy as the REST calls."""

    async def scenario() -> None:
        km = GatewayKernelManager(gateway.target(), env={}, payload="", expected=0)
        await km.start_kernel()
        try:
            untrusting = GatewayKernelManager(
                gateway.target(ca_pem=""), env={}, payload="", expected=0
            )
            untrusting.kernel_id = km.kernel_id
            client = untrusting.client()
            client.start_channels()
            with pytest.raises(GatewayUnreachable, match="TLS"):
                await client.wait_for_ready(timeout=30)
        finally:
            await km.shutdown_kernel()

    asyncio.run(scenario())
    assert gateway.kernels() == []
