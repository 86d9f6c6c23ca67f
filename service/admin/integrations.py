"""The admin's view of the optional parts (provisioning, billing): each page or panel that needs one
asks here first, so the admin works the same with or without them."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from types import ModuleType
from typing import Any

logger = logging.getLogger("seatlease.admin")


def _module(name: str) -> ModuleType | None:
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        logger.warning("admin: %s is present but does not import", name, exc_info=True)
        return None


def provisioning_available() -> bool:
    return _module("domain.models.credential") is not None and _module("service.api.provisioning") is not None


def billing_available() -> bool:
    return _module("domain.models.invoice") is not None and _module("billing.run") is not None


def provisioning_kpis_module() -> ModuleType | None:
    return _module("provisioning.kpis")


def module(name: str) -> ModuleType | None:
    return _module(name)


def attr(name: str, attribute: str) -> Any:
    mod = _module(name)
    return getattr(mod, attribute, None) if mod is not None else None
