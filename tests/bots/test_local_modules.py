"""A module next to the notebook is the notebook's own code, never a package from an index.

An index will happily serve a package named after anyone's helper module (dependency
confusion), so the test serves one from a local ``--find-links`` folder and checks that the
promoted bot does not get it.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from watchdog_lab.bots.environment import site_packages_dir
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.supervisor import BotManager

from .conftest import write_notebook
from .wheels import build_wheel

HELPER = "mystrategy_utils"


@pytest.fixture
def strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebook importing its helper module, and a same-named wheel the installer can see."""
    folder = tmp_path / "research"
    folder.mkdir()
    (folder / f"{HELPER}.py").write_text("def signal():\n    return 1\n")
    links = tmp_path / "links"
    build_wheel(links, HELPER, "9.9.9", {f"{HELPER}.py": "raise SystemExit('impostor')\n"})
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    return write_notebook(folder / "strategy.ipynb", f"import {HELPER}\nprint({HELPER}.signal())")


def test_check_does_not_ask_an_index_for_a_module_next_to_the_notebook(
    manager: BotManager, strategy: Path
) -> None:
    steps: list[str] = []
    plan = manager.check_promote(PromoteBot(notebook=str(strategy), name="Local"), steps.append)
    assert [a.requirement for a in plan.approved] == []
    assert any(step.startswith(f"{HELPER}: a module next to the notebook") for step in steps)


def test_promoted_bot_does_not_get_an_index_package_for_its_local_module(
    manager: BotManager, strategy: Path
) -> None:
    bot = manager.promote(PromoteBot(notebook=str(strategy), name="Local"))
    venv = BotPaths(manager.home, bot.id).venv
    installed = {
        d.metadata["Name"]
        for d in importlib.metadata.distributions(path=[str(site_packages_dir(venv))])
    }
    assert installed and HELPER.replace("_", "-") not in {n.replace("_", "-") for n in installed}
    assert not (site_packages_dir(venv) / f"{HELPER}.py").exists()
