"""The YAML field reader shared by the gate policy and monitoring settings parsers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest
import yaml

from shipyard.core.errors import InvalidInputError
from shipyard.gates._yaml_fields import (
    DocumentKind,
    FieldReader,
    is_int,
    is_number,
    shown,
)


class ToyError(InvalidInputError):
    code = "invalid_toy"


def unknown(path: str, key: str, allowed: Sequence[str]) -> str:
    return f"{path}: not one of {', '.join(allowed)}"


KIND = DocumentKind(
    error=ToyError,
    noun="toy",
    shape="a toy is one mapping",
    key_names="toy keys",
    unknown_field=unknown,
)


def reader(*, syntax_context: bool = True) -> FieldReader:
    return FieldReader(replace(KIND, syntax_context=syntax_context), "toy.yaml")


def fields(text: str, allowed: Sequence[str] | None = ("a", "b")) -> dict[str, yaml.Node]:
    read = reader()
    root = read.compose(text)
    assert root is not None
    return read.mapping(root, "", allowed)


def test_an_empty_document_has_no_root_and_a_null_section_no_fields() -> None:
    read = reader()
    assert read.compose("") is None
    root = read.compose("a:\n  # all commented out\n")
    assert root is not None
    assert read.mapping(read.mapping(root, "", None)["a"], "a", ("x",)) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nc: 2\n", "toy.yaml line 2: c: not one of a, b"),
        ("a: 1\na: 2\n", "toy.yaml line 2: a: given twice; keep one"),
        ("1: x\n", "toy.yaml line 1: toy: expected toy keys, got '1'"),
        ("- a\n", "toy.yaml line 1: toy: expected a mapping, got a list"),
    ],
)
def test_mapping_mistakes_raise_the_kinds_error_with_its_wording(text: str, message: str) -> None:
    with pytest.raises(ToyError) as caught:
        fields(text)
    assert caught.value.message == message


def test_a_tag_the_safe_loader_cannot_construct_is_the_kinds_error_not_a_value_error() -> None:
    read = reader()
    node = fields("a: !!int oops\n")["a"]
    with pytest.raises(ToyError) as caught:
        read.scalar(node, "a", is_int, "an integer")
    assert caught.value.message == (
        "toy.yaml line 1: a: expected an integer, got a value tagged 'tag:yaml.org,2002:int'"
    )


@pytest.mark.parametrize("value", ["!!bool maybe", "!!timestamp nope", "!!float ''", "!!int ''"])
def test_other_broken_tags_are_the_kinds_error_too(value: str) -> None:
    read = reader()
    node = fields(f"a: {value}\n")["a"]
    with pytest.raises(ToyError, match=r"^toy.yaml line 1: a: expected an integer, got a value"):
        read.scalar(node, "a", is_int, "an integer")


def test_a_deeply_nested_document_is_the_kinds_error() -> None:
    with pytest.raises(ToyError, match="nests too deeply"):
        reader().compose("[" * 5000 + "]" * 5000)


def test_scalar_refuses_booleans_as_numbers_and_long_values_are_cut() -> None:
    read = reader()
    with pytest.raises(ToyError, match=r"line 1: a: expected a number, got 'true'$"):
        read.scalar(fields("a: true\n")["a"], "a", is_number, "a number")
    assert shown(fields(f"a: {'x' * 50}\n")["a"]) == repr("x" * 37 + "...")


def test_key_of_points_at_the_key_line_of_a_value_on_the_next_line() -> None:
    read = reader()
    root = read.compose("a:\n  - 1\n")
    assert root is not None
    value = read.mapping(root, "", None)["a"]
    assert read.key_of(value).start_mark.line == 0
    assert value.start_mark.line == 1


@pytest.mark.parametrize(
    ("syntax_context", "message"),
    [
        (
            True,
            "toy.yaml line 3: invalid YAML: expected ',' or '}', but got '<stream end>' (while "
            "parsing a flow mapping on line 1). Fix the syntax; a toy is one mapping.",
        ),
        (
            False,
            "toy.yaml line 3: invalid YAML: expected ',' or '}', but got '<stream end>'. Fix the "
            "syntax; a toy is one mapping.",
        ),
    ],
)
def test_yaml_syntax_errors_name_the_line_and_quote_the_context_only_if_asked(
    syntax_context: bool, message: str
) -> None:
    with pytest.raises(ToyError) as caught:
        reader(syntax_context=syntax_context).compose("a: {x: 1\n\n")
    assert caught.value.message == message
