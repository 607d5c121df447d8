"""Bot names: never mistakable for a bot id, and a lost race for one leaves nothing behind."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from watchdog_lab.bots.errors import DuplicateBot
from watchdog_lab.bots.models import BotConfig, PromoteBot
from watchdog_lab.bots.registry import BotRegistry
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault
from watchdog_lab.vault.errors import InvalidName

from .conftest import write_notebook


def _register(registry: BotRegistry, name: str) -> str:
    bot_id = uuid.uuid4().hex
    registry.create(BotConfig(id=bot_id, name=name, kernel_name=f"watchdog-bot-{bot_id}"), [])
    return bot_id


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "strategy.ipynb", "print('hello')")


def test_name_equal_to_another_bots_id_is_refused_at_promote(
    manager: BotManager, notebook: Path
) -> None:
    other = _register(manager.registry, "Alpha")
    with pytest.raises(InvalidName, match="may not look like a bot id"):
        manager.check_promote(PromoteBot(notebook=str(notebook), name=other))
    assert manager.registry.get(other).name == "Alpha"


@pytest.mark.parametrize(
    "spelling",
    [
        lambda u: u.hex,
        lambda u: u.hex.upper(),
        lambda u: str(u),  # with dashes: uuid.UUID reads it as the same id
    ],
    ids=["hex", "upper-hex", "dashed"],
)
def test_name_spelling_any_uuid_is_refused_by_the_registry(
    manager: BotManager, spelling: object
) -> None:
    name = spelling(uuid.uuid4())  # type: ignore[operator]
    with pytest.raises(InvalidName, match="may not look like a bot id"):
        _register(manager.registry, name)
    assert manager.registry.list() == []


def test_name_with_hex_in_it_that_is_no_uuid_is_accepted(manager: BotManager) -> None:
    _register(manager.registry, "deadbeef 2024")
    assert [r.name for r in manager.registry.list()] == ["deadbeef 2024"]


def test_two_promotes_racing_for_one_name_leave_one_bot_and_no_orphan(
    vault: Vault, uv_cache: Path, notebook: Path
) -> None:
    both_checked = threading.Barrier(2, timeout=60)
    outcomes: list[object] = []

    def promote() -> None:
        def progress(step: str) -> None:
            if step.startswith("building environment"):
                both_checked.wait()  # both passed every check: only the registry can tell

        with Vault(vault.home) as own:  # as a second process would: its own connection
            manager = BotManager(own, uv_cache=uv_cache)
            try:
                outcomes.append(
                    manager.promote(PromoteBot(notebook=str(notebook), name="Twin"), progress)
                )
            except DuplicateBot as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=promote) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert sorted(type(o).__name__ for o in outcomes) == ["DescribeBot", "DuplicateBot"]
    (winner,) = BotRegistry(vault.store).list()
    assert [p.name for p in (vault.home / "bots").iterdir() if p.is_dir()] == [winner.id]
    assert [p.name for p in (vault.home / "kernels").iterdir()] == [winner.config.kernel_name]
