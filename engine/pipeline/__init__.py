"""The pipeline model: the one in-memory pipeline that every front end edits and reads.

``model`` (Pipeline, Node, Port, Compute, ... and the events it emits), ``changes`` (every edit
as a reversible Change), ``registry`` (node types declared once as data: NodeSpec, PortSpec,
ParamSpec), ``computes`` (where a compute's steps run, from its master), ``graph`` (the networkx view: execution order, generations) and ``layout``
(automatic positions). No I/O: imports only the engine's base modules.
"""
