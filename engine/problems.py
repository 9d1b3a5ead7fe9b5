"""Problems found in a pipeline, located by node and field (and file line when known)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pipeline; `node`/`field` locate it, `line` is 1-based or None.

    `field` is a dotted path inside the node (``inputs.tabular_input``, ``spark.driver_memory``)
    or, when `node` is None, inside the pipeline (``computes.cpucluster.workers``).
    """

    node: str | None
    field: str | None
    severity: Severity
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def where(self) -> str:
        """``node.field`` (or whichever parts are known), for messages."""
        parts = [p for p in (self.node, self.field) if p]
        return ".".join(parts) if parts else "pipeline"

    def format(self, path: str | None = None) -> str:
        """``file:line: node.field: message`` as the CLI prints it."""
        loc = path or "<pipeline>"
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        prefix = "" if self.severity == "error" else "warning: "
        return f"{loc}: {self.where()}: {prefix}{self.message}"


class PipelineError(Exception):
    """A user-caused fault with one or more located problems; shown, never a traceback."""

    def __init__(self, problems: list[Problem] | Problem | str, path: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(None, None, "error", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.path = path
        super().__init__("\n".join(p.format(path) for p in self.problems))


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]
