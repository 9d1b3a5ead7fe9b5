"""Clean the raw orders: typed columns, parsed dates, no unpriced or undated rows, line amounts.

Returns (negative quantities) are kept apart from sales with an `is_return` flag so revenue
can be computed net of them. DataFrame API only: runs under spark-submit and Spark Connect.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

SCHEMA = (
    "order_id STRING, customer_id STRING, order_date STRING, category STRING, "
    "quantity INT, unit_price DOUBLE, channel STRING, discount DOUBLE"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", required=True, help="orders CSV")
    parser.add_argument("--output", required=True, help="folder to write Parquet to")
    args = parser.parse_args()

    spark = SparkSession.builder.getOrCreate()
    raw = spark.read.option("header", True).schema(SCHEMA).csv(args.orders)
    parsed = raw.withColumn(
        "order_date", F.try_to_timestamp("order_date", F.lit("yyyy-MM-dd")).cast("date")
    )
    usable = parsed.where(
        F.col("order_date").isNotNull()
        & F.col("unit_price").isNotNull()
        & F.col("quantity").isNotNull()
        & (F.col("quantity") != 0)
    )
    clean = (
        usable.withColumn("customer_id", F.upper(F.trim("customer_id")))
        .withColumn("channel", F.lower(F.trim("channel")))
        .withColumn("discount", F.coalesce("discount", F.lit(0.0)))
        .withColumn("is_return", (F.col("quantity") < 0).cast("int"))
        .withColumn(
            "amount",
            F.round(F.col("quantity") * F.col("unit_price") * (1 - F.col("discount")), 2),
        )
        .withColumn("month", F.date_format("order_date", "yyyy-MM"))
        .dropDuplicates(["order_id"])
    )
    clean.orderBy("order_id").coalesce(1).write.mode("overwrite").parquet(args.output)

    counts = (
        spark.read.parquet(args.output)
        .agg(F.count("*").alias("rows"), F.sum("is_return").alias("returns"))
        .first()
    )
    print(f"read {raw.count()} orders, kept {counts['rows']} ({counts['returns']} returns)")
    print(f"dropped {parsed.count() - usable.count()} rows without a date, price or quantity")


if __name__ == "__main__":
    main()
