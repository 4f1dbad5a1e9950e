"""Fault rules: the mock misbehaving on purpose, seeded, and only in ways the contracts declare.

A rule names a family and an operation (or ``*``) and gives a probability of each declared error response,
a latency distribution and stream faults; the document's format is the JSON Schema
``convo_contracts/fault-rules.schema.json`` (``RULES_SCHEMA``). ``FaultRules`` holds the rules of one
running mock: ``load(path)`` (YAML or JSON, what ``convo-mock serve --faults`` does), ``replace(document)``,
``clear()`` and ``as_dict()`` (what the admin API calls). A document is checked whole before it replaces
anything: a status the operation does not declare, an unknown family or operation, probabilities above 1
in total or stream faults on an operation that does not stream are refused with a message saying which
rule and why (``FaultRuleError``).

Each rule draws from its own ``random.Random`` seeded with ``"<seed>:<rule index>"`` and always makes the
same draws for a request (error, then latency, then stall, then drop), so the same requests in the same
order misbehave the same way in every run with the same seed.
"""

from __future__ import annotations

import contextvars
import json
import math
import random
import typing as t
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from convo_contracts import contract_path
from mockserver.declared import DeclaredOperation

MAX_LATENCY_MS = 60_000
RULES_SCHEMA_FILE = "fault-rules.schema.json"
EVENT_STREAM = "text/event-stream"


class FaultRuleError(ValueError):
    """A fault rule document that cannot be used; the message says which rule and why."""


def rules_schema() -> dict:
    """The JSON Schema of a fault rule document."""
    return t.cast(dict, json.loads(contract_path(RULES_SCHEMA_FILE).read_text()))


@dataclass(frozen=True)
class StreamPlan:
    """What a streamed answer does wrong: pauses and where it stops (None: it does not)."""

    first_event_s: float = 0.0
    event_s: float = 0.0
    stall_after: int | None = None
    stall_s: float = 0.0
    drop_after: int | None = None


STREAM_PLAN: contextvars.ContextVar[StreamPlan | None] = contextvars.ContextVar("convo_mock_stream_plan",
                                                                               default=None)
"""The stream faults of the request being handled (set by ``mockserver.selection``, read by
``mockserver.sse.event_stream`` when the handler makes its stream)."""


@dataclass(frozen=True)
class Decision:
    """What one rule decided for one request."""

    status: int | None
    """A declared error status to answer instead of handling the request (None: handle it)."""
    latency_s: float
    stream: StreamPlan | None


class _Rule:
    """One checked rule and its random sequence."""

    def __init__(self, document: dict, seed: int, index: int) -> None:
        self.document = document
        self.family: str = document["family"]
        self.operation: str = document.get("operation", "*")
        self.errors = [(int(code), float(p)) for code, p in (document.get("errors") or {}).items()]
        self.latency: dict | None = document.get("latency")
        self.stream: dict | None = document.get("stream")
        self.random = random.Random(f"{seed}:{index}")

    def decide(self, declared: DeclaredOperation | None) -> Decision:
        draw = self.random.random
        status = None
        if self.errors:
            point, total = draw(), 0.0
            for code, probability in self.errors:
                total += probability
                if point < total:
                    if declared is not None and code in declared.responses:
                        status = code
                    break
        latency_ms = 0.0
        if self.latency is not None:
            kind = self.latency["distribution"]
            if kind == "fixed":
                latency_ms = float(self.latency["ms"])
            elif kind == "uniform":
                latency_ms = self.random.uniform(self.latency["min_ms"], self.latency["max_ms"])
            else:
                latency_ms = min(self.random.lognormvariate(math.log(self.latency["median_ms"]), self.latency["sigma"]),
                                 float(self.latency.get("max_ms", MAX_LATENCY_MS)))
        plan = None
        if self.stream is not None:
            stall, drop = self.stream.get("stall"), self.stream.get("drop")
            stalls = stall is not None and draw() < stall.get("probability", 1)
            drops = drop is not None and draw() < drop.get("probability", 1)
            plan = StreamPlan(first_event_s=self.stream.get("first_event_ms", 0) / 1000,
                              event_s=self.stream.get("event_ms", 0) / 1000,
                              stall_after=stall["after_events"] if stalls and stall else None,
                              stall_s=stall["ms"] / 1000 if stalls and stall else 0.0,
                              drop_after=drop["after_events"] if drops and drop else None)
        return Decision(status=status, latency_s=latency_ms / 1000, stream=plan)


