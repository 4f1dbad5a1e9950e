"""VirtuousAI Chat: the family profile for `openapi/virtuousai-chat.yaml`.

Bearer auth (X-API-Key also documented); FastAPI errors (`{"detail": [{loc, msg, type}]}` on 422,
`{"detail": "<text>"}` otherwise: the `conformance.dialects.fastapi` dialect); UUID path ids; threads
and messages paged by an opaque `nextCursor` (`CursorPaging`); turns streamed in the Vercel AI SDK's
UI Message Stream protocol; deletes and cancel answer 204.

- `profile.py`: the profile (requests, fixtures, probes and limits for the shared checks);
- `api.py`: the operations as requests, the steps the family's checks share, and `Context`, the
  `CheckContext[VirtuousAIProfile]` they take;
- `rules.py`: ids nothing has;
- `listings.py`, `chat_stream.py`: the shared pagination and sse_stream checks' hooks;
- `lifecycle.py`, `turns.py`, `cancel.py`, `attachments.py`, `feedback.py`, `crystallize.py`, `bulk_delete.py`:
  the family's own checks.
"""

from conformance.profiles.virtuousai.profile import PROFILE, VirtuousAIProfile

__all__ = ["PROFILE", "VirtuousAIProfile"]
