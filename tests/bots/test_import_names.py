"""Which distribution an imported module means: installed metadata first, then the shipped table."""

from __future__ import annotations

from importlib import metadata

import pytest

from watchdog_lab.bots.deps import detect_requirements
from watchdog_lab.bots.errors import BotError, PackageRefused
from watchdog_lab.bots.import_names import (
    InstalledEnvironment,
    load_import_names,
    parse_import_names,
    table_distribution,
)
from watchdog_lab.bots.policy import DependencyPolicy
from watchdog_lab.bots.popular import canonical_name

from .notebooks import EMPTY, FixedEnvironment, notebook, specs


def test_aliased_import_maps_to_its_distribution_name() -> None:
    nb = notebook("import sklearn.linear_model as lm\nfrom PIL import Image\nimport cv2 as cv")
    deps = detect_requirements(nb, environment=EMPTY)
    assert specs(deps) == ["scikit-learn", "pillow", "opencv-python"]


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
    for module, distribution in load_import_names().items():
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


# -- the shipped table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "distribution"),
    [
        ("sklearn", "scikit-learn"),
        ("cv2", "opencv-python"),
        ("yaml", "PyYAML"),
        ("PIL", "Pillow"),
        ("bs4", "beautifulsoup4"),
        ("talib", "TA-Lib"),
        ("google.protobuf", "protobuf"),
        ("snowflake.connector", "snowflake-connector-python"),
    ],
)
def test_shipped_table_maps_known_import_names(module: str, distribution: str) -> None:
    assert load_import_names()[module] == distribution


def test_shipped_table_lists_only_names_that_differ_from_their_distribution() -> None:
    """An entry equal to its import name would only hide a wrong installed-metadata answer."""
    same = {m: d for m, d in load_import_names().items() if canonical_name(m) == canonical_name(d)}
    assert same == {}


def test_table_lookup_prefers_the_longest_dotted_prefix() -> None:
    assert table_distribution("google.protobuf.message") == "protobuf"
    assert table_distribution("google.oauth2.credentials") == "google-auth"
    assert table_distribution("sklearn.linear_model") == "scikit-learn"
    assert table_distribution("google.cloud.storage") is None


@pytest.mark.parametrize(
    "text",
    ["cv2 opencv-python", "cv2\topencv-python\textra", "cv2\t", "cv2\topencv-python\ncv2\tother"],
)
def test_malformed_or_repeated_table_line_is_refused(text: str) -> None:
    with pytest.raises(BotError, match="line"):
        parse_import_names(text)


def test_table_comments_and_blank_lines_are_skipped() -> None:
    table = parse_import_names("# import name<TAB>distribution\n\ncv2\topencv-python\n")
    assert dict(table) == {"cv2": "opencv-python"}
