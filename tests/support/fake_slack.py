"""A fake Slack Web API on loopback, held to Slack's published OpenAPI description in ../shared/slack/.

The real ``slack_sdk.WebClient(base_url=fake.api_url)`` talks to it over HTTP. Each call is checked against the spec:
the method must exist (or be on the short allow-list of methods newer than the spec), the bearer token must be there
and every parameter the spec marks required must be present. A call that breaks the contract is answered the way
Slack answers (``ok: false``) and recorded in ``violations`` so a test can insist there were none. ``response_url``
answers land on the same server (``fake.response_url(...)``). Answers follow the response schema of the spec.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "slack"
SPEC_FILE = SPEC_DIR / "slack_web_openapi_v2.json"
EVENT_SCHEMA_FILE = SPEC_DIR / "slack_common_event_wrapper_schema.json"
# Newer than spec 1.7.0 and used by slack_sdk's files_upload_v2.
NEWER_METHODS = {
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
    # Socket Mode: the app-level token asks for a websocket URL.
    "apps.connections.open": (),
}

_spec_cache: dict[str, Any] = {}

# Block Kit limits Slack enforces (api.slack.com/reference/block-kit): it refuses a message that breaks one.
TEXT_LIMITS = {"section": 3000, "context": 2000, "header": 150}
BUTTON_VALUE_LIMIT = 2000


def block_kit_problems(blocks: Any, max_blocks: int = 50) -> list[str]:
    """What Slack would refuse in a list of blocks (empty when it would take them)."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks, over {max_blocks}"] if len(blocks) > max_blocks else []
    for i, block in enumerate(blocks):
        kind = block.get("type")
        texts = block.get("elements", []) if kind == "context" else [block.get("text") or {}]
        if kind == "section" and block.get("fields") and not block.get("text"):
            texts = block["fields"]
        for text in texts:
            if kind in TEXT_LIMITS and len(text.get("text", "")) > TEXT_LIMITS[kind]:
                problems.append(f"block {i} ({kind}): text of {len(text['text'])} characters")
            if kind in TEXT_LIMITS and not text.get("text"):
                problems.append(f"block {i} ({kind}): empty text")
        for element in block.get("elements", []) if kind == "actions" else []:
            if len(element.get("value", "")) > BUTTON_VALUE_LIMIT:
                problems.append(f"block {i}: button value of {len(element['value'])} characters")
            if len(element.get("action_id", "")) > 255:
                problems.append(f"block {i}: action_id over 255 characters")
    return problems


def load_spec() -> dict[str, Any]:
    if "spec" not in _spec_cache:
        _spec_cache["spec"] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    return _spec_cache["spec"]  # type: ignore[no-any-return]


def response_schema(method: str) -> dict[str, Any]:
    """The spec's schema of a successful answer to ``method``, with the spec's definitions attached."""
    spec = load_spec()
    operation = next(iter(spec["paths"][f"/{method}"].values()))
    return {**operation["responses"]["200"]["schema"], "definitions": spec["definitions"]}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    body: dict[str, Any] | str
    headers: dict[str, str]
    # Seconds to wait before answering: a call "in flight" that a test can kill the caller during.
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops connections in a burst (20 answers at once), and the client's TCP stack
    # only tries again a second later: a delay Slack itself would never add.
    request_queue_size = 128
    daemon_threads = True


