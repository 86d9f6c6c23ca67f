"""The admin's way to the billing and provisioning parts. Both ship in this package, so they are
imported plainly and are always there; the name-based `module` / `attr` remain only for the admin
pages that still look their helpers up by name (each should import what it calls instead)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import billing.calc
import billing.db
import billing.invoices
import billing.run
import billing.statements
import domain.models.credential
import domain.models.invoice
import provisioning.kpis
import service.api.billing
import service.api.provisioning

_MODULES: dict[str, ModuleType] = {
    m.__name__: m
    for m in (
        billing.calc,
        billing.db,
        billing.invoices,
        billing.run,
        billing.statements,
        domain.models.credential,
        domain.models.invoice,
        provisioning.kpis,
        service.api.billing,
        service.api.provisioning,
    )
}


def provisioning_available() -> bool:
    return True


def billing_available() -> bool:
    return True


def provisioning_kpis_module() -> ModuleType:
    return provisioning.kpis


def module(name: str) -> ModuleType | None:
    return _MODULES.get(name)


def attr(name: str, attribute: str) -> Any:
    mod = _MODULES.get(name)
    return getattr(mod, attribute, None) if mod is not None else None
