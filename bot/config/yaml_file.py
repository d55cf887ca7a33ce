"""YAML as brandpulse reads it: the safe loader, with a budget on what aliases expand to and on nesting.

YAML's anchors and aliases (``&name``, ``*name``, ``<<: *name``) let a file share a block, and also let 2 KB of
text name a billion nodes (each list made of nine aliases to the previous one): the parser builds the shared
objects at once, but whatever walks the result (validation, comparing two versions) walks every expansion. So the
composer counts each node as often as aliases repeat it and stops past ``YAML_MAX_NODES``; and it stops past
``YAML_MAX_DEPTH`` levels of nesting, well before Python's own recursion limit.
"""

from __future__ import annotations

from typing import Any

from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

# Nodes of a document once aliases are expanded (every scalar, list and mapping, keys included): a brands file of
# 500 brands with 20 keywords each (200 KB) has about 20,000.
YAML_MAX_NODES = 200_000
# Levels of lists and mappings inside each other, scalars counted: the brands file needs 7 (a keyword alert's phrases).
YAML_MAX_DEPTH = 32


class BoundedLoader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
    """``yaml.SafeLoader`` whose composer counts expanded nodes and nesting, and refuses an alias to a node that
    contains it. (The pure-Python parser, as ``safe_load``'s: libyaml's is faster but places and words its errors
    differently.)"""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        # Expanded size of each composed node, by identity (the nodes live as long as the document).
        self.sizes: dict[int, int] = {}
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        if self.check_event(AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self.sizes:
                raise ComposerError(None, None, "an alias refers to a node that contains it", mark)
            return node
        self._depth += 1
        try:
            if self._depth > YAML_MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {YAML_MAX_DEPTH} levels", mark)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        size = 1
        if isinstance(node, SequenceNode):
            size += sum(self.sizes[id(child)] for child in node.value)
        elif isinstance(node, MappingNode):
            size += sum(self.sizes[id(key)] + self.sizes[id(value)] for key, value in node.value)
        if size > YAML_MAX_NODES:
            raise ComposerError(
                None,
                None,
                f"more than {YAML_MAX_NODES:,} nodes once aliases are expanded (an alias bomb, or a file too large)",
                mark,
            )
        self.sizes[id(node)] = size
        return node


def load_yaml(text: str) -> Any:
    """The single document of ``text``; ``yaml.YAMLError`` (with the line and column where it has them) when it is
    not YAML or exceeds the limits."""
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
