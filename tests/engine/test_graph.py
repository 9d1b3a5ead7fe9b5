"""engine.pipeline.graph: the execution order equals networkx's lexicographical topological sort."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.pipeline.graph import build_graph, execution_order, is_acyclic
from engine.pipeline.model import InputPort, Node, Pipeline, Ref


def pipeline_from_edges(n: int, edges: list[tuple[int, int]], shuffle: list[int]) -> Pipeline:
    p = Pipeline("g")
    names = [f"n{i}" for i in shuffle]
    for name in names:
        p.nodes[name] = Node(name, "script-step")
    for k, (a, b) in enumerate(edges):
        p.nodes[f"n{b}"].inputs.append(InputPort(f"in{k}", Ref(f"n{a}")))
    return p


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_order_matches_networkx_lexicographical_sort(data):
    n = data.draw(st.integers(1, 25))
    # edges only from lower to higher numbers: a DAG, with repeated wires (a multigraph)
    edges = data.draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] < e[1])
        )
    )
    shuffle = data.draw(st.permutations(range(n)))
    p = pipeline_from_edges(n, edges, shuffle)
    g = build_graph(p)
    position = {name: i for i, name in enumerate(p.nodes)}
    expected = list(nx.lexicographical_topological_sort(g, key=position.__getitem__))
    assert execution_order(p, g) == expected


def test_a_cycle_raises_unfeasible():
    p = pipeline_from_edges(3, [(0, 1), (1, 2), (2, 0)], [0, 1, 2])
    with pytest.raises(nx.NetworkXUnfeasible):
        execution_order(p)


def test_a_self_loop_is_a_cycle():
    p = pipeline_from_edges(2, [(0, 1), (1, 1)], [0, 1])
    with pytest.raises(nx.NetworkXUnfeasible):
        execution_order(p)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_is_acyclic_agrees_with_networkx(data):
    n = data.draw(st.integers(1, 12))
    # any wires, self-loops and repeats included
    edges = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))))
    g = build_graph(pipeline_from_edges(n, edges, list(range(n))))
    assert is_acyclic(g) == nx.is_directed_acyclic_graph(g)
