"""Step 1: keep the rows of the 200k-row CSV whose amount passes the threshold."""

import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

SCHEMA = "id LONG, region STRING, product STRING, amount DOUBLE, quantity INT"


def run(spark, source: str, target: str) -> None:
    rows = spark.read.csv(source, header=True, schema=SCHEMA)
    rows.filter((F.col("amount") > 20.0) & (F.col("quantity") > 1)).write.parquet(target)


if __name__ == "__main__":
    run(SparkSession.builder.getOrCreate(), sys.argv[1], sys.argv[2])
