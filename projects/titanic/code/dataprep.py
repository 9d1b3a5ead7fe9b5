"""Prepare the Titanic passengers for training (the seed's SynapseSparkStep).

Reads the tabular input as CSV, looks at the raw file input, cleans and derives features, and
writes Parquet to --output_dir. Uses only the DataFrame API, so it runs under spark-submit and
under Spark Connect (SPARK_REMOTE) alike.
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

RARE_TITLES = {"Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}
COMMON_TITLES = ("Mr", "Mrs", "Miss", "Master")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tabular_input", required=True, help="Titanic CSV (file or folder)")
    parser.add_argument("--file_input", required=True, help="the same data as raw files")
    parser.add_argument("--output_dir", required=True, help="folder to write Parquet to")
    parser.add_argument("--fraction", type=float, default=1.0, help="sample this share of rows")
    return parser.parse_args(argv)


def read_passengers(spark: SparkSession, path: str) -> DataFrame:
    raw = spark.read.option("header", True).csv(path)
    return raw.select(
        F.col("PassengerId").cast("int").alias("PassengerId"),
        F.col("Survived").cast("int").alias("Survived"),
        F.col("Pclass").cast("int").alias("Pclass"),
        F.trim("Name").alias("Name"),
        F.lower(F.trim("Sex")).alias("Sex"),
        F.col("Age").cast("double").alias("Age"),
        F.col("SibSp").cast("int").alias("SibSp"),
        F.col("Parch").cast("int").alias("Parch"),
        F.col("Ticket"),
        F.col("Fare").cast("double").alias("Fare"),
        F.nullif(F.trim("Cabin"), F.lit("")).alias("Cabin"),
        F.nullif(F.trim("Embarked"), F.lit("")).alias("Embarked"),
    )


def describe_raw_files(spark: SparkSession, path: str) -> tuple[int, int]:
    """Lines and bytes (newlines included) of the raw file input."""
    text = spark.read.text(path)
    row = text.agg(F.count("*").alias("lines"), F.sum(F.length("value") + 1).alias("size")).first()
    return int(row["lines"]), int(row["size"] or 0)


def with_title(df: DataFrame) -> DataFrame:
    title = F.regexp_extract("Name", r",\s*([^.]+)\.", 1)
    mapping = F.create_map(*[F.lit(x) for pair in RARE_TITLES.items() for x in pair])
    normalised = F.coalesce(mapping[title], title)
    return df.withColumn(
        "Title", F.when(normalised.isin(*COMMON_TITLES), normalised).otherwise(F.lit("Rare"))
    )


def fill_age(df: DataFrame) -> DataFrame:
    """Missing ages get the median age of passengers of the same class and sex."""
    medians = df.groupBy("Pclass", "Sex").agg(F.percentile_approx("Age", 0.5).alias("MedianAge"))
    overall = df.agg(F.percentile_approx("Age", 0.5)).first()[0]
    return (
        df.join(medians, ["Pclass", "Sex"], "left")
        .withColumn("AgeWasMissing", F.col("Age").isNull().cast("int"))
        .withColumn("Age", F.coalesce("Age", "MedianAge", F.lit(overall)))
        .drop("MedianAge")
    )


def fill_embarked_and_fare(df: DataFrame) -> DataFrame:
    mode_row = (
        df.where(F.col("Embarked").isNotNull())
        .groupBy("Embarked")
        .count()
        .orderBy(F.desc("count"), "Embarked")
        .first()
    )
    port = mode_row["Embarked"] if mode_row else "S"
    fare_medians = df.groupBy("Pclass").agg(F.percentile_approx("Fare", 0.5).alias("MedianFare"))
    return (
        df.fillna({"Embarked": port})
        .join(fare_medians, "Pclass", "left")
        .withColumn("Fare", F.coalesce("Fare", "MedianFare"))
        .drop("MedianFare")
    )


def derive_features(df: DataFrame) -> DataFrame:
    quartiles = df.approxQuantile("Fare", [0.25, 0.5, 0.75], 0.001)
    fare = F.col("Fare")
    fare_bin = (
        F.when(fare <= quartiles[0], 0)
        .when(fare <= quartiles[1], 1)
        .when(fare <= quartiles[2], 2)
        .otherwise(3)
    )
    return (
        df.withColumn("FamilySize", F.col("SibSp") + F.col("Parch") + 1)
        .withColumn("IsAlone", (F.col("FamilySize") == 1).cast("int"))
        .withColumn("HasCabin", F.col("Cabin").isNotNull().cast("int"))
        .withColumn("SexMale", (F.col("Sex") == "male").cast("int"))
        .withColumn("FareLog", F.log1p("Fare"))
        .withColumn("FareBin", fare_bin)
        .drop("Cabin", "Ticket", "Name", "Sex")
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = SparkSession.builder.getOrCreate()

    lines, size = describe_raw_files(spark, args.file_input)
    print(f"file input: {lines} lines, {size} bytes")

    passengers = read_passengers(spark, args.tabular_input)
    total = passengers.count()
    print(f"tabular input: {total} rows")
    if args.fraction < 1.0:
        passengers = passengers.sample(fraction=args.fraction, seed=42)

    valid = passengers.where(F.col("PassengerId").isNotNull() & F.col("Pclass").isNotNull())
    valid = valid.dropDuplicates(["PassengerId"])
    print(f"kept {valid.count()} rows (sample fraction {args.fraction})")

    prepared = derive_features(fill_embarked_and_fare(fill_age(with_title(valid))))
    prepared = prepared.orderBy("PassengerId").coalesce(1)
    prepared.write.mode("overwrite").parquet(args.output_dir)

    written = spark.read.parquet(args.output_dir)
    missing_age = written.where(F.col("Age").isNull()).count()
    print(f"wrote {written.count()} rows, {len(written.columns)} columns to {args.output_dir}")
    print(f"columns: {', '.join(written.columns)}; rows still missing Age: {missing_age}")


if __name__ == "__main__":
    main()
