"""State that lives across requests crosses processes on Redis: two mock instances on one Redis database
(as two machines behind a load balancer, or two workers — but each request sent to a known one) share
their runs. A VirtuousAI turn streaming on one is refused as busy and cancelled from the other; a PostHog
run is replayed and cancelled from the other; a Noxus ``events`` tail is served by the other."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests import test_mock_noxus as noxus
from tests import test_mock_posthog as posthog
from tests.servers import running_server
from tests.test_mock_virtuousai import chat_request
from tests.test_redis_workers import fresh_database, serve_args

pytestmark = pytest.mark.anyio
STREAM_DELAY = "0.02"
VAI = "/virtuousai/api/v1"
VAI_PROMPT = "Explain, at length, " + " ".join(f"point{n}" for n in range(200))


@pytest.fixture(scope="module")
def two_instances(redis_url: str) -> Iterator[tuple[str, str]]:
    """Two single-process mocks on one fresh Redis database, their streams paced."""
    url = fresh_database(redis_url, 4)
    args = serve_args(url, "--stream-delay", STREAM_DELAY)
    with running_server(*args) as first, running_server(*args) as second:
        yield first, second


async def ui_frames(response: httpx.Response):
    """The ``data:`` payloads of a UI Message Stream as they arrive (``[DONE]`` as is)."""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            payload = line[len("data: "):]
            yield payload if payload == "[DONE]" else json.loads(payload)


async def test_a_virtuousai_turn_on_one_instance_is_busy_and_cancelled_from_the_other(
        two_instances: tuple[str, str]) -> None:
    first, second = two_instances
    headers = {"Authorization": "Bearer vai-across"}
    async with httpx.AsyncClient(base_url=first + VAI, headers=headers, timeout=30) as one, \
            httpx.AsyncClient(base_url=second + VAI, headers=headers, timeout=30) as other:
        thread = (await one.post("/chat/threads", json={})).json()
        stream_path = f"/chat/threads/{thread['id']}/turns/stream"
        async with one.stream("POST", stream_path, json=chat_request(VAI_PROMPT)) as live:
            frames = ui_frames(live)
            while (await anext(frames)).get("type") != "text-delta":
                pass
            busy = await other.post(stream_path, json=chat_request("me too"))
            assert busy.status_code == 409
            assert busy.json() == {"detail": "A turn is already in progress for this thread"}
            cancelled = await other.post(f"/chat/threads/{thread['id']}/turns/cancel", json={"partialText": "so far"})
            assert cancelled.status_code == 204, cancelled.text
            rest = [frame async for frame in frames]
        assert rest[-2:] == [{"type": "abort"}, "[DONE]"], "the stream on the first instance ends as cancelled"
        assert not any(isinstance(frame, dict) and frame.get("type") == "finish" for frame in rest)
        after = (await other.get(f"/chat/threads/{thread['id']}")).json()
        turn = (await one.get(f"/chat/turns/{after['lastTurnId']}")).json()
        assert after["lastTurnStatus"] == turn["status"] == "cancelled"
        messages = (await one.get(f"/chat/threads/{thread['id']}/messages")).json()["items"]
        assert [m["role"] for m in messages] == ["user", "assistant"], "only the partial text was kept"
        again = await other.post(stream_path, json=chat_request("now it is free"))
        assert again.status_code == 200 and '"type":"finish"' in again.text.replace(" ", "")


async def test_a_posthog_run_on_one_instance_is_replayed_and_cancelled_from_the_other(
        two_instances: tuple[str, str]) -> None:
    first, second = two_instances
    async with posthog.live_client(first, "ph-across") as one, posthog.live_client(second, "ph-across") as other:
        conversation = str(uuid.uuid4())
        async with one.stream("POST", f"{posthog.BASE}/", json=posthog.message(posthog.LONG_PROMPT, conversation)) \
                as live:
            events = posthog.sse_events(live)
            seen = [await anext(events) for _ in range(4)]
            assert seen[0][0] == "conversation" and seen[2][1]["type"] == seen[3][1]["type"] == "ai"
            busy = await other.post(f"{posthog.BASE}/", json=posthog.message("me too", conversation))
            assert busy.status_code == 409
            async with other.stream("POST", f"{posthog.BASE}/", json=posthog.message(None, conversation)) as again:
                assert again.status_code == 200
                replay = posthog.sse_events(again)
                replayed = [await anext(replay) for _ in range(3)]
                assert replayed == seen[1:4], "the replay starts at the run's start, without the conversation event"
                assert (await other.patch(f"{posthog.BASE}/{conversation}/cancel/")).status_code == 204
                replay_rest = [event async for event in replay]
            rest = [event async for event in events]
        assert all("id" not in data for _, data in rest + replay_rest), "no final message after a cancel"
        final = [event async for event in posthog._stream_all(other, posthog.message("Again", conversation))]
        assert "id" in final[-1][1], "the conversation is idle again: a new run completes"


async def test_a_noxus_events_tail_on_the_other_instance_follows_the_run(two_instances: tuple[str, str]) -> None:
    first, second = two_instances
    async with noxus.live_client(first, "nx-across") as one, noxus.live_client(second, "nx-across") as other:
        made = (await one.post(noxus.BASE, json={"name": "tail", "settings": noxus.SETTINGS})).json()
        url = f"{noxus.BASE}/{made['id']}"
        async with one.stream("POST", f"{url}/stream", json={"content": noxus.LONG_PROMPT},
                              params={"format": "json"}) as live:
            frames = noxus.sse_frames(live)
            seen = [await anext(frames) for _ in range(6)]
            busy = await other.post(url, json={"content": "x"})
            assert busy.status_code == 409
            events = f"{url}/events"
            async with other.stream("GET", events, params={"format": "json", "etag": seen[4]["id"]}) as tail, \
                    other.stream("GET", events, params={"format": "json"}) as whole:
                resumed = [frame async for frame in noxus.sse_frames(tail)]
                from_start = [frame async for frame in noxus.sse_frames(whole)]
            original = seen + [frame async for frame in frames]
        assert original[-1] == from_start[-1] == resumed[-1] == {"event": "done", "data": "{}"}
        assert resumed[:-1] == original[5:-1] and from_start == original
        after = (await other.get(url)).json()
        assert after["status"] == "idle" and noxus.reply_text(after["messages"][-1]) == noxus.text_of_json(original)
