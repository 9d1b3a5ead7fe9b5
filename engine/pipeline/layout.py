"""Layered auto-layout (left to right), without Qt, so the CLI and exports can use it too.

Sugiyama-style: layers from the graph's topological generations (cycles broken first), long
wires split by dummy slots, crossings reduced by alternating median/barycenter sweeps plus
adjacent swaps (the best ordering by counted crossings is kept), then vertical coordinates
pulled towards neighbours while keeping the order and the gaps (isotonic regression), so no
two nodes overlap whatever their sizes.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterable, Mapping

import networkx as nx

from engine.pipeline.graph import build_graph, generations
from engine.pipeline.model import Pipeline, Ref, output_names

DEFAULT_SIZE = (180.0, 80.0)
H_GAP = 90.0  # between layers: room for the wires' curves
V_GAP = 36.0  # between nodes of one layer
DUMMY_HEIGHT = 14.0  # a long wire passing through a layer keeps this much room free
SWEEPS = 12

Slot = Hashable  # a node name, or a Dummy
# from a slot in layer i to a slot in layer i + 1, optionally with where on each slot the wire
# ends (0 <= offset < 1: the port's place down the node), so port order counts in crossings
Segment = tuple  # (u, v) or (u, v, u_offset, v_offset)


class Dummy(tuple):
    """Where a wire spanning several layers crosses one layer: (source, target, key, layer)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Dummy{tuple(self)!r}"


# -- layers ---------------------------------------------------------------------------------


def _acyclic(g: nx.MultiDiGraph) -> nx.DiGraph:
    """A simple digraph of `g` with the edges that close cycles reversed (DFS back edges)."""
    simple = nx.DiGraph()
    simple.add_nodes_from(g.nodes)
    simple.add_edges_from((u, v) for u, v in g.edges() if u != v)
    if nx.is_directed_acyclic_graph(simple):
        return simple
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    back: list[tuple[str, str]] = []
    for root in simple.nodes:
        if root in state:
            continue
        stack = [(root, iter(list(simple.successors(root))))]
        state[root] = 1
        while stack:
            node, successors = stack[-1]
            for nxt in successors:
                if state.get(nxt) == 1:
                    back.append((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(list(simple.successors(nxt)))))
                    break
            else:
                state[node] = 2
                stack.pop()
    for u, v in back:
        simple.remove_edge(u, v)
        if not simple.has_edge(v, u):
            simple.add_edge(v, u)
    return simple


def assign_layers(pipeline: Pipeline) -> list[list[str]]:
    """Layers left to right: the topological generations; a node with no inputs moves next to
    its first consumer (a dataset sits just before the step that reads it)."""
    g = build_graph(pipeline)
    dag = _acyclic(g)
    if dag.number_of_edges() == g.number_of_edges() and nx.is_directed_acyclic_graph(g):
        gens = generations(pipeline, g)
    else:
        position = {name: i for i, name in enumerate(pipeline.nodes)}
        gens = [sorted(gen, key=position.__getitem__) for gen in nx.topological_generations(dag)]
    layer = {n: i for i, gen in enumerate(gens) for n in gen}
    for n in list(layer):
        if dag.in_degree(n) == 0 and dag.out_degree(n) > 0:
            layer[n] = min(layer[s] for s in dag.successors(n)) - 1
    count = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for n in pipeline.nodes:  # file order inside a layer
        layers[layer[n]].append(n)
    return [ls for ls in layers if ls] if count else []


def wires(pipeline: Pipeline) -> list[tuple[str, str, float, float]]:
    """(source, target, output offset, input offset) of every wire whose ends both exist,
    self-loops left out; an offset is the port's index over the node's port count."""
    out = []
    for e in pipeline.edges():
        if e.source not in pipeline.nodes or e.source == e.target:
            continue
        src, dst = pipeline.nodes[e.source], pipeline.nodes[e.target]
        resolved = pipeline.resolve_output(Ref(e.source, e.source_output))
        outs = output_names(src)
        u_off = outs.index(resolved[1]) / len(outs) if resolved and resolved[1] in outs else 0.0
        ins = [p.name for p in dst.inputs]
        v_off = ins.index(e.target_input) / len(ins) if e.target_input in ins else 0.0
        out.append((e.source, e.target, u_off, v_off))
    return out


