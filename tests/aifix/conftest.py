"""AI Fix fixtures: a real vault (cheap Argon2) holding an Anthropic key, a Kalshi PEM and other
secrets, and our own Messages API on 127.0.0.1 that the real ``anthropic`` client talks to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab.aifix import AIFix, FailingCell, FixSettings
from watchdog_lab.vault import CreateConnection, KdfParams, RateLimitPolicy, Vault

from .. import support
from .fake_anthropic import FakeAnthropic

FAST_KDF = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
PASSWORD = "correct horse battery"
API_KEY = "sk-ant-api03-Qw7Ze2Rt5Yu8Io1Pa4Sd6Fg9Hj3Kl0Zx" + "Cv2Bn5Mq8Wr1Ty4Ui7Op0As3Df6Gh9Jk"
KALSHI_KEY_ID = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"
EXCHANGE_SECRET = "gx7Qp2Lr9Vt4Wm8Ks3Zd6Hf1Nc5Jb0Ye"
EXCHANGE_PASSPHRASE = "tulip-otter-granite-47"

# What a failing cell says when nothing secret is in it: these must reach the fake API.
SOURCE = "import json\nprices = load_prices()\ntotal = prices['last'] * quantity\n"
FRAME = 'File "/tmp/strategy.py", line 3, in compute_total'


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return support.rsa_pem()


@pytest.fixture
def vault(tmp_path: Path, rsa_pem: str) -> Iterator[Vault]:
    v = Vault(tmp_path / "wd-home", kdf=FAST_KDF, rate_limit=RateLimitPolicy(free_attempts=100))
    v.create(PASSWORD)
    v.add_connection(CreateConnection(name="claude", kind="anthropic", fields={"api_key": API_KEY}))
    v.add_connection(
        CreateConnection(
            name="Kalshi",
            kind="kalshi",
            fields={"api_key_id": KALSHI_KEY_ID, "private_key_pem": rsa_pem, "environment": "demo"},
        )
    )
    v.add_connection(
        CreateConnection(
            name="exchange",
            kind="generic",
            fields={"secret": EXCHANGE_SECRET, "passphrase": EXCHANGE_PASSPHRASE},
        )
    )
    yield v
    v.close()


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def settings(fake_api: FakeAnthropic) -> FixSettings:
    return FixSettings(base_url=fake_api.url, max_retries=0, timeout=5.0)


@pytest.fixture
def aifix(vault: Vault, settings: FixSettings) -> Iterator[AIFix]:
    service = AIFix(vault, settings)
    yield service
    service.close()


def failing_cell(**changes: object) -> FailingCell:
    """A cell that raised a KeyError, with nothing secret in it unless ``changes`` add it."""
    fields: dict[str, object] = {
        "source": SOURCE,
        "ename": "KeyError",
        "evalue": "'last'",
        "traceback": [
            "\x1b[0;31m---------------------------------------------------------------\x1b[0m",
            "\x1b[0;31mKeyError\x1b[0m  Traceback (most recent call last)",
            f"  {FRAME}\n    total = prices['last'] * quantity",
            "\x1b[0;31mKeyError\x1b[0m: 'last'",
        ],
        "language_version": "3.11.7",
        "versions": {"json": "2.0.9", "pandas": "2.2.2"},
        "name": "strategies/momentum.ipynb",
        "cell_index": 4,
    }
    fields.update(changes)
    return FailingCell.model_validate(fields)
