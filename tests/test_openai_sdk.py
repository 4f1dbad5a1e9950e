"""The official ``openai`` Python SDK drives the mock (a real server process) through the whole flow."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI


@pytest.fixture
def client(mock_server: str) -> OpenAI:
    return OpenAI(base_url=f"{mock_server}/openai/v1", api_key="sdk-test-key", max_retries=0)


def test_full_conversation_flow(client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Hello!"},
               {"role": "assistant", "content": "Hi, how can I help?"}],
        metadata={"topic": "demo"},
    )
    assert conversation.id.startswith("conv_") and len(conversation.id) == 5 + 48
    assert conversation.object == "conversation"
    assert conversation.metadata == {"topic": "demo"}

    assert client.conversations.retrieve(conversation.id) == conversation
    updated = client.conversations.update(conversation.id, metadata={"topic": "sdk", "stage": "2"})
    assert updated.metadata == {"topic": "sdk", "stage": "2"}
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "sdk", "stage": "2"}

    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "question"}]},
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": '{"q": 1}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "42"},
        ],
    )
    assert [item.type for item in added.data] == ["message", "function_call", "function_call_output"]
    assert added.first_id == added.data[0].id and added.last_id == added.data[-1].id
    assert added.has_more is False
    for _ in range(3):  # 5 + 3*6 = 23 items in all, so limit=5 needs several pages
        client.conversations.items.create(
            conversation.id, items=[{"role": "user", "content": f"more {n}"} for n in range(6)])

    ascending = [item.id for item in client.conversations.items.list(conversation.id, order="asc", limit=5)]
    descending = [item.id for item in client.conversations.items.list(conversation.id, order="desc", limit=5)]
    default_order = [item.id for item in client.conversations.items.list(conversation.id, limit=7)]
    assert len(ascending) == 23 and len(set(ascending)) == 23
    assert descending == list(reversed(ascending))
    assert default_order == descending

    first = client.conversations.items.list(conversation.id, order="asc", limit=100).data[0]
    assert first.type == "message" and first.role == "user"
    assert first.content[0].type == "input_text" and first.content[0].text == "Hello!"
    second = client.conversations.items.retrieve(ascending[1], conversation_id=conversation.id)
    assert second.role == "assistant" and second.content[0].type == "output_text"
    assert second.content[0].annotations == []

    parent = client.conversations.items.delete(ascending[0], conversation_id=conversation.id)
    assert parent.id == conversation.id and parent.object == "conversation"
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.retrieve(ascending[0], conversation_id=conversation.id)
    remaining = [item.id for item in client.conversations.items.list(conversation.id, order="asc")]
    assert remaining == ascending[1:]

    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted is True and deleted.id == conversation.id
    with pytest.raises(openai.NotFoundError) as raised:
        client.conversations.retrieve(conversation.id)
    assert raised.value.body["message"] == f"Conversation with id '{conversation.id}' not found."
    with pytest.raises(openai.NotFoundError):
        client.conversations.items.list(conversation.id)


def test_sdk_errors_map_to_sdk_exceptions(client: OpenAI, mock_server: str) -> None:
    conversation = client.conversations.create()
    with pytest.raises(openai.BadRequestError) as raised:
        client.conversations.items.list(conversation.id, limit=1000)
    assert raised.value.code == "integer_above_max_value" and raised.value.param == "limit"
    with pytest.raises(openai.BadRequestError) as raised:
        client.conversations.update(conversation.id, metadata={f"k{i}": "v" for i in range(17)})
    assert raised.value.code == "object_above_max_properties"
    other_tenant = OpenAI(base_url=f"{mock_server}/openai/v1", api_key="another-key", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other_tenant.conversations.retrieve(conversation.id)
