"""A small TOML writer for scenario files (the standard library reads TOML but does not write it)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def dumps(document: dict[str, Any]) -> str:
    """Scalars and inline values first, then [tables] and [[arrays of tables]], recursively.
    A table whose values are all scalars (like a year -> cap map) is written inline."""
    lines: list[str] = []

    def emit(table: dict[str, Any], path: list[str]) -> None:
        nested = []
        for key, value in table.items():
            if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
                nested.append((key, value))
            elif isinstance(value, dict) and path == [] and value:
                nested.append((key, value))
            elif _is_table_array(value):
                nested.append((key, value))
            else:
                lines.append(f"{_key(str(key))} = {_value(value)}")
        for key, value in nested:
            child = path + [_key(str(key))]
            if _is_table_array(value):
                for item in value:
                    lines.extend(["", f"[[{'.'.join(child)}]]"])
                    emit(item, child)
            else:
                lines.extend(["", f"[{'.'.join(child)}]"])
                emit(value, child)

    emit(document, [])
    return "\n".join(lines).lstrip("\n") + "\n"
