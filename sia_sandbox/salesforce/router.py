"""The router below ``/services/data/vXX.X/``: a table of path patterns, each with its handler per method.

A pattern is a ``/``-separated list of literal segments and placeholders: ``{type}`` names an sObject (404 when
there is none), any other ``{name}`` takes the segment as it is. Rules are tried in order. A rule matches any
method once its path matches (405 ``METHOD_NOT_ALLOWED`` naming the allowed ones; ``HEAD`` is served by the
``GET`` handler), unless it is ``exact``: then it matches only its own methods and other methods try the rules
below it (``sobjects/Task/updated`` is replication for ``GET`` but a record id for ``PATCH``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sia_sandbox.salesforce.schema import sobject
from sia_sandbox.salesforce.wire import Call, Reply, SfHttpError, not_found

Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Rule:
    pattern: str
    handlers: Mapping[str, Handler]  # method -> handler(call, *captured segments)
    exact: bool = False
    segments: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "segments", tuple(s for s in self.pattern.split("/") if s))

    def capture(self, parts: Sequence[str], method: str) -> list[tuple[str, str]] | None:
        """(placeholder, segment) pairs if this rule serves ``parts`` (and ``method``, for an exact rule)."""
        if len(self.segments) != len(parts) or (self.exact and method not in self.handlers):
            return None
        captured = []
        for want, got in zip(self.segments, parts, strict=True):
            if want.startswith("{"):
                captured.append((want, got))
            elif want != got:
                return None
        return captured


class Router:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    def route(self, call: Call) -> Reply:
        for rule in self.rules:
            captured = rule.capture(call.parts, call.method)
            if captured is None:
                continue
            args: list[Any] = []
            for name, value in captured:
                if name == "{type}":
                    found = sobject(value)
                    if found is None:
                        raise not_found()
                    args.append(found)
                else:
                    args.append(value)
            handler = rule.handlers.get(call.method) or (
                rule.handlers.get("GET") if call.method == "HEAD" else None
            )
            if handler is None:
                allowed = ",".join(rule.handlers)
                raise SfHttpError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{call.method}' not allowed. Allowed are {allowed}",
                )
            return handler(call, *args)
        raise not_found()
