"""Noxus conversations: the family profile for `openapi/noxus-conversations.yaml`.

`X-API-Key` (a key is a workspace); FastAPI errors (`conformance.dialects.fastapi`: 422 with `loc`/`type`,
`{"detail": "<text>"}` otherwise); conversations paged by page/size (`PageNumberPaging`), messages held in
the conversation; a reply comes blocking (add message: the whole conversation; `chat`: only the reply),
or streamed in two formats (the UI Message Stream, or Noxus's `{"event", "data"}` envelopes), and
`events` tails the run in progress from an `etag`.

- `profile.py`: the profile (fixtures and probes for the shared checks, schemathesis settings);
- `api.py`: the operations as requests, the steps the family's checks share, reading stored messages;
- `stream.py`: the JSON envelope format and the hooks that stream a reply in either format;
- `checks.py`: `lifecycle`, `json_stream`, `add_message`, `chat`;
- `runs.py`: `runs` (a second message while a reply is produced) and `events` (tailing a run);
- `listing.py`: the conversations list and the family's bounded `pagination` check.
"""

from conformance.profiles.noxus.profile import PROFILE, NoxusProfile

__all__ = ["PROFILE", "NoxusProfile"]
