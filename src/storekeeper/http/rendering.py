"""Lists rendered to JSON on a fast path derived from their response model.

A page of 50 items validated and serialised by pydantic costs several hundred µs of Python
(docs/performance.md). The response model stays the one definition of a resource's JSON: from
its fields this module derives, once per model, a function that turns a domain object into
plain values that orjson writes, byte for byte what the model's own serialiser writes (a
test holds the two to each other, on both databases). A field of a type it does not know is
refused when the renderer is built, never rendered differently.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel, PlainSerializer

Convert = Callable[[Any], Any]
_PLAIN = (int, str, bool, float, datetime, type(None))
# A JSON object kept as such (a job's result, read back from JSON): written as it is.
_JSON_OBJECT = dict[str, Any]


def _same(value: Any) -> Any:
    return value


def _converter(annotation: Any, metadata: Sequence[Any]) -> Convert:
    """How one field's value becomes what orjson writes as the model's serialiser would."""
    for meta in metadata:
        if isinstance(meta, PlainSerializer):
            if meta.when_used not in ("json", "always"):
                raise TypeError(f"a serializer used {meta.when_used!r} is not rendered here")
            serialize: Convert = meta.func  # type: ignore[assignment]
            return serialize
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return object_renderer(annotation)
    if origin is list:
        (inner,) = get_args(annotation)
        each = _converter(inner, ())
        return _same if each is _same else (lambda values: [each(v) for v in values])
    if origin in (Union, types.UnionType):
        optional = _optional_model(get_args(annotation))
        if optional is not None:
            inner_render = object_renderer(optional)
            return lambda value: None if value is None else inner_render(value)
    if origin in (Union, types.UnionType) and all(
        a in _PLAIN or a == _JSON_OBJECT for a in get_args(annotation)
    ):
        return _same
    if origin is Literal and all(isinstance(a, str | int) for a in get_args(annotation)):
        return _same
    if annotation in _PLAIN or annotation == _JSON_OBJECT:
        return _same
    raise TypeError(f"no fast rendering for a field of type {annotation!r}")


def _optional_model(args: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model of a `Model | None` field (an embedded object that may be absent), else None."""
    others = [a for a in args if a is not type(None)]
    if len(args) == 2 and len(others) == 1:
        (inner,) = others
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None


@cache
def object_renderer(model: type[BaseModel]) -> Convert:
    """A function from an object with the model's attributes to the values of its JSON.

    Written out as one dict display per model (as dataclasses writes its __init__): a loop
    over the fields costs more than the rendering itself on a page of 50 items.
    """
    if any(info.alias or info.exclude for info in model.model_fields.values()):
        raise TypeError(f"{model.__name__}: aliases and exclusions are not rendered here")
    names = list(model.model_fields)
    if not all(name.isidentifier() for name in names):
        raise TypeError(f"{model.__name__}: a field name is not an identifier")
    converters: dict[str, Convert] = {}
    entries = []
    for name, info in model.model_fields.items():
        convert = _converter(info.annotation, info.metadata)
        value = f"obj.{name}"
        if convert is not _same:
            converters[f"convert_{name}"] = convert
            value = f"convert_{name}({value})"
        entries.append(f"{name!r}: {value}")
    source = f"lambda obj: {{{', '.join(entries)}}}"
    # Made only of the model's own field names (identifiers, checked above): no input of a
    # client's ever reaches this text.
    render: Convert = eval(source, converters)  # noqa: S307
    return render


def render_list(model: type[BaseModel], rows: Sequence[Any]) -> bytes:
    """The JSON array of the rows as the model shapes each (as its serialiser would)."""
    render = object_renderer(model)
    return orjson.dumps([render(row) for row in rows], option=orjson.OPT_UTC_Z) + b"\n"
