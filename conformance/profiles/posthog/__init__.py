"""PostHog Max (PostHog AI) conversations: the family profile for `openapi/posthog-max.yaml`.

Bearer personal API key; Django REST framework errors in drf-exceptions-hog's envelope
(`conformance.dialects.drf`) plus the bodies PostHog's views answer themselves (`{"error": ...}`);
paths under `/api/environments/{project_id}/` (`--project-id`, default `@current`); conversations paged by
limit/offset (`OffsetPaging`); the create call *is* the run's event stream (`event: conversation |
message | status | update`, cumulative ai chunks), and a conversation has a two-message queue.

- `profile.py`: the profile (fixtures, probes and limits for the shared checks);
- `api.py`: the operations as requests, the steps the family's checks share (a run, waiting for a
  conversation to settle, waiting out a 429), and `Context`;
- `stream.py`: the run stream's grammar and the `sse_stream` check's hooks;
- `listing.py`: the conversations list and the family's bounded `pagination` check;
- `runs.py`, `queue.py`, `cancel.py`, `append.py`: the family's own checks.
"""

from conformance.profiles.posthog.profile import PROFILE, PostHogProfile

__all__ = ["PROFILE", "PostHogProfile"]
