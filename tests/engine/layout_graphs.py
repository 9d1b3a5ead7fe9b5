"""Generated pipelines for the layout tests (no Qt)."""

from __future__ import annotations

import random

from engine.pipeline.model import InputPort, Node, OutputPort, Pipeline, Ref


def generated_pipeline(count: int, seed: int = 7) -> Pipeline:
    """Datasets feeding steps; each step reads 1-3 earlier nodes (a random DAG, file order shuffled)."""
    rng = random.Random(seed)
    p = Pipeline("generated")
    names: list[str] = []
    nodes: list[Node] = []
    for i in range(count):
        if i < max(3, count // 10) or rng.random() < 0.08:
            node = Node(f"data_{i}", "dataset", {"path": f"d{i}.csv"})
        else:
            node = Node(f"step_{i}", "script-step", {"script": "s.py"})
            window = names[-25:]
            for j, src in enumerate(rng.sample(window, k=min(len(window), rng.randint(1, 3)))):
                output = None if src.startswith("data_") else "out"
                node.inputs.append(InputPort(f"in{j}", Ref(src, output)))
            node.outputs.append(OutputPort("out"))
        names.append(node.name)
        nodes.append(node)
    rng.shuffle(nodes)
    for node in nodes:
        p.nodes[node.name] = node
    return p