class FaultRules:
    """The fault rules of a running mock, over the declared operations of the families it serves."""

    def __init__(self, catalogue: t.Mapping[str, t.Mapping[str, DeclaredOperation]], seed: int | None = None) -> None:
        self.catalogue = catalogue
        self._fixed_seed = seed
        self._seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._rules: list[_Rule] = []
        self._chosen: dict[tuple[str, str], _Rule | None] = {}
        self.active = False
        """Whether any rule is set (checked first on every request: no rule, no cost)."""

    @property
    def seed(self) -> int:
        return self._seed

    def load(self, path: str | Path) -> None:
        """Replace the rules with the document in a YAML or JSON file."""
        try:
            document = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise FaultRuleError(f"cannot read fault rules from {path}: {exc}") from None
        self.replace(document if document is not None else {})

    def replace(self, document: t.Any) -> None:
        """Replace every rule with ``document``'s (checked whole first; on error nothing changes)."""
        document = _normalised(document)
        errors = sorted(jsonschema.Draft202012Validator(rules_schema()).iter_errors(document), key=lambda e: e.path)
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the document"
            raise FaultRuleError(f"fault rules: at {where}: {errors[0].message}")
        for index, rule in enumerate(document.get("rules", [])):
            self._check(index, rule)
        seed = self._fixed_seed if self._fixed_seed is not None else document.get("seed", self._seed)
        self._seed = seed
        self._rules = [_Rule(rule, seed, index) for index, rule in enumerate(document.get("rules", []))]
        self._chosen = {}
        self.active = bool(self._rules)

    def clear(self) -> None:
        """No rules: every request is handled as it comes."""
        self.replace({})

    def as_dict(self) -> dict[str, t.Any]:
        """The rules in force, as a document ``replace`` takes (with the seed in use)."""
        return {"seed": self._seed, "rules": [rule.document for rule in self._rules]}

    def decide(self, family: str, operation_id: str) -> Decision | None:
        """The decision of the rule for this operation (None: no rule applies)."""
        key = (family, operation_id)
        if key not in self._chosen:
            self._chosen[key] = next((r for r in self._rules if r.family == family and r.operation == operation_id),
                                     next((r for r in self._rules if r.family == family and r.operation == "*"), None))
        rule = self._chosen[key]
        if rule is None:
            return None
        return rule.decide(self.catalogue.get(family, {}).get(operation_id))

    def _check(self, index: int, rule: dict) -> None:
        where = f"fault rule {index} ({rule['family']} {rule.get('operation', '*')})"
        operations = self.catalogue.get(rule["family"])
        if operations is None:
            raise FaultRuleError(f"{where}: no family {rule['family']!r} is served "
                                 f"(served: {', '.join(self.catalogue)})")
        name = rule.get("operation", "*")
        if name != "*" and name not in operations:
            raise FaultRuleError(f"{where}: the contract has no operation {name!r} "
                                 f"(operations: {', '.join(sorted(operations))})")
        chosen = list(operations.values()) if name == "*" else [operations[name]]
        errors = rule.get("errors") or {}
        if sum(errors.values()) > 1 + 1e-9:
            raise FaultRuleError(f"{where}: error probabilities add up to {sum(errors.values()):g}, above 1")
        for code in errors:
            status = int(code)
            if not any(status in operation.responses for operation in chosen):
                declared = sorted({s for operation in chosen for s in operation.responses if s >= 400})
                raise FaultRuleError(f"{where}: status {status} is not declared by "
                                     f"{'any operation of the contract' if name == '*' else 'the operation'}; "
                                     f"declared error statuses: {', '.join(map(str, declared))}")
        latency = rule.get("latency")
        if latency and latency["distribution"] == "uniform" and latency["min_ms"] > latency["max_ms"]:
            raise FaultRuleError(f"{where}: latency min_ms is above max_ms")
        if rule.get("stream") and name != "*" and not _streams(operations[name]):
            raise FaultRuleError(f"{where}: stream faults on an operation whose contract declares no "
                                 f"{EVENT_STREAM} response")


def _streams(operation: DeclaredOperation) -> bool:
    return any(r.media_type == EVENT_STREAM for r in operation.responses.values())


def _normalised(document: t.Any) -> t.Any:
    """YAML's integer keys (``429: 0.1``) as the strings JSON has."""
    if not isinstance(document, dict):
        return document
    rules = document.get("rules")
    if not isinstance(rules, list):
        return document
    fixed = []
    for rule in rules:
        if isinstance(rule, dict) and isinstance(rule.get("errors"), dict):
            rule = {**rule, "errors": {str(k): v for k, v in rule["errors"].items()}}
        fixed.append(rule)
    return {**document, "rules": fixed}
