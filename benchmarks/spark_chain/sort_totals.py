"""Step 3: the totals sorted, largest first, as one CSV file."""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def run(spark, source: str, target: str) -> None:
    totals = spark.read.parquet(source)
    ordered = totals.orderBy(F.col("total").desc(), "region", "product")
    ordered.coalesce(1).write.csv(target, header=True)


if __name__ == "__main__":
    run(SparkSession.builder.getOrCreate(), sys.argv[1], sys.argv[2])
