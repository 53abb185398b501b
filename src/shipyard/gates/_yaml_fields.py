"""Reading a user's YAML document field by field, so every mistake names its source, line and path.

The gate policy parser and the monitoring settings parser walk the composed node tree through a
``FieldReader``; what the fields mean, and every check on their values, stays in those parsers.
Safe loader only; no I/O, no knowledge of policies or settings here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import yaml

from shipyard.core.errors import InvalidInputError

ScalarCheck = Callable[[Any], bool]
"""Whether a constructed scalar has the type a field wants."""

UnknownField = Callable[[str, str, Sequence[str]], str]
"""``(path, key, allowed) -> problem``: the message for a key a mapping does not allow."""

_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """What a kind of document raises and how its messages word the parts they do not share.

    The two documents were written with slightly different wording, which users and tests
    already rely on; these fields keep each one's wording exact.

    Attributes:
        error: Raised for every mistake.
        noun: The field path named for the document itself (``policy``, ``settings``).
        shape: What the document should be, for YAML syntax errors (``a policy is one YAML
            mapping of sections (...)``).
        key_names: What a mapping's keys must be, after ``expected`` (``field names``).
        unknown_field: The problem for a key the mapping does not allow; the message then
            reads ``<source> line <n>: <problem>``.
        syntax_context: Whether a YAML syntax error also quotes the parser's context
            (``(while parsing a flow mapping on line 3)``).
    """

    error: type[InvalidInputError]
    noun: str
    shape: str
    key_names: str
    unknown_field: UnknownField
    syntax_context: bool = True


class FieldReader:
    """Reads the nodes of one document, raising the document kind's error for any mistake.

    Every error message reads ``<source> line <n>: <field path>: <problem>``, except YAML
    syntax errors (``<source> line <n>: invalid YAML: <problem>. Fix the syntax; <shape>.``) and
    unknown fields (``<source> line <n>:`` and the kind's own wording).
    """

    def __init__(self, kind: DocumentKind, source: str) -> None:
        self.kind = kind
        self.source = source
        self._constructor = yaml.SafeLoader("")
        # Key node of each value node read, to point at the key when a name is wrong.
        self._key_nodes: dict[int, yaml.Node] = {}

    def compose(self, text: str) -> yaml.Node | None:
        """The document's root node, or None for an empty document.

        Nodes rather than values, so that later errors can name their line.
        """
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except RecursionError:  # thousands of nested brackets: refuse, do not crash
            raise self.kind.error(
                f"{self.source}: the YAML nests too deeply to read; {self.kind.shape}."
            ) from None
        except yaml.MarkedYAMLError as exc:
            problem = yaml_problem(exc, with_context=self.kind.syntax_context)
            raise self.kind.error(
                f"{self.source}{problem}. Fix the syntax; {self.kind.shape}."
            ) from None
        except yaml.YAMLError as exc:
            raise self.kind.error(f"{self.source}: invalid YAML: {exc}") from None

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        allowed: Sequence[str] | None,
        *,
        what: str = "a mapping",
    ) -> dict[str, yaml.Node]:
        """The value nodes of a mapping by key, refusing unknown and repeated keys.

        A null value (a section with everything commented out) is an empty mapping.

        Args:
            node: The mapping node.
            path: Its field path; empty for the document itself.
            allowed: The keys it may have, or None for any (names the caller checks).
            what: What the node should be, for the message when it is not a mapping.

        Returns:
            Key to value node, in document order.
        """
        if is_null(node):
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path or self.kind.noun, f"expected {what}, got {shown(node)}")
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            full = f"{path}.{key}" if path else key
            if allowed is not None and key not in allowed:
                problem = self.kind.unknown_field(full, key, allowed)
                raise self.kind.error(f"{self.where(key_node)}: {problem}")
            if key in fields:
                self.fail(key_node, full, "given twice; keep one")
            fields[key] = value_node
            self._key_nodes[id(value_node)] = key_node
        return fields

    def key_of(self, value: yaml.Node) -> yaml.Node:
        """The key node of a value node that :meth:`mapping` returned."""
        return self._key_nodes[id(value)]

    def scalar(self, node: yaml.Node, path: str, accepts: ScalarCheck, expected: str) -> Any:
        """The value of a scalar node that ``accepts`` takes.

        Args:
            node: The node.
            path: Its field path.
            accepts: The check on the constructed value (see :func:`is_number` and the rest).
            expected: What the field takes, as the message says after ``expected``.

        Returns:
            The value, constructed by the safe loader.
        """
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self._constructor.construct_object(node)
            # The safe loader's constructors raise whatever a bad tagged value trips over:
            # `!!int oops` ValueError, `!!bool maybe` KeyError, `!!timestamp nope`
            # AttributeError, `!!float ''` IndexError. Each is the document's mistake.
            except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, IndexError):
                self.fail(node, path, f"expected {expected}, got a value tagged {node.tag!r}")
            if accepts(value):
                return value
        self.fail(node, path, f"expected {expected}, got {shown(node)}")

    def where(self, node: yaml.Node) -> str:
        """``<source> line <n>`` for the line the node starts on."""
        return f"{self.source} line {node.start_mark.line + 1}"

    def fail(self, node: yaml.Node, path: str, problem: str) -> NoReturn:
        """Raise the kind's error: ``<source> line <n>: <path>: <problem>``."""
        raise self.kind.error(f"{self.where(node)}: {path}: {problem}")

    def _key(self, node: yaml.Node, path: str) -> str:
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
            return str(node.value)
        self.fail(
            node, path or self.kind.noun, f"expected {self.kind.key_names}, got {shown(node)}"
        )


def yaml_problem(exc: yaml.MarkedYAMLError, *, with_context: bool = True) -> str:
    """`` line N: invalid YAML: <problem>`` from a YAML error's marks.

    With ``with_context``, the parser's context follows: ``(<context> on line M)``, or
    ``<context>, but ...`` where the problem continues it.
    """
    mark = exc.problem_mark or exc.context_mark
    where = f" line {mark.line + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "unreadable"
    context = exc.context if exc.problem and with_context else None
    if context and problem.startswith("but "):
        problem = f"{context}, {problem}"
    elif context:
        at = f" on line {exc.context_mark.line + 1}" if exc.context_mark is not None else ""
        problem = f"{problem} ({context}{at})"
    return f"{where}: invalid YAML: {problem}"


def is_null(node: yaml.Node) -> bool:
    """True for an explicit or implicit null (``~``, ``null``, nothing)."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def is_int(value: Any) -> bool:
    """True for an integer; YAML booleans are not numbers here."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for an integer or a float; YAML booleans are not numbers here."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_bool(value: Any) -> bool:
    """True for ``true`` or ``false``."""
    return isinstance(value, bool)


def is_str(value: Any) -> bool:
    """True for a string."""
    return isinstance(value, str)


def shown(node: yaml.Node) -> str:
    """A node as an error message quotes it (long values cut to 40 characters)."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing (null)"
    text = str(node.value)
    return repr(text if len(text) <= 40 else text[:37] + "...")
