"""The shared transport: what is retried, what is not, what errors say, streamed downloads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sca.common.errors import AuthenticationError, NotFoundError, PermanentServiceError, TransientServiceError
from sca.common.retry import RetryPolicy
from sca.common.transport import AsyncHttpTransport, HttpTransport
from tests.unit.scripted_server import Reply, scripted_server

FAST = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.02)
SECRET = "s3cret-token-value"


def transport(url: str) -> HttpTransport:
    return HttpTransport(url + "/api/", service="Svc", headers={"Authorization": f"Token {SECRET}"}, retry=FAST)


def test_5xx_is_retried_until_success() -> None:
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(503, b"busy"), Reply(502, b"bad gateway"), Reply(200, {"ok": True}))
        assert transport(srv.url).get_json("x/") == {"ok": True}
        assert srv.count("/api/x/") == 3


def test_429_honours_retry_after() -> None:
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}), Reply(200, [1]))
        assert transport(srv.url).get_json("x/") == [1]
        assert srv.count("/api/x/") == 2


def test_400_is_permanent_and_not_retried() -> None:
    with scripted_server() as srv:
        srv.script("/api/projects/", Reply(400, {"name": ["project with this name already exists."]}))
        with pytest.raises(PermanentServiceError) as info:
            transport(srv.url).post_json("projects/", {"name": "x"})
        assert srv.count("/api/projects/") == 1
        error = info.value
        assert error.status == 400
        assert error.detail == {"name": ["project with this name already exists."]}
        assert "POST" in str(error) and "/api/projects/" in str(error) and "HTTP 400" in str(error)
        assert SECRET not in str(error)


def test_401_and_404_have_their_own_types() -> None:
    with scripted_server() as srv:
        srv.script("/api/a/", Reply(401, {"detail": "Invalid token."}))
        srv.script("/api/b/", Reply(404, {"detail": "Not found."}))
        with pytest.raises(AuthenticationError, match="Invalid token"):
            transport(srv.url).get_json("a/")
        with pytest.raises(NotFoundError):
            transport(srv.url).get_json("b/")
        assert srv.count("/api/a/") == 1


def test_5xx_exhausting_attempts_raises_transient_error() -> None:
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(500, b"<html>Server Error</html>"))
        with pytest.raises(TransientServiceError, match="HTTP 500"):
            transport(srv.url).get_json("x/")
        assert srv.count("/api/x/") == FAST.attempts


def test_connection_refused_is_transient() -> None:
    with scripted_server() as srv:
        url = srv.url
    with pytest.raises(TransientServiceError, match="no response"):
        transport(url).get_json("x/")


def test_pages_are_followed(tmp_path: Path) -> None:
    with scripted_server() as srv:
        srv.script("/api/items/", Reply(200, {"count": 3, "next": srv.url + "/api/items2/", "results": [1, 2]}))
        srv.script("/api/items2/", Reply(200, {"count": 3, "next": None, "results": [3]}))
        assert list(transport(srv.url).iter_pages("items/")) == [1, 2, 3]


def test_download_streams_to_a_sanitised_name(tmp_path: Path) -> None:
    body = b"x" * (3 * 1024 * 1024 + 7)
    with scripted_server() as srv:
        srv.script("/api/dl/", Reply(200, body, {"Content-Disposition": 'attachment; filename="../../etc/passwd"'}))
        path = transport(srv.url).download("dl/", tmp_path)
    assert path.parent == tmp_path
    assert path.name == "passwd"
    assert path.read_bytes() == body
    assert not list(tmp_path.glob(".part-*"))


def test_async_transport_retries_and_classifies() -> None:
    with scripted_server() as srv:
        srv.script("/api/run/", Reply(503, b"busy"), Reply(200, {"status": "running"}))
        srv.script("/api/bad/", Reply(400, {"status": "nope"}))
        client = AsyncHttpTransport(srv.url + "/api/", service="Svc", headers={"Authorization": SECRET}, retry=FAST)
        assert asyncio.run(client.get_json("run/")) == {"status": "running"}
        with pytest.raises(PermanentServiceError) as info:
            asyncio.run(client.get_json("bad/"))
        assert srv.count("/api/bad/") == 1
        assert SECRET not in str(info.value)


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=10, initial_delay=1.0, max_delay=8.0)
    assert 0.5 <= policy.delay(1) <= 1.0
    assert 4.0 <= policy.delay(4) <= 8.0
    assert policy.delay(9) <= 8.0
    assert policy.delay(2, retry_after=3.0) == 3.0


def test_a_post_is_not_repeated_once_the_server_may_have_acted() -> None:
    """The server records the request (it acted), then answers 503: a POST that creates must not
    be sent again; a POST that only reads, a 429 (nothing done) and a GET are retried."""
    with scripted_server() as srv:
        srv.script("/api/projects/", Reply(503, b"upstream died after the commit"), Reply(201, {"uuid": "u"}))
        with pytest.raises(TransientServiceError, match="HTTP 503"):
            transport(srv.url).post_json("projects/", {"name": "x"})
        assert srv.count("/api/projects/") == 1
        srv.script("/api/search/", Reply(503, b"busy"), Reply(200, {"count": 0}))
        assert transport(srv.url).post_json("search/", {"sha1": []}, idempotent=True) == {"count": 0}
        assert srv.count("/api/search/") == 2
        srv.script("/api/limited/", Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}), Reply(201, {"ok": 1}))
        assert transport(srv.url).post_json("limited/", {}) == {"ok": 1}
        assert srv.count("/api/limited/") == 2


def test_a_fossid_create_that_failed_after_acting_is_found_not_sent_again() -> None:
    import json

    from sca.fossid.client import FossIDClient

    project = {"project_code": "p1", "project_name": "p1"}
    with scripted_server() as srv:
        srv.script(
            "/api.php",
            Reply(503, b"gateway timeout after the insert"),
            Reply(200, {"operation": "projects_get_information", "status": "1", "data": project}),
        )
        client = FossIDClient(srv.url, "bot", "k", retry=FAST)
        assert client.create_project("p1", "p1") == project
        actions = [json.loads(body)["action"] for _, _, _, body in srv.requests]
        assert actions == ["create", "get_information"], "looked up, not created twice"


def test_a_body_that_is_not_json_is_transient_and_retried_where_safe() -> None:
    """A proxy's HTML page with status 200 is not a bad value: a GET is asked again; a POST that
    creates is not (the server may have acted), and the error says what came back."""
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(200, b"<html>proxy login</html>"), Reply(200, {"ok": True}))
        assert transport(srv.url).get_json("x/") == {"ok": True}
        assert srv.count("/api/x/") == 2
        srv.script("/api/projects/", Reply(200, b"<html>proxy login</html>"))
        with pytest.raises(TransientServiceError) as info:
            transport(srv.url).post_json("projects/", {"name": "x"})
        assert srv.count("/api/projects/") == 1
        assert (
            "Svc POST " + srv.url + "/api/projects/ -> HTTP 200: the body is not JSON: '<html>proxy login</html>'"
            == str(info.value)
        )


def test_retries_stop_at_the_total_time_budget() -> None:
    """Attempts are bounded in number and in total seconds: with a 0.05 s budget and 0.1 s waits,
    one retry at most happens whatever the attempt count."""
    slow = RetryPolicy(attempts=50, initial_delay=0.1, max_delay=0.1, max_total_seconds=0.05)
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(503, b"busy"))
        client = HttpTransport(srv.url + "/api/", service="Svc", retry=slow)
        with pytest.raises(TransientServiceError, match="HTTP 503"):
            client.get_json("x/")
        assert srv.count("/api/x/") == 2


def test_the_async_transport_does_not_repeat_a_post_that_may_have_acted() -> None:
    with scripted_server() as srv:
        srv.script("/api/stop/", Reply(502, b"bad gateway"), Reply(200, {"status": "ok"}))
        client = AsyncHttpTransport(srv.url + "/api/", service="Svc", retry=FAST)
        with pytest.raises(TransientServiceError, match="HTTP 502"):
            asyncio.run(client.post_json("stop/"))
        assert srv.count("/api/stop/") == 1
        assert asyncio.run(client.post_json("stop/", idempotent=True)) == {"status": "ok"}
        assert srv.count("/api/stop/") == 2


def test_a_retry_after_header_sets_the_wait() -> None:
    waits: list[float] = []
    with scripted_server() as srv:
        srv.script("/api/x/", Reply(503, b"", {"Retry-After": "7"}), Reply(200, {"ok": 1}))
        client = HttpTransport(srv.url + "/api/", service="Svc", retry=FAST, sleep=waits.append)
        assert client.get_json("x/") == {"ok": 1}
    assert waits == [7.0]
