"""Connection: masked in every rendering, values only through explicit field access."""

from __future__ import annotations

import copy
import html
import inspect
import io
import json
import logging
import pickle
import pprint
import pydoc
import reprlib
import sys
import traceback

import pytest

from watchdog_lab.sdk import Connection, ConnectionKindError, UnknownField

from .conftest import ENVIRONMENT, KEY_ID, MASKED, PASSPHRASE, PEM, TOKEN, assert_masked

# --- renderings ---------------------------------------------------------------------------


def test_repr_is_the_masked_form(conn: Connection) -> None:
    assert repr(conn) == MASKED


def test_str_is_the_masked_form(conn: Connection) -> None:
    assert str(conn) == MASKED


@pytest.mark.parametrize(
    "render",
    [
        lambda c: f"{c}",
        lambda c: f"{c!r}",
        lambda c: f"{c!s}",
        lambda c: f"{c=}",
        lambda c: f"{c:>300}",
        lambda c: f"{c:*^400}",
        lambda c: format(c, ""),
    ],
    ids=["plain", "bang-r", "bang-s", "self-documenting", "right-aligned", "centred", "format()"],
)
def test_f_strings_and_format_specs_show_only_the_mask(conn: Connection, render) -> None:
    assert_masked(render(conn))


def test_format_spec_applies_to_the_masked_text(conn: Connection) -> None:
    assert f"{conn:>300}" == MASKED.rjust(300)


@pytest.mark.parametrize(
    "render",
    [
        lambda c: "%s" % c,  # noqa: UP031 - %-formatting is the path under test
        lambda c: "%s" % (c,),  # noqa: UP031 - %-formatting is the path under test
        lambda c: "%r" % (c,),  # noqa: UP031 - %-formatting is the path under test
        lambda c: "%-300s|" % (c,),  # noqa: UP031 - %-formatting is the path under test
    ],
    ids=["bare-s", "tuple-s", "tuple-r", "padded"],
)
def test_percent_formatting_shows_only_the_mask(conn: Connection, render) -> None:
    assert_masked(render(conn))


@pytest.mark.parametrize("template", ["{}", "{!r}", "{0!s}", "{0:>300}", "{c}"], ids=lambda t: t)
def test_str_format_shows_only_the_mask(conn: Connection, template: str) -> None:
    assert_masked(template.format(conn, c=conn))