def _ends(segment: Segment) -> tuple[Slot, Slot, float, float]:
    if len(segment) == 4:
        return segment  # type: ignore[return-value]
    return segment[0], segment[1], 0.0, 0.0


def proper_layers(
    layers: list[list[str]], edges: Iterable[Segment]
) -> tuple[list[list[Slot]], list[Segment]]:
    """Layers with a Dummy slot wherever a wire skips a layer, and the wire segments that
    then join only neighbouring layers. A wire drawn right to left (a cycle) is split the same."""
    index = {n: i for i, ls in enumerate(layers) for n in ls}
    out: list[list[Slot]] = [list(ls) for ls in layers]
    segments: list[Segment] = []
    for k, edge in enumerate(edges):
        u, v, u_off, v_off = _ends(edge)
        a, b = index[u], index[v]
        if a == b:
            continue
        step = 1 if b > a else -1
        prev: Slot = u
        prev_off = u_off
        for layer in range(a + step, b, step):
            d = Dummy((u, v, k, layer))
            out[layer].append(d)
            segments.append((prev, d, prev_off, 0.0) if step == 1 else (d, prev, 0.0, prev_off))
            prev, prev_off = d, 0.0
        segments.append((prev, v, prev_off, v_off) if step == 1 else (v, prev, v_off, prev_off))
    return out, segments


# -- crossings ------------------------------------------------------------------------------


def _inversions(values: list[int]) -> int:
    """Pairs i < j with values[i] > values[j] (a Fenwick tree: O(n log n))."""
    if not values:
        return 0
    size = max(values) + 2
    tree = [0] * (size + 1)
    count = 0
    seen = 0
    for v in values:
        i = v + 1
        le = 0
        while i > 0:  # how many seen so far are <= v
            le += tree[i]
            i -= i & -i
        count += seen - le
        seen += 1
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return count


def _layer_of(layers: list[list[Slot]]) -> dict[Slot, int]:
    return {s: i for i, ls in enumerate(layers) for s in ls}


def count_crossings(layers: list[list[Slot]], segments: Iterable[Segment]) -> int:
    """Wire crossings of this ordering: segment pairs between the same two layers that cross."""
    layer = _layer_of(layers)
    rank = {s: j for ls in layers for j, s in enumerate(ls)}
    between: dict[int, list[tuple[float, float]]] = {}
    for segment in segments:
        u, v, u_off, v_off = _ends(segment)
        between.setdefault(layer[u], []).append((rank[u] + u_off, rank[v] + v_off))
    total = 0
    for pairs in between.values():
        pairs.sort()
        order = {value: i for i, value in enumerate(sorted({b for _, b in pairs}))}
        total += _inversions([order[b] for _, b in pairs])
    return total


# -- ordering -------------------------------------------------------------------------------


def _neighbours(segments: Iterable[Segment]) -> tuple[dict, dict]:
    """Per slot, its neighbours above/below with the offset of the port the wire meets there."""
    up: dict[Slot, list[tuple[Slot, float]]] = {}
    down: dict[Slot, list[tuple[Slot, float]]] = {}
    for segment in segments:
        u, v, u_off, v_off = _ends(segment)
        down.setdefault(u, []).append((v, v_off))
        up.setdefault(v, []).append((u, u_off))
    return up, down


def _median(values: list[float]) -> float:
    values = sorted(values)
    m = len(values) // 2
    if len(values) % 2:
        return values[m]
    if len(values) == 2:
        return (values[0] + values[1]) / 2
    left, right = values[m - 1] - values[0], values[-1] - values[m]
    if left + right == 0:
        return (values[m - 1] + values[m]) / 2
    return (values[m - 1] * right + values[m] * left) / (left + right)  # weighted median


