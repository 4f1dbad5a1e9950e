"""The official Noxus SDK (``noxus-sdk`` 0.6), unchanged, drives the mock through the whole flow.

The mock runs as a server process on a free port; the SDK's ``Client`` starts against it (its start-up
calls ``GET /v1/nodes`` and ``GET /v1/admin/me`` included), then creates conversations (with settings and
for an agent), lists, adds messages, chats, streams in both formats, tails a run with ``iter_messages``,
updates and deletes, parsing every answer with its own models.
"""

from __future__ import annotations

import threading
import typing as t
import uuid

import pytest
from noxus_sdk.client import Client
from noxus_sdk.errors import NotFoundError, UnauthorizedError, ValidationError
from noxus_sdk.resources.conversations import (
    ConversationFile,
    ConversationSettings,
    ConversationTool,
    MessageRequest,
    WebResearchTool,
)

from mockserver.families.noxus import REPLY_PREAMBLE
from tests.servers import running_server

LONG_PROMPT = "Tell me everything. " + " ".join(f"word{n}" for n in range(150))


@pytest.fixture(scope="module")
def base_url() -> t.Iterator[str]:
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0", "--family", "noxus",
                        "--stream-delay", "0.02") as url:
        yield url + "/noxus"


@pytest.fixture
def client(base_url: str) -> t.Iterator[Client]:
    sdk = Client(api_key=f"sdk-{uuid.uuid4()}", base_url=base_url, max_retries=0)
    yield sdk
    sdk.close()


def settings() -> ConversationSettings:
    return ConversationSettings(model=["preset:cost"], temperature=0.2,
                                tools=[WebResearchTool(), ConversationTool(type="a_tool_from_the_future", dial=3)])


def test_the_client_starts_against_the_mock(client: Client) -> None:
    assert client.nodes == [] and client.admin.enabled is False


def test_conversations_with_settings_and_for_an_agent(client: Client) -> None:
    made = client.conversations.create(name="With settings", settings=settings())
    assert made.status == "idle" and made.etag and made.agent_id is None and made.messages == []
    assert made.settings.tools[1].type == "a_tool_from_the_future" and made.settings.tools[1].model_extra == {"dial": 3}
    agent_id = str(uuid.uuid4())
    for_agent = client.conversations.create(name="For an agent", agent_id=agent_id)
    assert for_agent.agent_id == agent_id and for_agent.settings.model == ["preset:cost"]
    assert client.conversations.list() == []  # no messages yet: not listed
    fetched = client.conversations.get(made.id)
    assert fetched.name == "With settings" and fetched.settings == made.settings


def test_the_whole_flow(client: Client) -> None:
    conversation = client.conversations.create(name="Flow", settings=settings())
    etag = conversation.etag

    reply = conversation.add_message(MessageRequest(content="Hello from the SDK"))
    assert reply.message_parts[0]["content"] == REPLY_PREAMBLE + "Hello from the SDK"
    assert reply.pydantic_message_parts[0]["kind"] == "response"
    assert conversation.etag != etag and len(conversation.messages) == 2
    assert [c.id for c in client.conversations.list(page=1, page_size=5)] == [conversation.id]

    files = [ConversationFile(name="notes.txt", b64_content="aGVsbG8=")]
    chat = conversation.chat(MessageRequest(content="Chat with a file", files=files))
    assert chat.parts[0]["parts"][0]["content"] == REPLY_PREAMBLE + "Chat with a file"
    assert [str(m.id) for m in conversation.get_messages()][-1] == str(chat.id)

    for fmt in ("json", "vercel"):
        events = list(conversation.stream(MessageRequest(content=f"Stream as {fmt}"), format=fmt))
        if fmt == "json":
            deltas = [e.data["delta"] for e in events if e.event == "text-delta" and isinstance(e.data, dict)]
            assert events[0].event == "start" and events[-1].event == "finish"
        else:
            chunks = [e.data for e in events if isinstance(e.data, dict)]
            deltas = [c["delta"] for c in chunks if c["type"] == "text-delta"]
            assert chunks[0]["type"] == "start" and events[-1].data == "[DONE]"
        stored = conversation.get_messages()[-1]
        assert "".join(deltas) == stored.message_parts[0]["content"] == REPLY_PREAMBLE + f"Stream as {fmt}"

    renamed = client.conversations.update(conversation.id, name="Renamed")
    assert renamed.name == "Renamed" and len(renamed.messages) == 8
    client.conversations.delete(conversation.id)
    with pytest.raises(NotFoundError):
        client.conversations.get(conversation.id)


def test_iter_messages_tails_a_run_started_elsewhere(client: Client) -> None:
    conversation = client.conversations.create(name="Tail", settings=settings())
    streamed: list[t.Any] = []
    started = threading.Event()

    def stream() -> None:
        for event in conversation.stream(MessageRequest(content=LONG_PROMPT)):
            started.set()
            streamed.append(event)

    worker = threading.Thread(target=stream, daemon=True)
    worker.start()
    assert started.wait(30)
    conversation.refresh()
    assert conversation.status == "running"
    tailed = list(conversation.iter_messages())  # from the conversation's etag: the run's start
    worker.join(30)
    assert not worker.is_alive()
    assert [(e.event, e.data) for e in tailed] == [(e.event, e.data) for e in streamed]
    text = "".join(e.data["delta"] for e in tailed if e.event == "text-delta" and isinstance(e.data, dict))
    assert text == conversation.get_messages()[-1].message_parts[0]["content"]


def test_errors_reach_the_sdk_as_its_typed_errors(base_url: str, client: Client) -> None:
    with pytest.raises(ValidationError) as invalid:
        client.conversations.list(page_size=500)
    assert invalid.value.status_code == 422
    with pytest.raises(NotFoundError):
        client.conversations.get(str(uuid.uuid4()))
    with pytest.raises(UnauthorizedError):
        Client(api_key="", base_url=base_url, max_retries=0)
