"""The toy family's mock part: ``FAMILY``, three handlers over the store and a one-field error envelope."""

from __future__ import annotations

import typing as t

from mockserver.auth import current_tenant
from mockserver.errors import ErrorResponse, MockError, NotFound, UnsupportedMediaType
from mockserver.family import Family
from mockserver.ids import new_id, unix_seconds
from mockserver.responses import JSONResponse, json_response
from mockserver.store import Store

NOTES = "notes"


class NotesHandlers:
    """createNote, getNote and listNotes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def operations(self) -> dict[str, t.Callable]:
        return {"createNote": self.create_note, "getNote": self.get_note, "listNotes": self.list_notes}

    async def create_note(self, body: dict) -> JSONResponse:
        note = {"id": new_id("note", 24), "text": body["text"], "created_at": unix_seconds()}
        self.store.collection(current_tenant(), NOTES).insert(note["id"], note)
        return json_response(note)

    async def get_note(self, note_id: str) -> JSONResponse:
        note = self.store.collection(current_tenant(), NOTES).get(note_id)
        if note is None:
            raise NotFound(f"No note {note_id}")
        return json_response(note)

    async def list_notes(self, limit: int = 20) -> JSONResponse:
        newest_first = list(self.store.collection(current_tenant(), NOTES))[::-1]
        return json_response({"data": newest_first[:limit], "has_more": len(newest_first) > limit})


def render_error(error: MockError) -> ErrorResponse:
    status = 400 if isinstance(error, UnsupportedMediaType) else error.status
    return ErrorResponse(status, {"error": {"message": error.message or "error"}})


FAMILY = Family(
    name="toy",
    spec_file="tests.toy_family:notes.yaml",
    base_path="/toy/v1",
    create_handlers=lambda store: NotesHandlers(store).operations(),
    render_error=render_error,
    description="Toy notes (test family)",
)
