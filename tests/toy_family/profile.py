"""The toy family's suite part: ``PROFILE``, checked by the shared ``auth`` and ``error_envelope`` checks."""

from __future__ import annotations

from typing import Any

from conformance.context import CheckContext
from conformance.http import PRIMARY, Exchange, Request
from conformance.profiles.base import Profile
from conformance.vocabulary import Fixture, Probe


class ToyProfile(Profile):
    name = "toy"
    title = "Toy notes (test family)"
    spec_file = "tests.toy_family:notes.yaml"
    error_schema = "Error"
    checks = ("auth", "error_envelope")

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def probe(self) -> Request:
        return self.request("listNotes")

    def create_fixture(self, ctx: CheckContext, *, identity: str | None = PRIMARY) -> Fixture:
        created = ctx.send(self.request("createNote", json={"text": "hello"}), identity=identity)
        ctx.require_status(created)
        body = ctx.require_object(created)
        return Fixture({"note": str(body.get("id"))}, body, identity)

    def snapshot(self, ctx: CheckContext, fixture: Fixture) -> dict[str, tuple[Exchange, Any]]:
        shown = ctx.send(self.request("getNote", note_id=fixture["note"]), identity=fixture.identity)
        return {"the note": (shown, shown.json if shown.status == 200 else shown.status)}

    def unauthenticated_probes(self, fixture: Fixture) -> list[Request]:
        return [self.request("createNote", json={"text": "x"}), self.request("listNotes"),
                self.request("getNote", note_id=fixture["note"])]

    def error_probes(self, fixture: Fixture) -> list[Probe]:
        return [
            Probe(self.request("getNote", note_id="note_000000000000000000000000"), 404, "(unknown id)"),
            Probe(self.request("listNotes", params=[("limit", "0")]), 400, "(limit below 1)"),
            Probe(self.request("createNote", json={"text": "x" * 201}), 400, "(text over 200 characters)"),
            Probe(self.request("createNote", content=b'{"text": '), 400, "(malformed JSON)"),
        ]


PROFILE = ToyProfile()
