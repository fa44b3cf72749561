"""Sales and after-sales KPIs: orders and refunds joined with the chats (issue 15, items 1–3).

Pure: no file or network I/O. `models` holds Order and Refund, `profiles` the named attribution
rules, `kpi` the computation. Importers for the exports live in `kefuguard.io.orders`.
"""

from kefuguard.sales.kpi import KpiReport, KpiRow, compute_kpis
from kefuguard.sales.models import Order, Refund
from kefuguard.sales.profiles import PROFILES, AttributionProfile, get_profile

__all__ = ["PROFILES", "AttributionProfile", "KpiReport", "KpiRow", "Order", "Refund", "compute_kpis", "get_profile"]
