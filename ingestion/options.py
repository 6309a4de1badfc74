"""Collector options: from the Settings object when it has the field, else ``LODESTONE_*``.

These are the collector's tunables not (yet) in :mod:`kernel.settings`; each is read from
the Settings object first, so moving a field there changes nothing for operators.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kernel.settings import Settings


def _read(settings: Settings, name: str, default: float) -> float:
    value: Any = getattr(settings, name, None)
    if value is None:
        raw = os.environ.get(f"LODESTONE_{name.upper()}", "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"LODESTONE_{name.upper()} must be a number, got {raw!r}") from None
    if float(value) < 0:
        raise ValueError(f"LODESTONE_{name.upper()} must be >= 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class CollectorOptions:
    """Rate limits (0 disables one), shipping cadence, config cache lifetime."""

    rate_limit_ip_rps: float = 50.0  # requests per second per client IP
    rate_limit_ip_burst: float = 200.0
    rate_limit_org_eps: float = 20_000.0  # events per second per organization
    rate_limit_org_burst: float = 200_000.0
    ship_interval_ms: float = 200.0  # how often the shipper looks for sealed segments
    config_max_age_s: float = 60.0  # browser cache lifetime of /c.json

    @classmethod
    def from_settings(cls, settings: Settings) -> CollectorOptions:
        defaults = cls()
        return cls(**{
            name: _read(settings, name, getattr(defaults, name))
            for name in cls.__dataclass_fields__
        })
