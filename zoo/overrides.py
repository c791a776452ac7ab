"""`KEY=VALUE` settings (`--set lr=3e-4`): one parser for every typed configuration.

`apply_overrides(SomeDataclass, ["a=1", "b=x,y"])` gives the keyword arguments, each value cast
to its field's type: ints, floats, bools (true/false/1/0/yes/no), "none" for optional fields,
comma-separated tuples. An unknown key is an error naming the closest keys.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

__all__ = ["cast", "literal", "split", "unknown_key"]


def split(item: str, underscores: bool = True) -> tuple[str, str]:
    """"key = value" -> ("key", "value"); dashes in the key become underscores (unless not
    `underscores`: a Spark setting's name may hold a dash, e.g. a bucket's).

    Raises:
        ValueError: the string has no "=" or no key.
    """
    key, sep, raw = item.partition("=")
    key, raw = key.strip(), raw.strip()
    if underscores:
        key = key.replace("-", "_")
    if not sep or not key:
        raise ValueError(f"override {item!r} is not KEY=VALUE")
    return key, raw


def unknown_key(key: str, known: Iterable[str], what: str) -> str:
    """The message for an unknown `key` of `what` ("TrainConfig key"), naming close matches."""
    known = list(known)
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else "no close match."
    return f"unknown {what} {key!r}: {hint} Keys: {', '.join(known)}"


def literal(raw: str) -> Any:
    """An untyped value: none, a bool, an int, a float, else the string itself."""
    lowered = raw.lower()
    if lowered in {"none", "null"}:
        return None
    if lowered in {"true", "false"}:
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def cast(raw: str, kind: Any, name: str) -> Any:
    """`raw` as a value of the type hint `kind` (of the field `name`, for the message).

    Raises:
        ValueError: the text does not fit the type.
    """
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        if raw.lower() in {"none", "null", ""}:
            return None
        return cast(raw, options[0], name)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        parts = [part.strip() for part in raw.strip("()[] ").split(",") if part.strip()]
        return tuple(cast(part, item, name) for part in parts)
    try:
        if kind is bool:
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        if kind is int:
            return int(raw)
        return kind(raw)
    except ValueError as err:
        raise ValueError(f"{name}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") \
            from err