def _sort_layer(layer: list[Slot], adjacent: dict, rank: dict, use_median: bool) -> list[Slot]:
    keys = {}
    for s in layer:
        ns = adjacent.get(s)
        if ns:
            positions = [rank[n] + off for n, off in ns]
            keys[s] = _median(positions) if use_median else sum(positions) / len(positions)
        else:
            keys[s] = None
    # slots without neighbours on that side keep their place; the others are sorted around them
    movable = sorted((s for s in layer if keys[s] is not None), key=lambda s: keys[s])
    it = iter(movable)
    return [s if keys[s] is None else next(it) for s in layer]


def _pair_crossings(u: Slot, v: Slot, adjacent: dict, rank: dict) -> int:
    """Crossings between u's and v's segments towards one side when u is placed before v."""
    count = 0
    for a, a_off in adjacent.get(u, ()):
        pa = rank[a] + a_off
        for b, b_off in adjacent.get(v, ()):
            if rank[b] + b_off < pa:
                count += 1
    return count


def _transpose(layers: list[list[Slot]], up: dict, down: dict, max_rounds: int = 4) -> None:
    """Swap neighbours in a layer while that removes crossings (local improvement)."""
    for _ in range(max_rounds):
        improved = False
        rank = {s: j for ls in layers for j, s in enumerate(ls)}
        for ls in layers:
            for j in range(len(ls) - 1):
                u, v = ls[j], ls[j + 1]
                before = _pair_crossings(u, v, up, rank) + _pair_crossings(u, v, down, rank)
                after = _pair_crossings(v, u, up, rank) + _pair_crossings(v, u, down, rank)
                if after < before:
                    ls[j], ls[j + 1] = v, u
                    rank[u], rank[v] = j + 1, j
                    improved = True
        if not improved:
            return


def _sweeps(
    layers: list[list[Slot]], segments: list[Segment], up: dict, down: dict, sweeps: int
) -> tuple[list[list[Slot]], int]:
    current = [list(ls) for ls in layers]
    best, best_count = [list(ls) for ls in current], count_crossings(current, segments)
    for sweep in range(sweeps):
        if best_count == 0:
            break
        use_median = sweep % 2 == 0
        rank = {s: j for ls in current for j, s in enumerate(ls)}
        if sweep % 2 == 0:  # left to right, by the previous layer
            for i in range(1, len(current)):
                current[i] = _sort_layer(current[i], up, rank, use_median)
                rank.update((s, j) for j, s in enumerate(current[i]))
        else:  # right to left, by the next layer
            for i in range(len(current) - 2, -1, -1):
                current[i] = _sort_layer(current[i], down, rank, use_median)
                rank.update((s, j) for j, s in enumerate(current[i]))
        _transpose(current, up, down)
        count = count_crossings(current, segments)
        if count < best_count:
            best, best_count = [list(ls) for ls in current], count
    return best, best_count


BIG_GRAPH_SLOTS = 3000
RESTART_BUDGET = 1500  # slots x restarts: small graphs get many restarts, big ones one


