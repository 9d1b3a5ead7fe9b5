"""Step 2: totals and counts per region and product."""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def run(spark, source: str, target: str) -> None:
    rows = spark.read.parquet(source)
    totals = rows.groupBy("region", "product").agg(
        F.round(F.sum("amount"), 2).alias("total"), F.count("*").alias("orders")
    )
    totals.write.parquet(target)


if __name__ == "__main__":
    run(SparkSession.builder.getOrCreate(), sys.argv[1], sys.argv[2])
