"""Caps on what the store keeps: records and bytes per tenant and in the whole process.

A *record* is one entry of a collection that owns it (index collections, which only point at records
owned elsewhere, are not counted). Its *size* is the length of its compact JSON, a lower bound of the
memory it holds (a short message of ~125 JSON bytes costs the process ~900 B of RSS). Defaults, chosen so
that a laptop survives a careless or hostile client while every bench and test fits well inside them:

==================  ==========================  =============================
cap                 default                     environment variable
==================  ==========================  =============================
records per tenant  1,000,000                   ``CONVO_MOCK_TENANT_MAX_RECORDS``
bytes per tenant    256 MiB                     ``CONVO_MOCK_TENANT_MAX_BYTES``
records in total    4,000,000                   ``CONVO_MOCK_MAX_RECORDS``
bytes in total      2 GiB                       ``CONVO_MOCK_MAX_BYTES``
==================  ==========================  =============================

``0`` lifts a cap. ``convo-mock serve --tenant-max-records …`` and friends set the variables. The totals
are shared by every store of the process (one per family). A write that would pass a cap raises
``QuotaExceeded`` (429); each family renders it as its vendor reports an exhausted quota.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mockserver.errors import MockError

TENANT_RECORDS_VARIABLE = "CONVO_MOCK_TENANT_MAX_RECORDS"
TENANT_BYTES_VARIABLE = "CONVO_MOCK_TENANT_MAX_BYTES"
TOTAL_RECORDS_VARIABLE = "CONVO_MOCK_MAX_RECORDS"
TOTAL_BYTES_VARIABLE = "CONVO_MOCK_MAX_BYTES"


class QuotaExceeded(MockError):
    """Storing this would pass a cap on records or bytes (the tenant's or the process's)."""

    status = 429

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(slots=True)
class Usage:
    """Records and bytes held (mutable counters)."""

    records: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Limits:
    """The four caps; ``None`` lifts one."""

    tenant_records: int | None = 1_000_000
    tenant_bytes: int | None = 256 * 1024 * 1024
    total_records: int | None = 4_000_000
    total_bytes: int | None = 2 * 1024 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by the environment variables that are set (``0`` lifts a cap)."""
        env = os.environ if environ is None else environ
        default = cls()

        def read(variable: str, fallback: int | None) -> int | None:
            raw = env.get(variable)
            if raw is None or not raw.strip():
                return fallback
            value = int(raw)
            if value < 0:
                raise ValueError(f"{variable} must not be negative")
            return value or None

        return cls(read(TENANT_RECORDS_VARIABLE, default.tenant_records),
                   read(TENANT_BYTES_VARIABLE, default.tenant_bytes),
                   read(TOTAL_RECORDS_VARIABLE, default.total_records),
                   read(TOTAL_BYTES_VARIABLE, default.total_bytes))

    def check(self, tenant: Usage, total: Usage, records: int, size: int) -> None:
        """Raise ``QuotaExceeded`` unless ``records`` more records of ``size`` bytes fit."""
        if self.tenant_records is not None and tenant.records + records > self.tenant_records:
            raise QuotaExceeded(f"This API key may store at most {self.tenant_records} records.")
        if self.tenant_bytes is not None and tenant.bytes + size > self.tenant_bytes:
            raise QuotaExceeded(f"This API key may store at most {self.tenant_bytes} bytes.")
        if self.total_records is not None and total.records + records > self.total_records:
            raise QuotaExceeded(f"The mock may store at most {self.total_records} records in all.")
        if self.total_bytes is not None and total.bytes + size > self.total_bytes:
            raise QuotaExceeded(f"The mock may store at most {self.total_bytes} bytes in all.")
