"""The registry: every kind module of the package, found by name, families by their members."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from watchdog_lab import kinds
from watchdog_lab.kinds import (
    KINDS,
    KindDefinitionError,
    UnknownKind,
    all_kinds,
    find_kind,
    helper_owners,
    resolve_kind,
)

from .conftest import extra_kind_folder


def test_every_kind_module_of_the_package_is_registered_by_its_name() -> None:
    names = ["anthropic", "ccxt", "gateway", "generic", "kalshi", "postgres"]
    assert [spec.name for spec in all_kinds()] == names
    assert set(KINDS) == set(names)


def test_a_family_member_resolves_to_its_own_spec() -> None:
    spec = resolve_kind("ccxt:binance")
    assert spec.name == "ccxt:binance"
    assert spec.visibility("apiKey") == "hint" and spec.visibility("walletAddress") == "public"


@pytest.mark.parametrize("name", ["ccxt", "kalshi:demo", "Kalshi", "kraken", ""])
def test_an_unknown_kind_lists_the_known_ones_as_they_are_written(name: str) -> None:
    with pytest.raises(UnknownKind) as caught:
        resolve_kind(name)
    assert str(caught.value).endswith(
        "Known kinds: anthropic, ccxt:<exchange id>, gateway, generic, kalshi, postgres."
    )


def test_a_kind_that_is_not_text_is_refused() -> None:
    with pytest.raises(UnknownKind, match="must be text"):
        resolve_kind(["kalshi"])


def test_the_sdk_lookup_ignores_case_and_never_raises() -> None:
    assert find_kind("KALSHI") is KINDS["kalshi"]
    assert find_kind("binance") is None
    assert find_kind("ccxt:Bin/ance") is None


def test_helpers_are_attributed_to_the_kinds_that_offer_them() -> None:
    assert helper_owners("sign_request") == ("kalshi",)
    assert helper_owners("api_key") == ()


@pytest.fixture
def broken_kinds(tmp_path: Path) -> Iterator[Path]:
    with extra_kind_folder(tmp_path) as folder:
        yield folder


def test_a_kind_module_without_a_kind_stops_the_registry(broken_kinds: Path) -> None:
    (broken_kinds / "half_done.py").write_text("FIELDS = ()\n")
    kinds.refresh()
    with pytest.raises(KindDefinitionError, match="half_done must define KIND"):
        resolve_kind("kalshi")


def test_two_modules_of_one_kind_name_stop_the_registry(broken_kinds: Path) -> None:
    (broken_kinds / "kalshi2.py").write_text(
        "from watchdog_lab.kinds.base import KindSpec\nKIND = KindSpec('kalshi', open=True)\n"
    )
    kinds.refresh()
    with pytest.raises(KindDefinitionError, match="'kalshi' is defined twice"):
        all_kinds()


@pytest.mark.parametrize("name", ["Upper", "with:colon", "9lives"])
def test_a_kind_name_that_could_not_be_typed_or_stored_is_refused(
    broken_kinds: Path, name: str
) -> None:
    (broken_kinds / "odd.py").write_text(
        f"from watchdog_lab.kinds.base import KindSpec\nKIND = KindSpec({name!r}, open=True)\n"
    )
    kinds.refresh()
    with pytest.raises(KindDefinitionError, match="must be lowercase"):
        all_kinds()


def test_private_modules_are_not_kinds(broken_kinds: Path) -> None:
    (broken_kinds / "_shared.py").write_text("VALUE = 1\n")
    kinds.refresh()
    assert "_shared" not in KINDS and len(all_kinds()) == 6
