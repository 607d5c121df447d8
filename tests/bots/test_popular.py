"""The popular-packages list: loaded from the package, looked up under any spelling."""

from __future__ import annotations

import pytest

from watchdog_lab.bots.errors import BotError
from watchdog_lab.bots.popular import (
    PopularPackages,
    canonical_name,
    load_popular,
    lookalike_key,
)


def test_shipped_list_holds_about_fifteen_thousand_distinct_names() -> None:
    popular = load_popular()
    assert 14_000 <= len(popular) <= 15_000
    assert len(set(popular.values())) == len(popular)  # one name per rank


def test_shipped_list_ranks_well_known_packages_near_the_top() -> None:
    popular = load_popular()
    assert popular.rank("requests") is not None and popular.rank("requests") <= 20
    assert popular.rank("pandas") is not None and popular.rank("pandas") < popular.rank("panda")


def test_shipped_list_is_read_once_per_process() -> None:
    assert load_popular() is load_popular()


def test_rank_is_the_same_under_any_pep503_spelling() -> None:
    popular = load_popular()
    assert (
        popular.rank("Scikit_Learn") == popular.rank("scikit-learn") == popular.rank("SCIKIT.learn")
    )
    assert "Scikit_Learn" in popular


def test_unlisted_name_has_no_rank() -> None:
    assert load_popular().rank("reqeusts") is None
    assert "reqeusts" not in load_popular()


def test_canonical_ranks_are_exact_lookups() -> None:
    ranks = load_popular().canonical_ranks
    assert "scikit-learn" in ranks
    assert "scikit--learn" not in ranks  # a spelling variant must not count as the real name


def test_parse_skips_comments_and_blank_lines() -> None:
    popular = PopularPackages.parse("# header\n\n1\tRequests\n2\tnumpy\n")
    assert dict(popular) == {"requests": 1, "numpy": 2}


def test_parse_keeps_the_better_rank_of_two_spellings_of_one_name() -> None:
    popular = PopularPackages.parse("7\tfoo_bar\n3\tFoo-Bar\n")
    assert popular.rank("foo.bar") == 3


@pytest.mark.parametrize("line", ["requests", "x\trequests", "1\t", "1\ta\tb", "-1\tfoo"])
def test_parse_refuses_a_malformed_line_instead_of_skipping_it(line: str) -> None:
    with pytest.raises(BotError, match="line 2"):
        PopularPackages.parse(f"1\tnumpy\n{line}\n")


def test_parse_refuses_rank_zero() -> None:
    with pytest.raises(BotError, match="rank 0"):
        PopularPackages.parse("0\tnumpy\n")


def test_mapping_cannot_be_modified() -> None:
    popular = PopularPackages({"a": 1})
    with pytest.raises(TypeError):
        popular.canonical_ranks["b"] = 2  # type: ignore[index]


def test_canonical_name_follows_pep503() -> None:
    assert canonical_name("Foo__Bar.-baz") == "foo-bar-baz"
    assert canonical_name("PIP") == "pip"


def test_lookalike_key_ignores_separators_and_confusable_letters() -> None:
    assert lookalike_key("Set_Up.Tools") == lookalike_key("setuptools")
    assert lookalike_key("p.i.p") == lookalike_key("pip")
    assert lookalike_key("l10n") == lookalike_key("lion")  # PyPI's own rule
    assert lookalike_key("requests") != lookalike_key("request")


def test_lookalikes_finds_listed_names_with_the_same_key() -> None:
    assert "pillow" in load_popular().lookalikes("pi11ow")
    assert load_popular().lookalikes("zzz-not-a-package-zzz") == ()
