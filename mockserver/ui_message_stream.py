"""The Vercel AI SDK UI Message Stream (protocol v1): the chunks a streamed text reply is made of.

Shared by every family whose vendor streams in this protocol (pydantic-ai's ``VercelAIAdapter`` and the AI
SDK itself): a reply is ``start``, optionally ``start-step``, ``text-start``, one or more ``text-delta``,
``text-end``, optionally ``finish-step``, ``finish``, then the ``[DONE]`` sentinel, each sent as one
``data:`` frame (``mockserver.sse``) of a response carrying ``HEADERS``. Fields are camelCase and absent
when null, as the AI SDK's own serialisation does.
"""

from __future__ import annotations

import re
import typing as t

from mockserver.ids import new_uuid

HEADERS: t.Mapping[str, str] = {"x-vercel-ai-ui-message-stream": "v1"}
"""The response header that names the protocol version."""
DONE = "[DONE]"
"""The sentinel payload of the last frame."""
WORDS_PER_DELTA = 3

Chunk = dict[str, t.Any]


def split_deltas(text: str, words_per_delta: int = WORDS_PER_DELTA) -> list[str]:
    """A reply cut into deltas of a few words each (their concatenation is the reply; never empty)."""
    words = re.findall(r"\S+\s*", text)
    return ["".join(words[i:i + words_per_delta]) for i in range(0, len(words), words_per_delta)] or [text]


def new_text_id() -> str:
    """An id for one text part of a message (``text-start`` … ``text-end`` share it)."""
    return f"text-{new_uuid()[:8]}"


def start(message_id: str, metadata: t.Mapping[str, t.Any] | None = None) -> Chunk:
    chunk: Chunk = {"type": "start", "messageId": message_id}
    if metadata is not None:
        chunk["messageMetadata"] = dict(metadata)
    return chunk


def start_step() -> Chunk:
    return {"type": "start-step"}


def text_start(text_id: str) -> Chunk:
    return {"type": "text-start", "id": text_id}


def text_delta(text_id: str, delta: str) -> Chunk:
    return {"type": "text-delta", "id": text_id, "delta": delta}


def text_end(text_id: str) -> Chunk:
    return {"type": "text-end", "id": text_id}


def finish_step() -> Chunk:
    return {"type": "finish-step"}


def finish(reason: str = "stop", metadata: t.Mapping[str, t.Any] | None = None) -> Chunk:
    chunk: Chunk = {"type": "finish", "finishReason": reason}
    if metadata is not None:
        chunk["messageMetadata"] = dict(metadata)
    return chunk


def error(text: str) -> Chunk:
    return {"type": "error", "errorText": text}


def abort() -> Chunk:
    return {"type": "abort"}
