"""Join clean orders with clean customers: per-customer features and monthly revenue by region.

customer_features: recency (days before --reference_date), frequency, net monetary value,
favourite category, region, segment, age. region_monthly: revenue and orders per region and
month. Orders from customers missing from the customer list are counted and left out.
"""

from __future__ import annotations

import argparse

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", required=True, help="clean orders (Parquet)")
    parser.add_argument("--customers", required=True, help="clean customers (Parquet)")
    parser.add_argument("--features", required=True, help="output: per-customer features")
    parser.add_argument("--region_monthly", required=True, help="output: revenue by region")
    parser.add_argument("--reference_date", default="2026-01-01", help="recency is counted to")
    args = parser.parse_args()

    spark = SparkSession.builder.getOrCreate()
    orders = spark.read.parquet(args.orders)
    customers = spark.read.parquet(args.customers)

    orphans = orders.join(customers, "customer_id", "left_anti").count()
    sales = orders.join(customers, "customer_id", "inner")

    reference = F.to_date(F.lit(args.reference_date))
    totals = sales.groupBy("customer_id").agg(
        F.datediff(reference, F.max("order_date")).alias("recency_days"),
        F.countDistinct(F.when(F.col("is_return") == 0, F.col("order_id"))).alias("frequency"),
        F.round(F.sum("amount"), 2).alias("monetary"),
        F.round(F.sum(F.when(F.col("is_return") == 1, -F.col("amount")).otherwise(0)), 2).alias(
            "returned"
        ),
    )
    by_category = sales.where(F.col("is_return") == 0).groupBy("customer_id", "category")
    ranked = by_category.agg(F.sum("amount").alias("spent")).withColumn(
        "rank",
        F.row_number().over(Window.partitionBy("customer_id").orderBy(F.desc("spent"), "category")),
    )
    favourite = ranked.where(F.col("rank") == 1).select(
        "customer_id", F.col("category").alias("favourite_category")
    )
    features = (
        totals.join(favourite, "customer_id", "left")
        .join(customers.select("customer_id", "region", "segment", "age"), "customer_id")
        .orderBy("customer_id")
    )
    features.coalesce(1).write.mode("overwrite").parquet(args.features)

    monthly = (
        sales.groupBy("region", "month")
        .agg(
            F.round(F.sum("amount"), 2).alias("revenue"),
            F.countDistinct("order_id").alias("orders"),
        )
        .orderBy("region", "month")
    )
    monthly.coalesce(1).write.mode("overwrite").parquet(args.region_monthly)

    print(f"joined {sales.count()} order lines; {orphans} from unknown customers left out")
    print(f"wrote features of {spark.read.parquet(args.features).count()} customers")
    top = spark.read.parquet(args.region_monthly).groupBy("region").agg(F.sum("revenue"))
    for row in top.orderBy(F.desc("sum(revenue)")).collect():
        print(f"  {row['region']:<8} revenue {row['sum(revenue)']:>12,.2f}")


if __name__ == "__main__":
    main()