def minimise_crossings(
    layers: list[list[Slot]], segments: list[Segment], sweeps: int = SWEEPS
) -> list[list[Slot]]:
    """A reordering of each layer with fewer wire crossings; the best one seen is returned.

    The sweeps find a local optimum, so small graphs also start from a few shuffled orders
    (seeded: the result is deterministic)."""
    up, down = _neighbours(segments)
    slots = sum(len(ls) for ls in layers)
    if slots > BIG_GRAPH_SLOTS:  # most of the gain comes in the first sweeps; stay interactive
        sweeps = min(sweeps, 6)
    best, best_count = _sweeps(layers, segments, up, down, sweeps)
    restarts = max(0, min(16, RESTART_BUDGET // max(slots, 1) - 1))
    rng = random.Random(0)
    for _ in range(restarts):
        if best_count == 0:
            break
        start = [rng.sample(ls, len(ls)) for ls in layers]
        order, count = _sweeps(start, segments, up, down, sweeps)
        if count < best_count:
            best, best_count = order, count
    return best


# -- coordinates ----------------------------------------------------------------------------


def _isotonic_tops(desired: list[float], heights: list[float], gap: float) -> list[float]:
    """Tops closest (least squares) to `desired` with the order kept and `gap` between slots:
    pool-adjacent-violators on tops shifted by the room the slots above need."""
    offsets, acc = [], 0.0
    for h in heights:
        offsets.append(acc)
        acc += h + gap
    z = [d - o for d, o in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, weight]
    for value in z:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    fitted: list[float] = []
    for mean, weight in blocks:
        fitted.extend([mean] * int(weight))
    return [f + o for f, o in zip(fitted, offsets, strict=True)]


def place(
    layers: list[list[Slot]],
    segments: list[Segment],
    sizes: Mapping[str, tuple[float, float]] | None = None,
    h_gap: float = H_GAP,
    v_gap: float = V_GAP,
    origin: tuple[float, float] = (0.0, 0.0),
) -> dict[str, tuple[float, float]]:
    """Top-left positions of the real nodes for this ordering; no two nodes overlap."""
    sizes = sizes or {}

    def size(s: Slot) -> tuple[float, float]:
        if isinstance(s, Dummy):
            return (0.0, DUMMY_HEIGHT)
        return sizes.get(s, DEFAULT_SIZE)

    up, down = _neighbours(segments)
    tops: dict[Slot, float] = {}
    for ls in layers:  # stacked, then centred on the tallest layer below
        y = 0.0
        for s in ls:
            tops[s] = y
            y += size(s)[1] + v_gap
    tallest = max((sum(size(s)[1] + v_gap for s in ls) for ls in layers), default=0.0)
    for ls in layers:
        height = sum(size(s)[1] + v_gap for s in ls)
        for s in ls:
            tops[s] += (tallest - height) / 2

    def centre(s: Slot) -> float:
        return tops[s] + size(s)[1] / 2

    order = list(range(len(layers)))
    for sweep in range(8):  # pull each slot towards the centres of its neighbours
        forward = sweep % 2 == 0
        adjacent = up if forward else down
        for i in order if forward else reversed(order):
            ls = layers[i]
            if not ls:
                continue
            heights = [size(s)[1] for s in ls]
            desired = []
            for s, h in zip(ls, heights, strict=True):
                ns = adjacent.get(s)
                if ns:
                    desired.append(sum(centre(n) for n, _ in ns) / len(ns) - h / 2)
                else:
                    desired.append(tops[s])
            for s, t in zip(ls, _isotonic_tops(desired, heights, v_gap), strict=True):
                tops[s] = t
    lowest = min(tops.values(), default=0.0)
    x = origin[0]
    positions: dict[str, tuple[float, float]] = {}
    for ls in layers:
        width = max((size(s)[0] for s in ls), default=0.0)
        for s in ls:
            if not isinstance(s, Dummy):
                positions[s] = (round(x, 1), round(origin[1] + tops[s] - lowest, 1))
        x += width + h_gap
    return positions


def layout(
    pipeline: Pipeline,
    sizes: Mapping[str, tuple[float, float]] | None = None,
    h_gap: float = H_GAP,
    v_gap: float = V_GAP,
    origin: tuple[float, float] = (0.0, 0.0),
    sweeps: int = SWEEPS,
) -> dict[str, tuple[float, float]]:
    """Top-left position of every node: layered left to right with few wire crossings.

    sizes: node name -> (width, height) as drawn (DEFAULT_SIZE when missing)."""
    if not pipeline.nodes:
        return {}
    layers, segments = proper_layers(assign_layers(pipeline), wires(pipeline))
    ordered = minimise_crossings(layers, segments, sweeps)
    return place(ordered, segments, sizes, h_gap, v_gap, origin)
