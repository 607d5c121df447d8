"""Package-manager lines of a promoted notebook: installed at promote, commented out when frozen,
so the bot never runs them in its sandbox (where they fail and would crash-loop it)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotState, PromoteBot, RestartPolicy
from watchdog_lab.bots.package_lines import REMOVED_PREFIX, neutralise_package_lines
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import Vault

from .conftest import wait_state, write_notebook
from .wheels import build_wheel

INSTALLED = REMOVED_PREFIX + "installed into the bot's environment: "


def _cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


@pytest.mark.parametrize(
    "line",
    [
        "%pip install requests",
        "!pip install -q requests",
        "!!pip3 install requests",
        "!python -m pip install requests",
        "!{sys.executable} -m pip install requests",
        "!uv pip install requests",
        "!PIP_NO_INPUT=1 pip install requests",
    ],
)
def test_each_form_of_an_install_line_becomes_a_comment_keeping_its_text(line: str) -> None:
    cell = _cell(f"{line}\nimport requests")
    (found,) = neutralise_package_lines([cell])
    assert found.cell_index == 0 and found.text == line
    assert cell.source == f"{INSTALLED}{line}\nimport requests"


def test_conda_lines_are_commented_out_saying_bots_install_from_pypi() -> None:
    cell = _cell("%conda install numpy")
    neutralise_package_lines([cell])
    assert cell.source.startswith(REMOVED_PREFIX + "conda does not run inside a bot")


def test_an_indented_install_line_becomes_pass_so_its_block_stays_python() -> None:
    cell = _cell("if True:\n    %pip install a \\\n        b\nx = 1")
    (found,) = neutralise_package_lines([cell])
    assert found.text == "%pip install a b"
    assert cell.source == f"if True:\n    pass  {INSTALLED}%pip install a b\nx = 1"
    compile(cell.source, "cell", "exec")


@pytest.mark.parametrize(
    "source",
    [
        "!ls",
        "print('%pip install x')",
        "pipeline = 1",
        "%%bash\npip install x",
        "%%writefile req.txt\n%pip install x",
    ],
)
def test_other_lines_and_other_languages_cell_bodies_are_left_alone(source: str) -> None:
    cell = _cell(source)
    assert neutralise_package_lines([cell]) == [] and cell.source == source


def test_a_url_token_in_a_removed_line_is_masked() -> None:
    cell = _cell("%pip install tiny --extra-index-url https://user:s3cr3t-tok@example.org/simple")
    (found,) = neutralise_package_lines([cell])
    assert "s3cr3t-tok" not in found.text and "s3cr3t-tok" not in cell.source


def test_a_promoted_notebook_with_a_pip_line_runs_and_its_frozen_copy_shows_the_line_removed(
    vault: Vault, uv_cache: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "wdl-tiny-dep", "1.0", {"wdl_tiny_dep/__init__.py": "VALUE = 41\n"})
    manager = BotManager(
        vault,
        uv_cache=uv_cache,
        find_links=[wheels],
        restart=RestartPolicy(backoff_initial=0.2, backoff_max=1.0, max_failures=2),
    )
    nb = write_notebook(
        tmp_path / "pip.ipynb",
        "%pip install wdl-tiny-dep==1.0",
        "import wdl_tiny_dep\nprint('value', wdl_tiny_dep.VALUE + 1)",
    )
    steps: list[str] = []
    try:
        bot = manager.promote(PromoteBot(notebook=str(nb), name="Pip", start=True), steps.append)
        wait_state(manager, "Pip", BotState.STOPPED, BotState.CRASHED)
        described = manager.describe("Pip")
        stdout = "".join(r.text for r in manager.logs("Pip") if r.stream == "stdout")
        assert described.status.reason == "finished" and described.status.runs == 1, described
        assert stdout == "value 42\n"
    finally:
        for each in manager.list():
            manager.stop(each.id, timeout=10)
    assert "commented out in the frozen notebook (cell 1): %pip install wdl-tiny-dep==1.0" in steps
    frozen = nbformat.read(BotPaths(vault.home, bot.id).notebook(1), as_version=4)
    assert frozen.cells[0].source == f"{INSTALLED}%pip install wdl-tiny-dep==1.0"
