"""The pipeline as a networkx MultiDiGraph (two wires between the same nodes stay two)."""

from __future__ import annotations

import heapq

import networkx as nx

from engine.gcpause import gc_paused
from engine.pipeline.model import Pipeline


@gc_paused
def build_graph(pipeline: Pipeline) -> nx.MultiDiGraph:
    """Nodes by name; one edge per wire, keyed by the target input's name.

    Wires whose source node does not exist are left out (validation reports them).
    """
    g = nx.MultiDiGraph()
    nodes = pipeline.nodes
    g.add_nodes_from(nodes)
    add_edge = g.add_edge
    for node in nodes.values():  # Pipeline.edges() without an Edge object per wire
        for port in node.inputs:
            source = port.source
            if source is not None and source.node in nodes:
                add_edge(source.node, node.name, key=port.name, output=source.output)
    return g


def find_cycle(g: nx.MultiDiGraph) -> list[str] | None:
    """The nodes on one cycle, in order, or None; linear time (never enumerates all cycles)."""
    try:
        edges = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    return [e[0] for e in edges]


def execution_order(pipeline: Pipeline, g: nx.MultiDiGraph | None = None) -> list[str]:
    """Topological order, ties broken by the nodes' order in the file (stable, deterministic).

    Kahn's algorithm over a heap of file positions, on the graph's adjacency directly: the
    same order as nx.lexicographical_topological_sort at a fraction of its cost on big plans.
    Raises nx.NetworkXUnfeasible on a cycle.
    """
    g = build_graph(pipeline) if g is None else g
    position = {name: i for i, name in enumerate(pipeline.nodes)}
    names = list(pipeline.nodes)
    succ = g._succ  # noqa: SLF001 - read-only use of networkx's adjacency, for speed
    indegree = _indegrees(g)
    ready = [position[n] for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        order.append(name)
        for child, keys in succ[name].items():
            indegree[child] -= len(keys)
            if indegree[child] == 0:
                heapq.heappush(ready, position[child])
    if len(order) != len(indegree):
        raise nx.NetworkXUnfeasible("the graph has a cycle")
    return order


def is_acyclic(g: nx.MultiDiGraph) -> bool:
    """Whether `g` has no cycle (self-loops included): Kahn's algorithm, linear time.

    nx.is_directed_acyclic_graph answers the same through topological generations and degree
    views, several times slower on a 10,000-node pipeline; find_cycle names a cycle when
    there is one.
    """
    succ = g._succ  # noqa: SLF001 - read-only use of networkx's adjacency, for speed
    indegree = _indegrees(g)
    ready = [n for n, d in indegree.items() if d == 0]
    done = 0
    while ready:
        done += 1
        for child, keys in succ[ready.pop()].items():
            indegree[child] -= len(keys)
            if indegree[child] == 0:
                ready.append(child)
    return done == len(indegree)


def _indegrees(g: nx.MultiDiGraph) -> dict[str, int]:
    """Wires into each node, counting parallel wires."""
    return {n: sum(map(len, preds.values())) for n, preds in g._pred.items()}  # noqa: SLF001


def generations(pipeline: Pipeline, g: nx.MultiDiGraph | None = None) -> list[list[str]]:
    """Layers of nodes whose inputs are all in earlier layers (for layout and parallelism)."""
    g = build_graph(pipeline) if g is None else g
    position = {name: i for i, name in enumerate(pipeline.nodes)}
    return [sorted(gen, key=position.__getitem__) for gen in nx.topological_generations(g)]
