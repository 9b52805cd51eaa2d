"""YAML as winner reads it: PyYAML's safe loader, except that a key written twice is an
error, and line numbers in messages counted as winner counts lines (at \\n only)."""

from __future__ import annotations

import yaml

from winner.errors import WinnerError


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key written twice in one mapping is an error.

    PyYAML keeps the last of two equal keys without a word, so a section written twice
    would silently drop the first one's settings. (Keys brought in by a merge `<<` may be
    overridden, as YAML intends.)
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first.setdefault(key, key_node)
                except TypeError:  # an unhashable key: PyYAML's own error follows
                    continue
                if earlier is not key_node:
                    raise DuplicateKey(key, earlier.start_mark, key_node.start_mark)
        return super().construct_mapping(node, deep)


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key, first, second):
        super().__init__(f"key {key!r} written twice")
        self.key, self.first, self.second = key, first, second


def _line(text: str, mark) -> int:
    """The 1-based line of a YAML mark, counted as winner counts lines (at \\n only; YAML also
    breaks lines at \\r, U+0085, U+2028 and U+2029)."""
    return text.count("\n", 0, mark.index) + 1


def parse_yaml(text: str, source: str):
    """YAML text -> Python values with the safe loader; a repeated key or a syntax error is a
    WinnerError naming `source` and the line (both lines for a repeated key)."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except DuplicateKey as exc:
        raise WinnerError(f"{source}:{_line(text, exc.second)}: key '{exc.key}' is written twice, on lines "
                          f"{_line(text, exc.first)} and {_line(text, exc.second)} (YAML would keep only the second)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{_line(text, mark)}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise WinnerError(f"{source}{line}: invalid YAML: {problem}") from None
