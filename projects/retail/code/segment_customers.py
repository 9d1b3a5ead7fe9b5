"""Segment customers by recency, frequency and monetary value (k-means in numpy).

Reads the joined customer features (Parquet) and the raw-order profile (report.json), writes
segments.csv (customer -> segment) and summary.json to --output, and checks that the joined
revenue accounts for the raw revenue it should (orders of unknown customers are the gap).

    python segment_customers.py --features DIR --stats DIR --output DIR [--clusters K]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 11


def kmeans(points: np.ndarray, k: int, rounds: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm from k-means++ seeds; returns (labels, centres)."""
    rng = np.random.default_rng(SEED)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
        centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
    centres = np.array(centres)
    labels = np.zeros(len(points), dtype=int)
    for round_ in range(rounds):
        distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new_labels = distances.argmin(axis=1)
        if round_ > 0 and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        centres = np.array(
            [
                points[labels == j].mean(axis=0) if np.any(labels == j) else centres[j]
                for j in range(k)
            ]
        )
    return labels, centres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True, help="customer features (Parquet folder)")
    parser.add_argument("--stats", required=True, help="folder with the raw-order report.json")
    parser.add_argument("--output", required=True, help="folder for segments.csv, summary.json")
    parser.add_argument("--clusters", type=int, default=4, help="how many segments")
    args = parser.parse_args()

    features = pd.read_parquet(args.features).sort_values("customer_id").reset_index(drop=True)
    stats = json.loads((Path(args.stats) / "report.json").read_text(encoding="utf-8"))

    rfm = np.column_stack(
        [
            np.log1p(features["recency_days"].clip(lower=0)),
            np.log1p(features["frequency"]),
            np.log1p(features["monetary"].clip(lower=0)),
        ]
    )
    scaled = (rfm - rfm.mean(axis=0)) / rfm.std(axis=0)
    labels, _ = kmeans(scaled, args.clusters)
    # number segments from most to least valuable so the names are stable between runs
    value = pd.Series(features["monetary"].to_numpy()).groupby(labels).mean()
    rank = {old: new for new, old in enumerate(value.sort_values(ascending=False).index)}
    features["segment_id"] = [rank[label] for label in labels]

    summary = (
        features.groupby("segment_id")
        .agg(
            customers=("customer_id", "count"),
            recency_days=("recency_days", "mean"),
            frequency=("frequency", "mean"),
            monetary=("monetary", "mean"),
        )
        .round(2)
    )
    joined_revenue = round(float(features["monetary"].sum()), 2)
    coverage = joined_revenue / stats["net_revenue"] if stats["net_revenue"] else 0.0

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    features[
        ["customer_id", "segment_id", "region", "recency_days", "frequency", "monetary"]
    ].to_csv(out / "segments.csv", index=False)
    report = {
        "clusters": args.clusters,
        "segments": summary.reset_index().to_dict(orient="records"),
        "joined_revenue": joined_revenue,
        "raw_net_revenue": stats["net_revenue"],
        "revenue_coverage": round(coverage, 4),
    }
    (out / "summary.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(summary.to_string())
    print(
        f"joined revenue {joined_revenue:,.2f} = {coverage:.1%} of raw net revenue "
        f"{stats['net_revenue']:,.2f} (the rest: orders of unknown customers)"
    )


if __name__ == "__main__":
    main()
