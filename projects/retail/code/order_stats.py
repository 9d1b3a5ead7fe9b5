"""Profile the raw orders with pandas: size, gaps, returns, revenue by channel and category.

Writes report.json to --report; runs beside the Spark preparations (a parallel branch).

    python order_stats.py ORDERS_CSV --report FOLDER
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def profile(orders: pd.DataFrame) -> dict:
    dates = pd.to_datetime(orders["order_date"], format="%Y-%m-%d", errors="coerce")
    amount = orders["quantity"] * orders["unit_price"] * (1 - orders["discount"].fillna(0))
    valid = dates.notna() & orders["unit_price"].notna()
    sales = valid & (orders["quantity"] > 0)
    return {
        "rows": len(orders),
        "columns": list(orders.columns),
        "missing": {c: int(n) for c, n in orders.isna().sum().items() if n},
        "bad_dates": int((dates.isna() & orders["order_date"].notna()).sum()),
        "returns": int((valid & (orders["quantity"] < 0)).sum()),
        "customers": int(orders["customer_id"].nunique()),
        "first_order": str(dates.min().date()),
        "last_order": str(dates.max().date()),
        "net_revenue": round(float(amount[valid].sum()), 2),
        "revenue_by_channel": {
            k: round(float(v), 2) for k, v in amount[sales].groupby(orders["channel"]).sum().items()
        },
        "revenue_by_category": {
            k: round(float(v), 2)
            for k, v in amount[sales].groupby(orders["category"]).sum().items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("orders", help="raw orders CSV")
    parser.add_argument("--report", required=True, help="folder to write report.json to")
    args = parser.parse_args()

    orders = pd.read_csv(args.orders, dtype={"order_date": "string"})
    report = profile(orders)
    out = Path(args.report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"{report['rows']} orders from {report['customers']} customers, "
        f"{report['first_order']} to {report['last_order']}"
    )
    print(
        f"missing values: {report['missing']}; bad dates: {report['bad_dates']}; "
        f"returns: {report['returns']}"
    )
    print(f"net revenue {report['net_revenue']:,.2f}; by channel: {report['revenue_by_channel']}")


if __name__ == "__main__":
    main()
