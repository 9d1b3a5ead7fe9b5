"""Generate customers.csv and orders.csv: a small shop's year of orders, with realistic dirt.

Deterministic (seeded numpy): running it again reproduces the shipped files byte for byte.
Dirt the preparations must handle: region names in mixed case and padding, customers listed
twice, missing segments and birth years; orders with no price, returns (negative quantity),
unparseable dates and orders from customers missing from the customer list.

    python make_retail.py [OUTPUT_FOLDER]     # default: the folder of this script
"""

from __future__ import annotations

import csv
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np

SEED = 2024
CUSTOMERS = 1200
ORDERS = 6000
REGIONS = ("North", "South", "East", "West", "Central")
SEGMENTS = ("consumer", "corporate", "small business")
CATEGORIES = {  # category -> (median unit price, price spread)
    "Grocery": (6.0, 0.5),
    "Clothing": (35.0, 0.5),
    "Home": (60.0, 0.6),
    "Electronics": (180.0, 0.7),
    "Toys": (25.0, 0.5),
}
CHANNELS = ("web", "store", "app")
FIRST = "Ada Ben Cleo Dan Eva Finn Gus Hana Ivo Jade Kai Lea Milo Nina Otto Pia Rui Sara Tom Uma".split()
LAST = (
    "Berg Costa Diaz Evans Fox Gray Holm Ito Jung Kahn Lund Moss Nagy Ortiz Park Quinn Ruiz".split()
)
YEAR_START = date(2025, 1, 1)


def messy_region(rng: np.random.Generator, region: str) -> str:
    roll = rng.random()
    if roll < 0.1:
        return region.upper()
    if roll < 0.2:
        return f" {region.lower()} "
    return region


def customers(rng: np.random.Generator) -> tuple[list[list[str]], list[dict]]:
    rows, profiles = [], []
    for i in range(1, CUSTOMERS + 1):
        region = str(rng.choice(REGIONS, p=[0.25, 0.2, 0.2, 0.2, 0.15]))
        segment = str(rng.choice(SEGMENTS, p=[0.7, 0.2, 0.1]))
        signup = date(2021, 1, 1) + timedelta(days=int(rng.integers(0, 4 * 365)))
        birth = int(rng.integers(1950, 2005))
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        cid = f"C{i:05d}"
        profiles.append({"id": cid, "segment": segment, "activity": float(rng.lognormal(0, 0.8))})
        row = [
            cid,
            name,
            f"{name.split()[0].lower()}.{i}@example.com",
            signup.isoformat(),
            messy_region(rng, region),
            "" if rng.random() < 0.05 else segment,
            "" if rng.random() < 0.08 else str(birth),
        ]
        rows.append(row)
        if rng.random() < 0.03:  # listed again after a later sign-up with a fresh region spelling
            again = list(row)
            again[3] = (signup + timedelta(days=int(rng.integers(1, 200)))).isoformat()
            again[4] = messy_region(rng, region)
            rows.append(again)
    return rows, profiles


def orders(rng: np.random.Generator, profiles: list[dict]) -> list[list[str]]:
    weights = np.array(
        [p["activity"] * (3 if p["segment"] == "corporate" else 1) for p in profiles]
    )
    weights /= weights.sum()
    categories = list(CATEGORIES)
    rows = []
    for i in range(1, ORDERS + 1):
        if rng.random() < 0.01:
            customer = f"C{int(rng.integers(CUSTOMERS + 1, CUSTOMERS + 80)):05d}"  # unknown
        else:
            customer = profiles[int(rng.choice(len(profiles), p=weights))]["id"]
        category = str(rng.choice(categories, p=[0.35, 0.2, 0.15, 0.1, 0.2]))
        median, spread = CATEGORIES[category]
        price = round(float(median * rng.lognormal(0, spread)), 2)
        quantity = int(rng.integers(1, 6 if category == "Grocery" else 3))
        if rng.random() < 0.04:
            quantity = -quantity  # a return
        day = YEAR_START + timedelta(days=int(rng.integers(0, 365)))
        order_date = day.isoformat() if rng.random() > 0.005 else "not a date"
        rows.append(
            [
                f"O{i:06d}",
                customer,
                order_date,
                category,
                str(quantity),
                "" if rng.random() < 0.02 else f"{price:.2f}",
                str(rng.choice(CHANNELS, p=[0.5, 0.35, 0.15])),
                f"{rng.choice([0.0, 0.0, 0.0, 0.05, 0.1, 0.2]):.2f}",
            ]
        )
    return rows


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).parent
    rng = np.random.default_rng(SEED)
    customer_rows, profiles = customers(rng)
    order_rows = orders(rng, profiles)
    header = ["customer_id", "name", "email", "signup_date", "region", "segment", "birth_year"]
    write(folder / "customers.csv", header, customer_rows)
    write(
        folder / "orders.csv",
        [
            "order_id",
            "customer_id",
            "order_date",
            "category",
            "quantity",
            "unit_price",
            "channel",
            "discount",
        ],
        order_rows,
    )
    print(f"wrote {len(customer_rows)} customers and {len(order_rows)} orders to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
