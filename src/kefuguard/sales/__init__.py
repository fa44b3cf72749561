"""Sales and after-sales KPIs: orders and refunds joined with the chats (issue 15, items 1–3).

Pure: no file or network I/O. `models` holds Order and Refund, `profiles` the named attribution
rules, `kpi` the computation, `orderbook` the orders and refunds each audited conversation sees. Importers for the exports live in `kefuguard.io.orders`.
"""

from kefuguard.sales.kpi import KpiCollector, KpiReport, KpiRow, compute_kpis
from kefuguard.sales.models import Order, Refund
from kefuguard.sales.orderbook import OrderBook
from kefuguard.sales.profiles import PROFILES, AttributionProfile, get_profile

__all__ = ["PROFILES", "AttributionProfile", "KpiCollector", "KpiReport", "KpiRow", "Order", "OrderBook", "Refund",
           "compute_kpis", "get_profile"]
