"""Clean the raw customer list: one row per customer, tidy regions, ages, known segments.

A customer listed twice keeps the row with the latest sign-up date. DataFrame API only.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

SCHEMA = (
    "customer_id STRING, name STRING, email STRING, signup_date STRING, region STRING, "
    "segment STRING, birth_year INT"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True, help="customers CSV")
    parser.add_argument("--output", required=True, help="folder to write Parquet to")
    parser.add_argument("--year", type=int, default=2025, help="year that ages are computed for")
    args = parser.parse_args()

    spark = SparkSession.builder.getOrCreate()
    raw = spark.read.option("header", True).schema(SCHEMA).csv(args.customers)
    typed = (
        raw.withColumn("customer_id", F.upper(F.trim("customer_id")))
        .withColumn("region", F.initcap(F.trim("region")))
        .withColumn("segment", F.coalesce(F.lower(F.trim("segment")), F.lit("unknown")))
        .withColumn(
            "signup_date", F.try_to_timestamp("signup_date", F.lit("yyyy-MM-dd")).cast("date")
        )
        .withColumn("age", F.lit(args.year) - F.col("birth_year"))
        .where(F.col("customer_id").isNotNull())
    )
    latest_first = Window.partitionBy("customer_id").orderBy(F.desc_nulls_last("signup_date"))
    unique = (
        typed.withColumn("rank", F.row_number().over(latest_first))
        .where(F.col("rank") == 1)
        .drop("rank", "name", "email", "birth_year")
    )
    unique.orderBy("customer_id").coalesce(1).write.mode("overwrite").parquet(args.output)

    written = spark.read.parquet(args.output)
    print(f"read {raw.count()} customer rows, wrote {written.count()} customers")
    regions = written.groupBy("region").count().orderBy("region").collect()
    print("regions: " + ", ".join(f"{r['region']} {r['count']}" for r in regions))


if __name__ == "__main__":
    main()
