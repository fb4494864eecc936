"""What stripe-python's generated classes say a served JSON value looks like.

stripe-python's resource classes ("File generated from our OpenAPI spec") annotate every field
of every object at the SDK's pinned API version: a field Stripe always sends, non-null, has a
plain annotation; `Optional[...]` may be null or absent. `shape_violations` walks a JSON value
against those annotations, read at run time (no field list is written down here), and names
every difference by its path: the object's `object` name, then keys, with `[*]` for any list
element (so the same difference in many responses reads as one).
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import sys
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any

from stripe import StripeObject
from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES
from stripe._stripe_object import UntypedStripeObject

_NONE = type(None)
# Stripe answers DELETE with a stub of the object: its id, its `object` and `deleted: true`.
_DELETED_STUB = ("id", "object", "deleted")


def sdk_class(object_name: str) -> type[StripeObject] | None:
    """The stripe-python class of objects whose `object` is `object_name`, if it has one."""
    found = OBJECT_CLASSES.get(object_name)
    if found is None:
        return None
    module, name = found
    return getattr(importlib.import_module(module), name)


def shape_violations(value: Any) -> list[str]:
    """Every way the JSON `value`, a served object or list, differs from its SDK class."""
    return _check(value, Any, "")


@functools.cache
def _annotation_names(module_name: str) -> dict[str, Any]:
    """The module's globals plus the names it imports only for type checkers.

    Generated modules import the classes their string annotations name
    (`ExpandableField["Customer"]`) under `if TYPE_CHECKING:`, so `typing.get_type_hints` cannot
    resolve them from the module alone; those imports are done here, one by one.
    """
    module = sys.modules[module_name]
    names = dict(vars(module))
    for block in ast.parse(inspect.getsource(module)).body:
        if not (isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"):
            continue
        for node in block.body:
            # Request-parameter types are never the type of a response field.
            if isinstance(node, ast.ImportFrom) and not node.module.startswith("stripe.params"):
                imported = importlib.import_module(node.module)
                for alias in node.names:
                    names[alias.asname or alias.name] = getattr(imported, alias.name)
    return names


@functools.cache
def _fields(cls: type) -> dict[str, Any]:
    """JSON key -> resolved annotation of each response field `cls` declares."""
    # Base classes (StripeObject, ListObject) annotate in their own modules' names; the class's
    # own module is applied last so that its names win.
    names: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.startswith("stripe"):
            names.update(_annotation_names(klass.__module__))
    hints = typing.get_type_hints(cls, globalns=names)
    # Fields whose JSON names are Python keywords (`in`) are declared as `in_`.
    renamed = getattr(cls, "_field_remappings", {})
    return {
        renamed.get(name, name): hint
        for name, hint in hints.items()
        if not name.startswith("_") and typing.get_origin(hint) is not typing.ClassVar
    }


def _describe(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is Any:
        return "any"
    if origin is typing.Literal:
        return " | ".join(repr(arg) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_describe(arg) for arg in args)
    if origin is not None:
        name = getattr(origin, "__qualname__", str(origin))
        return f"{name}[{', '.join(_describe(arg) for arg in args)}]"
    if annotation is _NONE:
        return "null"
    return getattr(annotation, "__qualname__", str(annotation))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _kind_of(annotation: Any) -> str | None:
    """The JSON kind a value of `annotation` has, or None when it may have several."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        kinds = {_json_kind(arg) for arg in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 else None
    if annotation in (str, Decimal):
        return "string"
    if annotation in (int, float):
        return "number"
    if annotation is bool:
        return "boolean"
    if origin in (list, typing.List):  # noqa: UP006 (the SDK's annotations use typing.List)
        return "array"
    if origin in (dict, typing.Dict) or _is_object_class(origin or annotation):  # noqa: UP006
        return "object"
    return None


def _is_object_class(annotation: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, StripeObject)


