"""The gateway settings and the ``gateway`` connection: checked before any bot starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets import TraitError

from watchdog_lab.bots.errors import GatewayNotConfigured
from watchdog_lab.bots.gateway import (
    GatewaySession,
    GatewaySettings,
    GatewayTarget,
    check_gateway_url,
)
from watchdog_lab.kinds import resolve_kind
from watchdog_lab.kinds.errors import InvalidFields
from watchdog_lab.sdk import Connection
from watchdog_lab.server.app import WatchdogLab
from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault

TOKEN = "eg-token-0123456789abcdefghijklmnop"


@pytest.mark.parametrize(
    "url",
    [
        "http://gateway.example.com:8888",  # plain HTTP off this machine
        "http://localhost:8888",  # loopback by name could resolve elsewhere: 127.0.0.1 only
        "https://user:pass@gateway.example.com",  # the token belongs in the vault
        "https://gateway.example.com/?token=x",
        "ftp://gateway.example.com",
        "gateway.example.com:8888",
    ],
)
def test_gateway_url_is_refused_unless_https_or_loopback_http(url: str, tmp_path: Path) -> None:
    with pytest.raises(TraitError, match="gateway_url"):
        WatchdogLab(home=str(tmp_path / "h"), gateway_url=url)


def test_gateway_url_over_https_is_accepted_and_given_to_the_bots(tmp_path: Path) -> None:
    app = WatchdogLab(home=str(tmp_path / "h"), gateway_url="https://eg.example.com:8443/eg/")
    assert app.gateway_settings() == GatewaySettings(
        "https://eg.example.com:8443/eg", "gateway", "watchdog-bot"
    )


def test_loopback_http_gateway_is_accepted_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = WatchdogLab(home=str(tmp_path / "h"), gateway_url="http://127.0.0.1:8888")
    assert app.gateway_url == "http://127.0.0.1:8888"
    assert "plain HTTP" in capsys.readouterr().err


def test_no_gateway_url_means_local_kernels(tmp_path: Path) -> None:
    assert WatchdogLab(home=str(tmp_path / "h")).gateway_settings() is None


def test_gateway_kind_refuses_a_token_with_spaces_and_a_ca_that_is_not_pem() -> None:
    kind = resolve_kind("gateway")
    with pytest.raises(InvalidFields, match="token"):
        kind.validate({"token": "two words"})
    with pytest.raises(InvalidFields, match="ca_pem"):
        kind.validate({"token": TOKEN, "ca_pem": "not a certificate"})
    assert kind.visibility("token") == "secret"


def test_missing_gateway_connection_is_named_in_the_error(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "h", kdf=KdfParams(1, 8192, 1), rate_limit=RateLimitPolicy())
    vault.create("gateway settings password")
    settings = GatewaySettings("https://eg.example.com", "eg-prod", "watchdog-bot")
    with pytest.raises(GatewayNotConfigured, match="'eg-prod'"):
        settings.target(vault)
    vault.add_connection(CreateConnection(name="eg-prod", kind="generic", fields={"t": TOKEN}))
    with pytest.raises(GatewayNotConfigured, match="'gateway' kind"):
        settings.target(vault)
    vault.close()


def test_gateway_target_never_shows_its_token_and_survives_the_runner_input() -> None:
    target = GatewayTarget.from_connection(
        "https://eg.example.com", "watchdog-bot", Connection("g", "gateway", {"token": TOKEN})
    )
    assert TOKEN not in repr(target) + str(target) + repr(target.credentials)
    line = target.encode()
    assert TOKEN not in line  # base64url: not even a partial clear copy
    again = GatewayTarget.decode(line)
    assert (again.url, again.kernel_name) == ("https://eg.example.com", "watchdog-bot")
    assert again.authorization() == {"Authorization": f"token {TOKEN}"}
    assert check_gateway_url(again.url) == again.url


def test_a_runner_on_a_loopback_http_gateway_warns_in_the_bot_log(tmp_path: Path) -> None:
    target = GatewayTarget.from_connection(
        "http://127.0.0.1:8888", "watchdog-bot", Connection("g", "gateway", {"token": TOKEN})
    )
    notice = GatewaySession(target, tmp_path / "ledger").start()
    assert "WARNING" in notice and "plain HTTP" in notice
    assert TOKEN not in notice
