"""A first small job on a fresh Connect server, so the first real run finds it warm.

Run by `pipeloom serve` as a client process (SPARK_REMOTE set): it writes and reads back CSV
and Parquet and aggregates, which loads and compiles most of what data-prep steps use.
A server's first steps otherwise take about 1.5x as long as later ones.
"""

import os
import sys
import tempfile


def main() -> int:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    with tempfile.TemporaryDirectory(prefix="pipeloom-warmup-") as folder:
        frame = spark.range(20000).selectExpr("id % 7 AS k", "id AS v", "CAST(id AS STRING) AS s")
        frame.write.csv(os.path.join(folder, "csv"), header=True)
        back = spark.read.csv(os.path.join(folder, "csv"), header=True, inferSchema=True)
        totals = back.groupBy("k").agg({"v": "sum"}).orderBy("k")
        totals.write.parquet(os.path.join(folder, "parquet"))
        rows = spark.read.parquet(os.path.join(folder, "parquet")).count()
    spark.stop()
    return 0 if rows == 7 else 1


if __name__ == "__main__":
    sys.exit(main())
