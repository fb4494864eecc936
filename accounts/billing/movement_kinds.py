"""The kinds of MRR movement (`accounts.billing.revenue_maths` defines them), in a module of
their own: the snapshots' model names them in its choices without importing the maths, which
read the billing state, which reads the models."""

from __future__ import annotations

from enum import StrEnum


class MovementKind(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