class FakeSlack:
    """Start with ``with FakeSlack() as fake:``; point the app at ``fake.api_url``."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response URLs, in order
        self.violations: list[str] = []
        self.attempts: dict[str, int] = {}
        # Called with the path and body of every response-URL post as it arrives (benchmarks time answers with it).
        self.on_response: Callable[[str, dict[str, Any]], None] | None = None
        self._failures: dict[str, list[Failure]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        # Socket Mode: a websocket server that pushes envelopes and collects the app's acknowledgements.
        self.socket_acks: list[dict[str, Any]] = []
        self._socket_server: Any = None
        self._socket_connections: list[Any] = []
        self._envelopes = itertools.count(1)
        # files_upload_v2: bytes posted to each upload URL, by file id; the ids completed into each channel.
        self.uploads: dict[str, bytes] = {}
        self.shared_files: dict[str, list[str]] = {}
        # usergroups.users.list: each user group's members, by group ID (an unknown group is Slack's no_such_subteam).
        self.usergroups: dict[str, list[str]] = {}
        # The thread each shared file went to (its parent message's ts), and the messages posted, by channel ID.
        self.file_threads: dict[str, str] = {}
        self.posted: dict[str, list[str]] = {}
        self._files = itertools.count(1)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base_url}/response/{name}"

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._socket_server is not None:
            self._socket_server.shutdown()
        self._server.shutdown()
        self._server.server_close()

    # -- Socket Mode ----------------------------------------------------------------------------------------

    def _start_socket_mode(self) -> str:
        from websockets.sync.server import ServerConnection, serve

        def handler(connection: ServerConnection) -> None:
            with self._lock:
                self._socket_connections.append(connection)
                self._lock.notify_all()
            connection.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}))
            for raw in connection:
                self._record_socket_ack(json.loads(raw))

        if self._socket_server is None:
            self._socket_server = serve(handler, "127.0.0.1", 0)
            threading.Thread(target=self._socket_server.serve_forever, name="fake-slack-ws", daemon=True).start()
        port = self._socket_server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=fake"

    def _record_socket_ack(self, message: dict[str, Any]) -> None:
        with self._lock:
            self.socket_acks.append(message)
            self._lock.notify_all()

    def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an envelope (``slash_commands``, ``events_api``, ``interactive``) to the connected app."""
        self.wait_for(lambda f: bool(f._socket_connections))
        envelope_id = f"env-{next(self._envelopes)}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        self._socket_connections[-1].send(json.dumps(envelope))
        return envelope_id

    # -- scripting ------------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with this instead (a 429, a 503, ``ok: false``...),
        after ``delay`` seconds."""
        body = body if body is not None else {"ok": False, "error": "fatal_error"}
        failure = Failure(status, body, headers or {}, delay)
        self._failures.setdefault(method, []).extend([failure] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Block until ``predicate(self)`` holds (calls and responses arrive from other threads)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out; calls {[c.method for c in self.calls]}, {len(self.responses)} responses"
                    )
                self._lock.wait(remaining)

    # -- serving --------------------------------------------------------------------------------------------

    def _record(self, call: Call | None = None, response: dict[str, Any] | None = None) -> None:
        with self._lock:
            if call is not None:
                self.calls.append(call)
            if response is not None:
                self.responses.append(response)
            self._lock.notify_all()

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any] | str, dict[str, str]]:
        with self._lock:
            self.attempts[method] = self.attempts.get(method, 0) + 1
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            time.sleep(failure.delay)
            return failure.status, failure.body, failure.headers
        spec = load_spec()
        operation = spec["paths"].get(f"/{method}")
        if operation is None and method not in NEWER_METHODS:
            self.violations.append(f"{method}: not a Slack Web API method")
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if not token:
            self.violations.append(f"{method}: no token")
            return 200, {"ok": False, "error": "not_authed"}, {}
        # Socket Mode's app-level token opens connections and does nothing else; bot tokens do the rest.
        if (method == "apps.connections.open") != token.startswith("xapp-"):
            self.violations.append(f"{method}: called with the wrong kind of token")
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}
        if operation is not None:
            parameters = next(iter(operation.values())).get("parameters", [])
            required = [p["name"] for p in parameters if p.get("required") and p["name"] != "token"]
        else:
            required = list(NEWER_METHODS[method])
        missing = [name for name in required if name not in params]
        if missing:
            self.violations.append(f"{method}: missing required {', '.join(missing)}")
            return 200, {"ok": False, "error": "invalid_arguments", "missing": missing}, {}
        for name in ("blocks", "view", "attachments"):
            if isinstance(params.get(name), str):
                try:
                    params[name] = json.loads(params[name])
                except json.JSONDecodeError:
                    self.violations.append(f"{method}: {name} is not JSON")
                    return 200, {"ok": False, "error": f"invalid_{name}"}, {}
        problem = self._message_problem(method, params)
        if problem:
            self.violations.append(f"{method}: {problem}")
            return 200, {"ok": False, "error": "no_text" if problem.startswith("no text") else "invalid_blocks"}, {}
        self._record(Call(method, params, token))
        return 200, self._success(method, params), {}

    @staticmethod
    def _message_problem(method: str, params: dict[str, Any]) -> str | None:
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update") and not (
            params.get("text") or params.get("blocks") or params.get("attachments")
        ):
            return "no text, blocks or attachments"
        if "blocks" in params:
            problems = block_kit_problems(params["blocks"])
            return "; ".join(problems) if problems else None
        if method == "views.publish":
            view = params["view"]
            if view.get("type") != "home":
                return "blocks: a published view must be of type home"
            problems = block_kit_problems(view.get("blocks", []), max_blocks=100)
            return "; ".join(problems) if problems else None
        return None

    def _success(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        channel = str(params.get("channel", "C0000000001"))
        if channel.startswith("#"):  # Slack answers with the channel's ID whatever name the caller used
            channel = "C" + hashlib.sha1(channel.encode()).hexdigest()[:10].upper()
        if method in ("chat.postMessage", "chat.update"):
            message = {"type": "message", "text": params.get("text", ""), "ts": ts, "user": "U0BOT00001"}
            if method == "chat.update":
                text = params.get("text", "")
                return {"ok": True, "channel": channel, "ts": params["ts"], "text": text, "message": {"text": text}}
            with self._lock:
                self.posted.setdefault(channel, []).append(ts)
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.getPermalink":
            # Slack's own form: the message's ts without its dot.
            message = str(params["message_ts"]).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://example.slack.com/archives/{channel}/p{message}",
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._files):09d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(params["files"]) if isinstance(params["files"], str) else params["files"]
            channel_id = str(params.get("channel_id", ""))
            # Slack shares a file into a channel by its ID only; a "#name" is refused.
            if channel_id and not re.fullmatch(r"[CG][A-Z0-9]{8,}", channel_id):
                self.violations.append(f"{method}: channel_id {channel_id!r} is not a channel ID")
                return {"ok": False, "error": "invalid_channel"}
            missing = [f["id"] for f in files if f["id"] not in self.uploads]
            if missing:
                self.violations.append(f"{method}: files {missing} were never uploaded")
                return {"ok": False, "error": "file_not_found"}
            thread = params.get("thread_ts")
            if thread is not None and str(thread) not in self.posted.get(channel_id, []):
                self.violations.append(f"{method}: thread_ts {thread!r} is not a message of {channel_id}")
                return {"ok": False, "error": "invalid_thread_ts"}
            for file in files:
                self.shared_files.setdefault(channel_id, []).append(file["id"])
                if thread is not None:
                    self.file_threads[file["id"]] = str(thread)
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "usergroups.users.list":
            group = str(params["usergroup"])
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.usergroups[group])}
        if method == "apps.connections.open":
            return {"ok": True, "url": self._start_socket_mode()}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://example.slack.com/",
                "team": "Example",
                "user": "brandpulse",
                "team_id": "T0000000001",
                "user_id": "U0BOT00001",
                "bot_id": "B0BOT00001",
            }
        return {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _params(self) -> dict[str, Any]:
                split = urlsplit(self.path)
                params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if body:
                    kind = self.headers.get("Content-Type", "")
                    if kind.startswith("application/json"):
                        params.update(json.loads(body))
                    elif kind.startswith("application/x-www-form-urlencoded"):
                        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                return params

            def _send(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
                raw = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def _serve(self) -> None:
                path = urlsplit(self.path).path
                if path.startswith("/upload/"):  # files_upload_v2's second step: the raw bytes of one file
                    length = int(self.headers.get("Content-Length") or 0)
                    fake.uploads[path.removeprefix("/upload/")] = self.rfile.read(length)
                    self._send(200, f"OK - {length}")
                    return
                params = self._params()
                if path.startswith("/response/"):
                    problem = fake._message_problem("chat.postMessage", params)
                    if problem:
                        fake.violations.append(f"response_url: {problem}")
                        self._send(400, "no_text" if problem.startswith("no text") else "invalid_blocks")
                        return
                    if fake.on_response is not None:
                        fake.on_response(path, params)
                    else:
                        fake._record(response={"url": path, **params})
                    self._send(200, "ok")
                    return
                if not path.startswith("/api/"):
                    self._send(404, {"ok": False, "error": "not_found"})
                    return
                auth = self.headers.get("Authorization", "")
                token = (
                    auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else params.pop("token", None)
                )
                status, body, headers = fake._answer(path.removeprefix("/api/"), params, token)
                self._send(status, body, headers)

            do_GET = do_POST = _serve  # noqa: N815 - http.server's names

        return Handler
