"""The official ``openai`` Python SDK, unchanged, drives the Venna gateway mock (a real server process)."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI


def venna(mock_server: str, api_key: str = "vk_test") -> OpenAI:
    return OpenAI(base_url=f"{mock_server}/venna/v1", api_key=api_key, max_retries=0)


def wrapped(item: object) -> tuple[str, int, dict]:
    """A Venna item as the SDK hands it over: its ``type``, ``index`` and ``data`` (kept as extra fields)."""
    return getattr(item, "type"), getattr(item, "index"), getattr(item, "data")  # noqa: B009


def test_full_conversation_flow(mock_server: str) -> None:
    client = venna(mock_server)
    first = {"type": "message", "role": "user", "content": "Hello!"}
    conversation = client.conversations.create(items=[first], metadata={"topic": "demo"})
    assert conversation.id.startswith("conv_") and conversation.object == "conversation"
    assert conversation.metadata == {"topic": "demo"}

    assert client.conversations.retrieve(conversation.id) == conversation
    updated = client.conversations.update(conversation.id, metadata={"topic": "sdk", "stage": "2"})
    assert updated.metadata == {"topic": "sdk", "stage": "2"}
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "sdk", "stage": "2"}

    reply = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi!"}]}
    added = client.conversations.items.create(conversation.id, items=[reply])
    assert [wrapped(item) for item in added.data] == [("input", 1, reply)]
    assert (added.first_id, added.last_id, added.has_more) == ("1", "1", False)
    sent = [first, reply]
    for batch in range(3):  # 2 + 3*7 = 23 items, so limit=5 takes several pages
        more = [{"type": "message", "role": "user", "content": f"more {batch}.{n}"} for n in range(7)]
        client.conversations.items.create(conversation.id, items=more)
        sent += more

    ascending = [wrapped(item) for item in client.conversations.items.list(conversation.id, order="asc", limit=5)]
    assert ascending == [("input", index, item) for index, item in enumerate(sent)], "auto-paginated, as sent"
    descending = [wrapped(item) for item in client.conversations.items.list(conversation.id, order="desc", limit=4)]
    assert descending == list(reversed(ascending))
    default_order = [wrapped(item)[1] for item in client.conversations.items.list(conversation.id, limit=6)]
    assert default_order == list(range(22, -1, -1))

    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted is True and deleted.id == conversation.id and deleted.object == "conversation.deleted"
    with pytest.raises(openai.NotFoundError) as raised:
        client.conversations.retrieve(conversation.id)
    assert raised.value.body["message"] == f"Conversation with id '{conversation.id}' not found."
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)


def test_workspaces_and_refusals_map_to_sdk_exceptions(mock_server: str) -> None:
    client = venna(mock_server)
    conversation = client.conversations.create()
    with pytest.raises(openai.NotFoundError):
        venna(mock_server, "vk_another_workspace").conversations.retrieve(conversation.id)
    with pytest.raises(openai.BadRequestError) as bad:
        client.conversations.items.list(conversation.id, limit=1000)
    assert bad.value.code == "integer_above_max_value" and bad.value.param == "limit"
    with pytest.raises(openai.APIStatusError) as challenge:
        venna(mock_server, "sk-not-a-venna-key").conversations.retrieve(conversation.id)
    assert challenge.value.status_code == 402 and "payment-required" in challenge.value.response.headers
    assert challenge.value.response.json()["accepts"][0]["scheme"] == "upto"
