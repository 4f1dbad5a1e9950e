"""The suite's data vocabulary: what checks and profiles exchange, knowing no profile and no check.

- `Fixture`: resources a check made to work on (a conversation and its items, a thread with a turn);
- `Probe`: a request and the answer it must get (status, and rules on the body such as a 422's `loc`);
- `LimitCase`: a request at or just past a documented limit;
- `Seeded`: items a check put into a list, and `Page`: one page of a list as the family returned it
  (each paging kind in `conformance.paging` reads its own richer page);
- `Grounds`: what a probe's expected answer rests on, which decides how a different answer is judged
  (a failure, or a warning where a correct client cannot tell);
- `Reason`: why a request is invalid, in neutral words each error dialect translates into its own
  (`conformance.dialects`);
- `MISSING`: a field the answer does not have.

Requests and exchanges are `conformance.http`'s `Request` and `Exchange`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from conformance.http import NO_BODY, NOT_JSON, PRIMARY, SECONDARY, Exchange, Request

__all__ = [
    "MISSING", "NO_BODY", "NOT_JSON", "PRIMARY", "SECONDARY", "AnswerRule", "Exchange", "Fixture", "Grounds",
    "LimitCase", "Page", "Probe", "Reason", "Request", "Seeded", "Undo",
]

MISSING: Any = object()

# Rules on an answer beyond its status (a 422's loc and type, a count...): what is wrong (empty: nothing).
AnswerRule = Callable[[Exchange], list[str]]
# What undoes a request wrongly (or rightly) accepted, e.g. deleting what it created; None: nothing to undo.
Undo = Callable[[Exchange], "Request | None"]


class Grounds(str, Enum):
    """What a probe's expected answer rests on; `CheckContext.expect` judges another answer by it.

    Whatever the grounds, a 5xx, a 1xx/3xx, or an error body outside the envelope (checked by
    error_envelope) is a failure: a client that follows the contract breaks on it."""

    # The answer to a valid request (404 for an unknown id): any other status is a failure.
    ANSWER = "answer"
    # A limit or rule the vendor documents (16 metadata pairs, limit 1..100): accepting the request is a
    # failure; refusing it with another 4xx than the contract's is a warning.
    DOCUMENTED = "documented"
    # Input the vendor would refuse, though it documents no rule a client could rely on (unknown fields,
    # unknown enum values, wrong types, malformed JSON): accepting it, or refusing it with another 4xx,
    # is a warning; a correct client never sends it.
    VENDOR_REFUSES = "vendor_refuses"


class Reason(str, Enum):
    """Why a request is invalid, in words no error dialect owns; a dialect maps them to its own
    (FastAPI: pydantic v2 error types; others may not report a reason at all)."""

    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    NOT_AN_INTEGER = "not_an_integer"
    NOT_A_UUID = "not_a_uuid"
    NOT_ONE_OF = "not_one_of"
    NOT_A_LIST = "not_a_list"
    TOO_LONG = "too_long"  # a list or text longer than allowed
    NOT_AN_OBJECT = "not_an_object"
    MISSING = "missing"
    MALFORMED_JSON = "malformed_json"


@dataclass(frozen=True)
class Fixture:
    """Resources a check made to work on, as one identity: ids by role and the main resource as created."""

    ids: Mapping[str, str]
    body: dict[str, Any]
    identity: str | None = PRIMARY
    # Further ids by role (every item of a conversation, both messages of a turn...).
    lists: Mapping[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, role: str) -> str:
        return self.ids[role]


@dataclass(frozen=True)
class Probe:
    """A request and the answer it must get: one of `status`, and no `problems` with the answer."""

    request: Request
    status: int | tuple[int, ...]
    why: str = ""
    problems: AnswerRule | None = None
    # What undoes a probe wrongly accepted (deleting what it created), sent as the same identity.
    undo: Undo | None = None
    grounds: Grounds = Grounds.ANSWER
    # The documented feature the request uses (e.g. "item_reference items"), if any: a server that refuses
    # it for everyone does not support it (tenant_isolation reports that as unsupported, not a leak).
    feature: str | None = None

    @property
    def statuses(self) -> tuple[int, ...]:
        return self.status if isinstance(self.status, tuple) else (self.status,)

    @property
    def expected(self) -> str:
        text = " or ".join(str(status) for status in self.statuses)
        return f"{text} {self.why}".strip()


@dataclass(frozen=True)
class LimitCase:
    """A request at or just past a documented limit; `accepted` says which side of it."""

    description: str
    request: Request
    accepted: bool
    # Whether the request targets the check's fixture (whose state must not change if it is rejected).
    on_fixture: bool = False
    # Rules on a rejection's body (e.g. the 422's loc and type).
    problems: AnswerRule | None = None
    # What undoes the request once accepted (deleting what it created).
    undo: Undo | None = None
    # What the rejection rests on: a limit the vendor documents (failure when not enforced), or one only
    # the contract chose (a warning).
    grounds: Grounds = Grounds.DOCUMENTED


@dataclass(frozen=True)
class Page:
    """One page of a list, as the family returned it: the ids listed, and whether it says more follow."""

    ids: list[str]
    has_more: bool


@dataclass(frozen=True)
class Seeded:
    """Items a check put into a list: the scope they live in (None for a top-level list) and their ids
    in creation order."""

    scope: str | None
    ids: list[str]


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 date-time (as the contract's `format: date-time`), or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