def _capturing_logger() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test-sdk-masking-{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_logging_a_connection_as_the_message_shows_only_the_mask(conn: Connection) -> None:
    logger, stream = _capturing_logger()
    logger.info(conn)
    assert_masked(stream.getvalue())


@pytest.mark.parametrize("message", ["using %s", "using %r", "using %-300s!"])
def test_logging_a_connection_as_an_argument_shows_only_the_mask(
    conn: Connection, message: str
) -> None:
    logger, stream = _capturing_logger()
    logger.warning(message, conn)
    assert_masked(stream.getvalue())


def test_logging_with_a_traceback_shows_only_the_mask(conn: Connection) -> None:
    logger, stream = _capturing_logger()
    try:
        raise RuntimeError(conn)
    except RuntimeError:
        logger.exception("failed with %s", conn)
    assert_masked(stream.getvalue())


def test_pprint_shows_only_the_mask_even_when_nested(conn: Connection) -> None:
    text = pprint.pformat({"connections": [conn, {"again": conn}]}, width=20)
    assert_masked(text)
    assert_masked(pprint.pformat(conn))


def test_ipython_pretty_printer_shows_only_the_mask(conn: Connection) -> None:
    pretty = pytest.importorskip("IPython.lib.pretty")
    assert_masked(pretty.pretty(conn))
    assert_masked(pretty.pretty({"nested": [conn, (conn,)]}, max_width=10))


def test_ipython_display_offers_only_masked_plain_text(conn: Connection) -> None:
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _metadata = formatters.DisplayFormatter().format(conn)
    assert list(data) == ["text/plain"]
    assert_masked(data["text/plain"])


def test_reprlib_and_pydoc_reprs_show_only_the_mask(conn: Connection) -> None:
    # pydoc's text and HTML reprs are what cgitb-style tracebacks use for locals; reprlib is
    # what many debuggers use. Widen their truncation so the whole rendering is compared.
    for repr_tool in (reprlib.Repr(), pydoc.TextRepr(), pydoc.HTMLRepr()):
        repr_tool.maxother = 1000
        assert_masked(html.unescape(repr_tool.repr(conn)))


def test_truncating_reprs_show_no_value(conn: Connection) -> None:
    for text in (reprlib.repr(conn), pydoc.text.repr(conn), pydoc.html.repr(conn)):
        for secret in (KEY_ID, PEM, TOKEN, PASSPHRASE):
            assert secret not in text
        assert html.unescape(text).startswith("Connection(na")


def _fail_with_connection_in_scope(conn: Connection) -> None:
    holder = {"conn": conn, "list": [conn]}
    raise ValueError(f"bad state {holder['conn']}")


def _caught_exception(conn: Connection) -> BaseException:
    try:
        _fail_with_connection_in_scope(conn)
    except ValueError as exc:
        return exc
    raise AssertionError("expected _fail_with_connection_in_scope to raise")


def test_traceback_with_captured_locals_shows_only_the_mask(conn: Connection) -> None:
    exc = _caught_exception(conn)
    te = traceback.TracebackException.from_exception(exc, capture_locals=True)
    text = "".join(te.format())
    assert_masked(text)
    assert "holder = " in text  # the locals really were rendered


def test_exception_carrying_a_connection_prints_only_the_mask(conn: Connection) -> None:
    text = "".join(traceback.format_exception(RuntimeError(conn)))
    assert_masked(text)


def _explicit_access_fails(conn: Connection) -> str:
    return conn.private_key_pem + conn["private_key_pem"] + 1  # type: ignore[operator]


def test_ipython_verbose_traceback_shows_only_the_mask(conn: Connection) -> None:
    ultratb = pytest.importorskip("IPython.core.ultratb")
    try:
        _explicit_access_fails(conn)
    except TypeError:
        etype, value, tb = sys.exc_info()
    text = ultratb.VerboseTB(theme_name="nocolor").text(etype, value, tb)
    assert_masked(text)
    assert "conn = " in text  # the verbose mode did show variables


# --- no structural way to the values -------------------------------------------------------


def test_vars_and_dunder_dict_are_unavailable(conn: Connection) -> None:
    with pytest.raises(TypeError):
        vars(conn)
    with pytest.raises(AttributeError):
        conn.__dict__  # noqa: B018


def test_walking_every_attribute_like_a_variable_inspector_finds_no_value(
    conn: Connection,
) -> None:
    names = dir(conn)
    for secret in (KEY_ID, PEM, TOKEN, PASSPHRASE):
        assert all(secret not in name for name in names)
    # Field names are not offered: inspectors getattr() whatever dir() lists.
    assert "private_key_pem" not in names
    rendered = [repr(value) for _, value in inspect.getmembers(conn)]
    for secret in (KEY_ID, PEM, TOKEN, PASSPHRASE):
        assert all(secret not in text for text in rendered)


def test_pickling_is_refused_with_an_explanation(conn: Connection) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(conn, protocol=protocol)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps({"nested": [conn]})


def test_copy_and_deepcopy_share_the_same_immutable_object(conn: Connection) -> None:
    assert copy.copy(conn) is conn
    assert copy.deepcopy(conn) is conn
    config = {"conn": conn, "params": [1, 2]}
    cloned = copy.deepcopy(config)
    assert cloned["conn"] is conn and cloned["params"] is not config["params"]


def test_json_serialization_is_refused(conn: Connection) -> None:
    with pytest.raises(TypeError):
        json.dumps(conn)
    with pytest.raises(TypeError):
        json.dumps({"conn": conn})
    assert_masked(json.dumps({"conn": conn}, default=str))


def test_it_cannot_be_iterated_or_unpacked_into_a_dict(conn: Connection) -> None:
    with pytest.raises(TypeError, match="field_names"):
        list(conn)
    with pytest.raises(TypeError):
        dict(conn)
    with pytest.raises(TypeError):
        _ = {**conn}  # type: ignore[dict-item]


def test_underscore_names_are_never_served_from_fields() -> None:
    conn = Connection("X", "custom", {"_repr_html_": "<b>leak</b>", "__deepcopy__": "leak"})
    with pytest.raises(AttributeError):
        conn._repr_html_  # noqa: B018
    assert copy.deepcopy(conn) is conn
    assert conn["_repr_html_"] == "<b>leak</b>"


# --- explicit access ------------------------------------------------------------------------


def test_attribute_and_item_access_return_the_values(conn: Connection) -> None:
    assert conn.api_key_id == KEY_ID
    assert conn["private_key_pem"] == PEM
    assert conn.environment == ENVIRONMENT
    assert conn.token == TOKEN


def test_name_kind_and_field_names_are_exposed(conn: Connection) -> None:
    assert conn.name == "Kalshi"
    assert conn.kind == "kalshi"
    assert conn.field_names == (
        "api_key_id",
        "private_key_pem",
        "passphrase",
        "token",
        "environment",
    )
    assert "token" in conn and "nope" not in conn


def test_visibility_lists_levels_with_unlisted_fields_secret(conn: Connection) -> None:
    assert dict(conn.visibility) == {
        "api_key_id": "hint",
        "private_key_pem": "secret",
        "passphrase": "hint",
        "token": "secret",
        "environment": "public",
    }


def test_unknown_attribute_names_the_field_and_lists_field_names(conn: Connection) -> None:
    with pytest.raises(AttributeError) as caught:
        conn.api_secret  # noqa: B018
    message = str(caught.value)
    assert "'api_secret'" in message
    assert "api_key_id, private_key_pem, passphrase, token, environment" in message
    for secret in (KEY_ID, PEM, TOKEN, PASSPHRASE):
        assert secret not in message


def test_unknown_item_raises_key_error_naming_the_field(conn: Connection) -> None:
    with pytest.raises(KeyError) as caught:
        conn["api_secret"]
    assert isinstance(caught.value, UnknownField)
    message = str(caught.value)
    assert message.startswith("Connection 'Kalshi' has no field 'api_secret'")
    assert "private_key_pem" in message and PEM not in message


def test_item_access_with_a_non_string_is_a_type_error(conn: Connection) -> None:
    with pytest.raises(TypeError):
        conn[0]  # type: ignore[index]


def test_a_field_shadowed_by_an_attribute_stays_reachable_by_item() -> None:
    conn = Connection("X", "custom", {"name": "field-value"})
    assert conn.name == "X"
    assert conn["name"] == "field-value"


# --- masking rules as seen through repr ----------------------------------------------------


def test_hint_fields_show_three_characters_only_from_twelve_characters() -> None:
    conn = Connection(
        "X",
        "custom",
        {"long": "abcdefghijkl", "short": "abcdefghijk"},
        {"long": "hint", "short": "hint"},
    )
    assert repr(conn) == "Connection(name='X', kind='custom', long='abc***', short='***')"


def test_public_fields_show_whole_and_unlisted_fields_are_secret() -> None:
    conn = Connection("X", "custom", {"region": "eu-west-1", "secret": "s"}, {"region": "public"})
    assert repr(conn) == "Connection(name='X', kind='custom', region='eu-west-1', secret='***')"


# --- immutability, identity, construction -------------------------------------------------


def test_attributes_cannot_be_set_or_deleted(conn: Connection) -> None:
    with pytest.raises(AttributeError, match="read-only"):
        conn.api_key_id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        conn._masked = "Connection()"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del conn.name  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        conn.__class__ = object  # type: ignore[assignment]
    assert repr(conn) == MASKED and conn.api_key_id == KEY_ID


def test_subclassing_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be subclassed"):

        class Leaky(Connection):  # type: ignore[misc]
            def __repr__(self) -> str:
                return "leak"


def test_equality_is_identity() -> None:
    first = Connection("X", "custom", {"k": "v"})
    second = Connection("X", "custom", {"k": "v"})
    assert first == first
    assert first != second
    assert len({first, second, first}) == 2


def test_non_string_values_are_rejected_naming_the_field_not_the_value() -> None:
    with pytest.raises(TypeError) as caught:
        Connection("X", "custom", {"pin": 918273})  # type: ignore[dict-item]
    assert "'pin'" in str(caught.value) and "918273" not in str(caught.value)


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [({"missing": "public"}, "has no value"), ({"k": "visible"}, "must be one of")],
)
def test_bad_visibility_tables_are_rejected(visibility: dict[str, str], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        Connection("X", "custom", {"k": "v"}, visibility)


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_name_is_required(name: object) -> None:
    with pytest.raises(TypeError, match="name"):
        Connection(name, "custom", {})  # type: ignore[arg-type]


def test_kind_conveniences_on_another_kind_explain_which_kind_they_are_for() -> None:
    conn = Connection("Binance", "binance", {"api_key": "k"})
    assert not hasattr(conn, "base_url")
    with pytest.raises(ConnectionKindError, match="'kalshi' connections only"):
        conn.base_url  # noqa: B018
    with pytest.raises(ConnectionKindError, match="'kalshi' connections only"):
        conn.sign_request("GET", "/portfolio/balance")


def test_a_field_named_like_a_kind_convenience_is_served_on_other_kinds() -> None:
    conn = Connection(
        "Api", "rest", {"base_url": "https://example.invalid/api"}, {"base_url": "public"}
    )
    assert conn.base_url == "https://example.invalid/api"
