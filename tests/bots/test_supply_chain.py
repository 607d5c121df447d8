"""Promote installs only checked distributions and never runs their code outside the sandbox.

Every hostile package here is a real wheel built by the test and served from a local
``--find-links`` folder; the kernel's own packages come from the session's uv cache. A
package's start-up hook writes a marker file when it runs, so "it never ran" is a file that
does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from watchdog_lab.bots.environment import (
    Resolution,
    build_environment,
    resolve_environment,
    site_packages_dir,
)
from watchdog_lab.bots.errors import PackageFileConflict, PackagesRefused, StartupCodeRefused
from watchdog_lab.bots.models import PromoteBot
from watchdog_lab.bots.ownership import find_ownership_conflicts
from watchdog_lab.bots.policy import DependencyPolicy
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.cli import build_parser
from watchdog_lab.cli.cmd_bots import promote_request
from watchdog_lab.vault import Vault

from .conftest import write_notebook
from .wheels import build_wheel

# Names nobody publishes, at versions no index has, so only the local folder can serve them.
# One start-up hook per test: each must bring a new entry into the uv cache, since promote
# compiles bytecode only for entries it added.
HOOK = "wdl-test-pth-hook"
HOOK_ALLOWED = "wdl-test-pth-allowed"
HOOK_COMPILED = "wdl-test-pth-compiled"
INNOCENT = "wdl-test-innocent"
PARENT = "wdl-test-parent"
LEAF = "wdl-test-leaf"
SDK_INTRUDER = "wdl-test-sdk-intruder"
KERNEL_INTRUDER = "wdl-test-kernel-intruder"
HIDDEN_INTRUDER = "wdl-test-hidden-intruder"
SITE_FOLDER = "wdl-test-site-folder"
DENIED = "sitecustomize"  # on the policy's denylist: it runs at every interpreter start


@dataclass(frozen=True)
class Wheelhouse:
    folder: Path
    markers: Path

    def marker(self, name: str) -> Path:
        return self.markers / name


def _writes(marker: Path) -> str:
    return f"import os; open({str(marker)!r}, 'w').close()"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    root = tmp_path_factory.mktemp("wheelhouse")
    house = Wheelhouse(root / "wheels", root / "markers")
    house.markers.mkdir()
    folder = house.folder
    for hook in (HOOK, HOOK_ALLOWED, HOOK_COMPILED):
        module = hook.replace("-", "_")
        build_wheel(
            folder,
            hook,
            "1.0",
            {f"{module}/__init__.py": "", f"{module}.pth": _writes(house.marker(hook)) + "\n"},
        )
    build_wheel(folder, INNOCENT, "1.0", {"wdl_test_innocent.py": ""}, [f"{DENIED}==99.0"])
    build_wheel(folder, DENIED, "99.0", {"sitecustomize.py": _writes(house.marker(DENIED))})
    build_wheel(folder, PARENT, "1.0", {"wdl_test_parent.py": ""}, [f"{LEAF}==1.0"])
    build_wheel(folder, LEAF, "1.0", {"wdl_test_leaf.py": ""})
    build_wheel(folder, SDK_INTRUDER, "1.0", {"watchdog_lab/_version.py": '__version__ = "6"\n'})
    build_wheel(folder, KERNEL_INTRUDER, "1.0", {"ipykernel/wdl_extra.py": "x = 1\n"})
    build_wheel(
        folder,
        HIDDEN_INTRUDER,
        "1.0",
        {"wdl_test_hidden.py": "", "ipykernel/wdl_hidden.py": "x = 1\n"},
        hide_from_record=["ipykernel/wdl_hidden.py"],
    )
    build_wheel(
        folder,
        SITE_FOLDER,
        "1.0",
        {"sitecustomize/__init__.py": _writes(house.marker(SITE_FOLDER)) + "\n"},
    )
    return house


@pytest.fixture
def supply_manager(vault: Vault, uv_cache: Path, wheelhouse: Wheelhouse) -> BotManager:
    return BotManager(vault, uv_cache=uv_cache, find_links=[wheelhouse.folder])


def _request(tmp_path: Path, package: str, **extra: object) -> PromoteBot:
    notebook = write_notebook(tmp_path / "bot.ipynb", f"%pip install {package}\n", "x = 1")
    return PromoteBot(notebook=str(notebook), name="supply", **extra)  # type: ignore[arg-type]


def _no_bot_left(manager: BotManager, home: Path) -> bool:
    return manager.list() == [] and not list(home.glob("bots/*/venv"))


# --- resolve, then check every distribution -------------------------------------------------


def test_a_dependency_on_a_denylisted_name_is_refused_at_check_time_naming_who_pulled_it_in(
    supply_manager: BotManager, tmp_path: Path, bot_home: Path, wheelhouse: Wheelhouse
) -> None:
    request = _request(tmp_path, f"{INNOCENT}==1.0")
    with pytest.raises(PackagesRefused) as refused:
        supply_manager.check_promote(request)
    [refusal] = refused.value.refusals
    assert refusal.package == f"{DENIED}==99.0"
    assert refusal.rule == "denylist"
    assert refusal.pulled_in_by == (INNOCENT,)
    assert f"pulled in by {INNOCENT}" in str(refused.value)
    assert _no_bot_left(supply_manager, bot_home)
    assert not wheelhouse.marker(DENIED).exists()


def test_resolving_names_the_requested_package_behind_each_dependency(
    uv_cache: Path, wheelhouse: Wheelhouse
) -> None:
    resolution = resolve_environment(
        [f"{PARENT}==1.0"], cache_dir=uv_cache, find_links=[wheelhouse.folder]
    )
    found = {pkg.name: pkg for pkg in resolution.packages}
    assert found[LEAF].required_by == (PARENT,)
    assert found[PARENT].required_by == (PARENT,)
    assert "ipykernel" in found["jupyter-client"].required_by
    assert LEAF not in {pkg.name for pkg in resolution.baseline}


def test_a_dependency_that_imitates_a_popular_name_is_refused_like_a_requested_one() -> None:
    decision = DependencyPolicy().check_resolved([("reqeusts", "2.0", ("some-sdk",))])
    [refusal] = decision.refused
    assert refusal.rule == "typosquat"
    assert "pulled in by some-sdk" in str(refusal)


def test_an_unknown_dependency_far_from_any_popular_name_passes() -> None:
    decision = DependencyPolicy().check_resolved([(LEAF, "1.0", (PARENT,))])
    assert decision.ok


def test_only_the_checked_set_is_installed_with_no_further_resolution(
    tmp_path: Path, uv_cache: Path, wheelhouse: Wheelhouse
) -> None:
    full = resolve_environment(
        [f"{PARENT}==1.0"], cache_dir=uv_cache, find_links=[wheelhouse.folder]
    )
    checked = replace(full, packages=tuple(p for p in full.packages if p.name != LEAF))
    report = build_environment(
        tmp_path / "venv",
        [f"{PARENT}==1.0"],
        cache_dir=uv_cache,
        find_links=[wheelhouse.folder],
        resolution=checked,
    )
    assert [pkg.name for pkg in report.new] == [PARENT]
    assert not (site_packages_dir(report.venv_dir) / "wdl_test_leaf.py").exists()


def test_a_resolution_made_for_other_requirements_is_refused(
    tmp_path: Path, uv_cache: Path
) -> None:
    other = Resolution(requirements=("iniconfig",), packages=(), baseline=())
    with pytest.raises(Exception, match="other requirements"):
        build_environment(tmp_path / "venv", [], cache_dir=uv_cache, resolution=other)
    assert not (tmp_path / "venv").exists()


# --- start-up code --------------------------------------------------------------------------


def test_a_pth_import_line_is_refused_and_never_runs(
    supply_manager: BotManager, tmp_path: Path, bot_home: Path, wheelhouse: Wheelhouse
) -> None:
    with pytest.raises(StartupCodeRefused) as refused:
        supply_manager.promote(_request(tmp_path, f"{HOOK}==1.0"))
    message = str(refused.value)
    assert HOOK in message and "wdl_test_pth_hook.pth" in message
    assert f"--allow-startup-code {HOOK}" in message
    assert refused.value.findings == [(HOOK, "wdl_test_pth_hook.pth")]
    assert _no_bot_left(supply_manager, bot_home)
    assert not wheelhouse.marker(HOOK).exists()


def test_allowed_start_up_code_is_installed_but_never_run_during_promote(
    supply_manager: BotManager, tmp_path: Path, wheelhouse: Wheelhouse
) -> None:
    lines: list[str] = []
    described = supply_manager.promote(
        _request(tmp_path, f"{HOOK_ALLOWED}==1.0", allow_startup_code=[HOOK_ALLOWED]),
        lines.append,
    )
    venv = supply_manager.home / "bots" / described.id / "venv"
    assert (site_packages_dir(venv) / "wdl_test_pth_allowed.pth").is_file()
    # Listing packages, reading the version and compiling the new cache entries all
    # happened: none of them started an interpreter that processed the .pth file.
    assert any(line.startswith("Compiling bytecode") for line in lines)
    assert not wheelhouse.marker(HOOK_ALLOWED).exists()


def test_compiling_bytecode_into_the_venv_never_runs_allowed_start_up_code(
    tmp_path: Path, uv_cache: Path, wheelhouse: Wheelhouse
) -> None:
    report = build_environment(
        tmp_path / "venv",
        [f"{HOOK_COMPILED}==1.0"],
        cache_dir=uv_cache,
        find_links=[wheelhouse.folder],
        compile_bytecode=True,
        allow_startup_code=[HOOK_COMPILED],
    )
    package = site_packages_dir(report.venv_dir) / "wdl_test_pth_compiled"
    assert list((package / "__pycache__").glob("__init__.*.pyc"))
    assert [f.file for f in report.startup_code] == ["wdl_test_pth_compiled.pth"]
    assert not wheelhouse.marker(HOOK_COMPILED).exists()


def test_a_sitecustomize_package_folder_is_refused_and_never_runs(
    tmp_path: Path, uv_cache: Path, wheelhouse: Wheelhouse
) -> None:
    venv = tmp_path / "venv"
    with pytest.raises(StartupCodeRefused, match=SITE_FOLDER):
        build_environment(
            venv, [f"{SITE_FOLDER}==1.0"], cache_dir=uv_cache, find_links=[wheelhouse.folder]
        )
    assert not venv.exists()
    assert not wheelhouse.marker(SITE_FOLDER).exists()


def test_the_cli_passes_trusted_start_up_code_to_the_request() -> None:
    args = build_parser().parse_args(
        ["bots", "promote", "n.ipynb", "--name", "B", "--allow-startup-code", HOOK]
    )
    assert promote_request(args).allow_startup_code == [HOOK]


# --- files in someone else's package --------------------------------------------------------


@pytest.mark.parametrize(
    ("intruder", "file", "owner"),
    [
        (SDK_INTRUDER, "watchdog_lab/_version.py", "watchdog-lab"),
        (KERNEL_INTRUDER, "ipykernel/wdl_extra.py", "ipykernel"),
        # The installer writes RECORD from what it linked, so a wheel cannot hide a file.
        (HIDDEN_INTRUDER, "ipykernel/wdl_hidden.py", "ipykernel"),
    ],
)
def test_a_wheel_writing_into_another_distributions_package_is_refused(
    tmp_path: Path,
    uv_cache: Path,
    wheelhouse: Wheelhouse,
    intruder: str,
    file: str,
    owner: str,
) -> None:
    venv = tmp_path / "venv"
    with pytest.raises(PackageFileConflict) as refused:
        build_environment(
            venv, [f"{intruder}==1.0"], cache_dir=uv_cache, find_links=[wheelhouse.folder]
        )
    assert refused.value.conflicts == [(intruder, file, owner)]
    assert not venv.exists()


def fake_site(tmp_path: Path, records: dict[str, list[str]]) -> tuple[Path, Path]:
    """A venv-shaped folder whose dist-infos list ``records``; no file needs to exist."""
    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.12" / "site-packages"
    for dist, files in records.items():
        info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "RECORD").write_text("".join(f"{f},sha256=x,1\n" for f in files))
    return site, venv


def test_a_namespace_package_shared_by_several_distributions_is_allowed(tmp_path: Path) -> None:
    site, venv = fake_site(
        tmp_path,
        {"google-auth": ["google/auth/__init__.py"], "protobuf": ["google/protobuf/__init__.py"]},
    )
    assert find_ownership_conflicts(site, venv) == []


def test_a_top_level_name_of_the_standard_library_is_refused(tmp_path: Path) -> None:
    site, venv = fake_site(tmp_path, {"helpful": ["helpful/__init__.py", "email/parser.py"]})
    [conflict] = find_ownership_conflicts(site, venv)
    assert (conflict.distribution, conflict.file) == ("helpful", "email/parser.py")
    assert "standard library" in conflict.owner


def test_a_module_file_shadowing_another_distributions_package_is_refused(tmp_path: Path) -> None:
    site, venv = fake_site(tmp_path, {"six": ["six.py"], "sly": ["six/__init__.py"]})
    conflicts = {(c.distribution, c.owner) for c in find_ownership_conflicts(site, venv)}
    assert conflicts == {("six", "sly"), ("sly", "six")}


@pytest.mark.parametrize(
    "escape", ["../../../pyvenv.cfg", "../../../bin/python3", "../../../../../etc/cron.d/x"]
)
def test_a_data_file_that_decides_which_interpreter_runs_is_refused(
    tmp_path: Path, escape: str
) -> None:
    site, venv = fake_site(tmp_path, {"sneaky": ["sneaky.py", escape]})
    [conflict] = find_ownership_conflicts(site, venv)
    assert conflict.distribution == "sneaky"


def test_scripts_and_shared_data_outside_site_packages_are_allowed(tmp_path: Path) -> None:
    site, venv = fake_site(
        tmp_path,
        {"tool": ["tool.py", "../../../bin/tool", "../../../share/jupyter/kernels/k.json"]},
    )
    assert find_ownership_conflicts(site, venv) == []
