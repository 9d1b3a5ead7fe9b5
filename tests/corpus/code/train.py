"""Entry file the corpus pipelines point at; never run."""

print("train")