def _check(value: Any, expected: Any, path: str) -> list[str]:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any:
        if not isinstance(value, dict):
            return []
        if value.get("object") == "list":
            return _check_list(value, Any, "list")
        cls = sdk_class(value.get("object", ""))
        return [] if cls is None else _check_object(value, cls, "")
    if origin in (typing.Union, types.UnionType):
        return _check_union(value, expected, path)
    if value is None:
        return [f"{path}: null, but it is {_describe(expected)}, never null"]
    if origin is typing.Literal:
        if value in args:
            return []
        return [f"{path}: {value!r} is not one of {_describe(expected)}"]
    if expected is Decimal:
        try:
            Decimal(value if isinstance(value, str) else "x")
        except InvalidOperation:
            return [f"{path}: {value!r} is not a decimal string"]
        return []
    if expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {_json_kind(value)} {value!r}, expected a number"]
    if expected in (str, int, bool):
        ok = type(value) is expected
        return (
            [] if ok else [f"{path}: {_json_kind(value)} {value!r}, expected {_describe(expected)}"]
        )
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            return [f"{path}: {_json_kind(value)}, expected an array"]
        return [v for item in value for v in _check(item, args[0], f"{path}[*]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{path}: {_json_kind(value)}, expected an object"]
        return [v for key, item in value.items() for v in _check(item, args[1], f"{path}.{key}")]
    if origin is ListObject:
        return _check_list(value, args[0], path)
    if (origin or expected) is UntypedStripeObject or expected is StripeObject:
        # A free dict (metadata, an event's `data.object`), unless it says which object it is.
        if not isinstance(value, dict):
            return [f"{path}: {_json_kind(value)}, expected an object"]
        return _check(value, Any, path)
    if _is_object_class(expected):
        return _check_object(value, expected, path)
    raise TypeError(f"{path}: no rule for the annotation {expected!r}")


def _check_union(value: Any, expected: Any, path: str) -> list[str]:
    options = [arg for arg in typing.get_args(expected) if arg is not _NONE]
    if value is None:
        if _NONE in typing.get_args(expected):
            return []
        return [f"{path}: null, but it is {_describe(expected)}, never null"]
    kind = _json_kind(value)
    # `Union[Literal["active", ...], str]` accepts any string; try every option of the value's
    # kind, and report against the one that fits best (for a dict, the class its `object` names).
    fitting = [option for option in options if _kind_of(option) in (kind, None)]
    if not fitting:
        return [f"{path}: {kind} {value!r}, expected {_describe(expected)}"]
    if kind == "object" and isinstance(value.get("object"), str):
        named = [
            option for option in fitting if getattr(option, "OBJECT_NAME", None) == value["object"]
        ]
        fitting = named or fitting
    found = [_check(value, option, path) for option in fitting]
    return min(found, key=len)


def _check_list(value: Any, item: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {_json_kind(value)}, expected a list object"]
    violations = []
    for key in value.keys() - {"object", *_fields(ListObject)}:
        violations.append(f"{path}.{key}: not a field of a list object")
    if value.get("object") != "list":
        violations.append(f"{path}.object: {value.get('object')!r}, expected 'list'")
    for key, annotation in _fields(ListObject).items():
        if key not in value:
            violations.append(f"{path}.{key}: missing from a list object")
        elif key == "data":
            violations += _check(value["data"], typing.List[item], f"{path}.data")  # noqa: UP006
        else:
            violations += _check(value[key], annotation, f"{path}.{key}")
    return violations


def _check_object(value: Any, cls: type, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {_json_kind(value)}, expected a {cls.__qualname__} object"]
    # A resource (a class with an `object` name) starts its own path, so a price's difference
    # reads the same whether the price came alone or inside a subscription.
    object_name = getattr(cls, "OBJECT_NAME", None)
    deleted = value.get("deleted") is True
    if object_name:
        path = f"{object_name}[deleted]" if deleted else object_name
    fields = _fields(cls)
    violations = []
    for key, item in value.items():
        if key not in fields:
            violations.append(f"{path}.{key}: not a field of {cls.__qualname__}")
        else:
            violations += _check(item, fields[key], f"{path}.{key}")
    for key, annotation in fields.items():
        if key in value:
            continue
        required = key in _DELETED_STUB if deleted else _NONE not in typing.get_args(annotation)
        if required:
            violations.append(
                f"{path}.{key}: missing, but {cls.__qualname__}.{key} is "
                f"{_describe(annotation)}, always sent"
            )
    return violations
