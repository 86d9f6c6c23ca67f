"""Stripe's object shapes, read from the `stripe` SDK's own typed resources (a project dependency):
the stand-in builds its answers from them, and the tests check those answers against them. Nothing
outside the repository is read."""

from __future__ import annotations

import types
from typing import Any, ClassVar, ForwardRef, Literal, Union, get_args, get_origin

import stripe
from stripe._stripe_object import UntypedStripeObject


def fields(resource: type[stripe.StripeObject]) -> dict[str, Any]:
    """The fields the SDK declares on a resource (the attributes of Stripe's API object), by name."""
    return {
        name: tp for name, tp in resource.__annotations__.items() if not name.startswith("_") and get_origin(tp) is not ClassVar
    }


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _class_of(tp: Any) -> Any:
    return get_origin(tp) or tp


def blank(resource: type[stripe.StripeObject]) -> dict[str, Any]:
    """Every field of the resource, empty as Stripe answers it before anything is set: null where the
    SDK allows null (and for nested objects), else zero, the empty string or the first literal."""
    return {name: _empty(tp) for name, tp in fields(resource).items()}


def _empty(tp: Any) -> Any:
    args = get_args(tp)
    if _is_union(tp):
        return None if type(None) in args else _empty(args[0])
    if get_origin(tp) is Literal:
        return args[0]
    if tp in (int, float):
        return tp()
    if tp is str:
        return ""
    if tp is bool:
        return False
    cls = _class_of(tp)
    if isinstance(cls, type) and issubclass(cls, stripe.ListObject):
        return {"object": "list", "data": [], "has_more": False, "url": ""}
    if cls is list:
        return []
    if cls is dict or (isinstance(cls, type) and issubclass(cls, UntypedStripeObject)):
        return {}  # metadata and other free-form maps
    return None


def conforms(value: Any, tp: Any) -> bool:
    """Whether a JSON value is one the SDK's annotation allows (an expanded object is a JSON object)."""
    args = get_args(tp)
    if tp is Any:
        return True
    if tp is type(None):
        return value is None
    if _is_union(tp):
        return any(conforms(value, a) for a in args)
    if get_origin(tp) is Literal:
        return value in args
    if isinstance(tp, ForwardRef | str):
        return isinstance(value, dict)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp in (str, float):
        return isinstance(value, tp)
    cls = _class_of(tp)
    if isinstance(cls, type) and issubclass(cls, stripe.ListObject):
        return isinstance(value, dict) and value.get("object") == "list" and isinstance(value.get("data"), list)
    if (isinstance(cls, type) and issubclass(cls, stripe.StripeObject)) or cls is dict:
        return isinstance(value, dict)
    if cls is list:
        return isinstance(value, list)
    return False


def check(answer: dict[str, Any], resource: type[stripe.StripeObject], used: tuple[str, ...]) -> list[str]:
    """What is wrong with an answer, as the SDK types it: a field the SDK does not know, a field we
    read that is missing or of another type, or an answer the SDK does not parse into the resource."""
    declared = fields(resource)
    problems = [f"{resource.__name__} has no field {name!r}" for name in sorted(set(answer) - set(declared))]
    for name in used:
        if name not in answer:
            problems.append(f"{resource.__name__}.{name} is missing")
        elif not conforms(answer[name], declared[name]):
            problems.append(f"{resource.__name__}.{name} = {answer[name]!r} is not a {declared[name]}")
    parsed = resource.construct_from(answer, "sk_test_standin")
    if not isinstance(parsed, resource) or parsed.to_dict().get("id") != answer.get("id"):
        problems.append(f"the SDK does not parse the answer as a {resource.__name__}")
    return problems
