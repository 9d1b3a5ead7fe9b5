"""Train and evaluate a survival model on the prepared passengers (the seed's training step).

Logistic regression fitted with Newton's method in numpy: standardized features, a fixed
train/test split, accuracy printed. With --model_dir the weights are written there as JSON.

    python train.py PREPARED_PARQUET_FOLDER [--model_dir FOLDER]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC = ["Age", "SibSp", "Parch", "FamilySize", "IsAlone", "HasCabin", "SexMale", "FareLog"]
CATEGORICAL = {"Pclass": [1, 2, 3], "Title": ["Mr", "Mrs", "Miss", "Master", "Rare"]}
CATEGORICAL["Embarked"] = ["S", "C", "Q"]
SEED = 7
TEST_SHARE = 0.25
L2 = 1e-2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("prepared", help="folder of Parquet files written by dataprep.py")
    parser.add_argument("--model_dir", help="folder to write the model to (model.json)")
    return parser.parse_args(argv)


def design_matrix(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Numeric columns plus one-hot categories (first level dropped: it is the baseline)."""
    columns = [df[NUMERIC].astype(float)]
    names = list(NUMERIC)
    for column, levels in CATEGORICAL.items():
        for level in levels[1:]:
            columns.append((df[column] == level).astype(float).rename(f"{column}={level}"))
            names.append(f"{column}={level}")
    return pd.concat(columns, axis=1).to_numpy(), names


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Newton's method (IRLS) with a small L2 penalty; the first column is the intercept."""
    w = np.zeros(x.shape[1])
    penalty = L2 * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    df = pd.read_parquet(args.prepared).sort_values("PassengerId").reset_index(drop=True)
    print(f"read {len(df)} prepared passengers from {args.prepared}")

    features, names = design_matrix(df)
    labels = df["Survived"].to_numpy(dtype=float)
    order = np.random.default_rng(SEED).permutation(len(df))
    n_test = int(round(len(df) * TEST_SHARE))
    test, train = order[:n_test], order[n_test:]

    mean = features[train].mean(axis=0)
    std = features[train].std(axis=0)
    std[std == 0] = 1.0

    def standardized(rows: np.ndarray) -> np.ndarray:
        scaled = (features[rows] - mean) / std
        return np.column_stack([np.ones(len(rows)), scaled])

    weights = fit_logistic(standardized(train), labels[train])

    def accuracy(rows: np.ndarray) -> float:
        predicted = (standardized(rows) @ weights) > 0
        return float(np.mean(predicted == labels[rows].astype(bool)))

    baseline = max(labels[test].mean(), 1 - labels[test].mean())
    print(f"train rows: {len(train)}, test rows: {len(test)}")
    print(f"train accuracy: {accuracy(train):.3f}")
    print(f"test accuracy: {accuracy(test):.3f} (majority class: {baseline:.3f})")
    ranked = sorted(zip(names, weights[1:], strict=True), key=lambda t: -abs(t[1]))
    print("strongest features: " + ", ".join(f"{n} {w:+.2f}" for n, w in ranked[:5]))

    if args.model_dir:
        out = Path(args.model_dir)
        out.mkdir(parents=True, exist_ok=True)
        model = {
            "features": names,
            "mean": mean.tolist(),
            "std": std.tolist(),
            "intercept": float(weights[0]),
            "weights": weights[1:].tolist(),
            "test_accuracy": accuracy(test),
        }
        (out / "model.json").write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out / 'model.json'}")


if __name__ == "__main__":
    main()
