"""Requirements assembled from a notebook's findings: distributions, precedence and pins."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from nbformat import v4

from watchdog_lab.bots.deps import DetectedDeps, detect_requirements
from watchdog_lab.bots.notebook_scan import SourceKind

from .notebooks import EMPTY, FixedEnvironment, notebook, specs


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


def test_sdk_and_kernel_imports_are_not_requirements() -> None:
    nb = notebook(
        "import watchdog_lab as wd\nfrom IPython.display import display\nimport ipykernel"
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


def test_later_pip_line_for_the_same_distribution_wins_with_a_warning() -> None:
    nb = notebook("%pip install ccxt==4.0", "%pip install CCXT==4.3")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["ccxt==4.3"]
    assert any("ccxt==4.0" in w and "CCXT==4.3" in w for w in deps.warnings)


def test_url_credentials_in_a_requirements_cell_are_masked_everywhere() -> None:
    line = "--extra-index-url https://me:hunter2@pypi.corp.example/simple"
    cell = v4.new_raw_cell(line, metadata={"tags": ["requirements"]})
    deps = detect_requirements(v4.new_notebook(cells=[cell]), environment=EMPTY)
    assert "hunter2" not in deps.model_dump_json()
    assert specs(deps) == ["--extra-index-url https://***@pypi.corp.example/simple"]


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


def test_result_round_trips_through_json() -> None:
    deps = detect_requirements(notebook("import ccxt", "def f(:"), environment=EMPTY)
    assert DetectedDeps.model_validate_json(deps.model_dump_json()) == deps


def test_parsed_notebook_given_its_folder_skips_modules_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "mystrategy_utils.py").write_text("X = 1\n")
    nb = notebook("import mystrategy_utils\nimport ccxt")
    deps = detect_requirements(nb, folder=tmp_path, environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert deps.local_modules == ["mystrategy_utils"]


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
