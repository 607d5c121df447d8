"""``c.WatchdogLab.ai_*``: each setting checked when the configuration loads, and handed to the
service as given."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config

from watchdog_lab.aifix import DEFAULT_MODEL, AIFixConfig, FixSettings
from watchdog_lab.aifix.service import AIFix
from watchdog_lab.vault import Vault


def configured(**values: object) -> AIFixConfig:
    config = Config()
    for name, value in values.items():
        setattr(config.AIFixConfig, name, value)
    return AIFixConfig(config=config)


def test_the_defaults_are_a_current_model_and_bounded_limits() -> None:
    settings = configured().ai_fix_settings()
    assert settings == FixSettings()
    assert settings.model == DEFAULT_MODEL == "claude-sonnet-5-5"
    assert settings.base_url == ""


def test_settings_reach_the_service(vault: Vault) -> None:
    config = configured(
        ai_model="claude-opus-5-5",
        ai_timeout=30,
        ai_max_retries=0,
        ai_max_payload_bytes=65536,
        ai_base_url="https://gateway.example.org/anthropic",
    )
    service = config.ai_fix(vault)
    assert isinstance(service, AIFix)
    assert service.settings == FixSettings(
        "claude-opus-5-5", 30.0, 0, 65536, "https://gateway.example.org/anthropic"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ai_model", ""),
        ("ai_model", "claude sonnet"),
        ("ai_model", "x" * 200),
        ("ai_timeout", 0),
        ("ai_timeout", float("nan")),
        ("ai_timeout", 86400),
        ("ai_max_retries", -1),
        ("ai_max_retries", 50),
        ("ai_max_payload_bytes", 100),
        ("ai_max_payload_bytes", 10**9),
        ("ai_base_url", "ftp://example.org"),
        ("ai_base_url", "not a url"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(name: str, value: object) -> None:
    with pytest.raises(TraitError, match=name):
        configured(**{name: value})


def test_a_base_url_with_credentials_is_refused_without_repeating_it() -> None:
    with pytest.raises(TraitError) as refused:
        configured(ai_base_url="https://user:hunter2-gateway-pass@gw.example.org")
    assert "hunter2" not in str(refused.value)
