"""The fake Azure Resource Manager: an HTTPS server on loopback that the real SDK talks to.

It serves the emulator's cache (from its config) and any extra caches added from REST examples,
requires a bearer token, and acts on the emulated cache through
:class:`~hpccache_cli.emulator.target_ops.TargetOps` only, so it stays independent of the NFS
server. Usage, in-process (tests) or from ``hpccache emulator run``::

    arm = FakeArm(config, ops, token="...", loop=nfs_loop)   # loop: where ops coroutines run
    arm.start()
    arm.client_env()   # HPCCACHE_ARM_ENDPOINT, HPCCACHE_CA_BUNDLE, HPCCACHE_ARM_TOKEN, ...
    ...
    arm.stop()

Without ``loop`` the fake runs its own event loop thread for the ops coroutines. From the
emulator's event loop, ``running = await start_fake_arm(config, emulator.namespace)`` does all
of this (port from ``config.ports.arm``, -1 = off); ``running.lines()`` is what to print and
``await running.stop()`` stops it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hmac
import json
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from hpccache_cli.emulator.aml.service import AmlService
from hpccache_cli.emulator.arm.certs import generate
from hpccache_cli.emulator.arm.faults import ArmFaults
from hpccache_cli.emulator.arm.resources import ArmStore, CacheRecord, bodies_from_config
from hpccache_cli.emulator.arm.routes import ArmRoutes
from hpccache_cli.emulator.config import EmulatorConfig
from hpccache_cli.emulator.target_ops import TargetOps

log = logging.getLogger(__name__)
#: The longest a "never answer" fault holds a request when the fake is not stopped.
_HANG_LIMIT = 120.0


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that never sends a request must not hold a thread forever
    server: _Server

    def _serve(self) -> None:
        self.server.arm._serve(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fake ARM: " + format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    arm: FakeArm

    def handle_error(self, request: Any, client_address: Any) -> None:
        # TLS handshakes rejected by clients, dropped connections: expected, not worth a trace.
        log.debug("fake ARM: connection from %s failed", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _LoopRunner:
    """Runs TargetOps coroutines on the emulator's loop, or on a private loop thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self._own = loop is None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._own:
            self.loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self.loop.run_forever, name="fake-arm-ops", daemon=True
            )
            self._thread.start()

    def submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def run() -> Any:
            return fn(*args)

        return self.submit(run()).result(timeout=30)

    def stop(self) -> None:
        if not self._own or self.loop is None:
            return

        async def cancel_all() -> None:
            me = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not me]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.submit(cancel_all()).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.loop.close()
        self.loop = None


class FakeArm:
    """See the module docstring. ``config`` may be None to serve only added caches."""

    def __init__(
        self,
        config: EmulatorConfig | None,
        ops: TargetOps | None = None,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        state_dir: Path | None = None,
        page_size: int = 100,
        poll_after_ms: int = 20,
    ) -> None:
        self.config = config
        self.ops = ops
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self.port = port
        self.page_size = page_size
        self.poll_after_ms = poll_after_ms
        self.faults = ArmFaults()
        self.store = ArmStore()
        self.requests: list[RequestRecord] = []
        # Azure Managed Lustre file systems (emulator/aml), served by arm/aml_routes.py.
        self.aml: AmlService | None = None
        self._requests_lock = threading.Lock()
        self._routes = ArmRoutes(self)
        self._runner = _LoopRunner(loop)
        self._state_dir = state_dir
        self._own_dir: Path | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.ca_file: Path | None = None
        self.subscription_id = (
            config.cache.subscription_id if config else "00000000-0000-0000-0000-000000000000"
        )
        if config is not None:
            cache, targets = bodies_from_config(config)
            self.store.add_cache(cache, targets, emulated=True)

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeArm:
        """Generate the certificate, bind, and serve in a background thread."""
        if self._server is not None:
            return self
        self.faults.released.clear()
        directory = self._state_dir
        if directory is None:
            directory = self._own_dir = Path(tempfile.mkdtemp(prefix="hpccache-arm-"))
        files = generate(Path(directory))
        self.ca_file = files.ca_file
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(files.cert_file, files.key_file)
        cls = _Server6 if ":" in self.host else _Server
        server = cls((self.host, self.port), _Handler)
        server.socket = ctx.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        server.arm = self
        self.port = server.server_address[1]
        if self.ops is not None:
            self._runner.start()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="fake-arm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, stop the private ops loop, delete generated files we own."""
        self.faults.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._runner.stop()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def __enter__(self) -> FakeArm:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def client_env(self) -> dict[str, str]:
        """Environment that points hpccache (the real SDK) at this fake ARM."""
        return {
            "HPCCACHE_ARM_ENDPOINT": self.url,
            "HPCCACHE_CA_BUNDLE": str(self.ca_file),
            "HPCCACHE_ARM_TOKEN": self.token,
            "HPCCACHE_AUTH": "token",
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
        }

    def lines(self) -> list[str]:
        """What ``hpccache emulator run`` prints about the fake ARM: URL, CA and client env."""
        return [
            f"  fake ARM: {self.url} (Microsoft.StorageCache API, CA file {self.ca_file})",
            "environment for `hpccache cache|target|namespace|amlfs` against the emulator "
            "(the token is the emulator's own, not an Azure credential):",
            *(f"{key}={val}" for key, val in self.client_env().items()),
        ]

    # ---- resources and inspection ---------------------------------------------------------

    def add_cache(self, body: dict[str, Any], targets: list[dict[str, Any]]) -> CacheRecord:
        """Serve another cache (e.g. a recorded REST example); its operations just succeed."""
        return self.store.add_cache(body, targets, emulated=False)

    def request_count(self, method: str | None = None, path_contains: str | None = None) -> int:
        with self._requests_lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method)
                and (path_contains is None or path_contains.lower() in r.path.lower())
            )

    def token_ok(self, header: str | None) -> bool:
        if not header or not header.lower().startswith("bearer "):
            return False
        return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())

    # ---- operations on the emulated cache -------------------------------------------------

    def begin_work(
        self,
        record: CacheRecord,
        target: str | None,
        action: str,
        finish: Callable[[tuple[str, str] | None], None],
    ) -> None:
        """Start ``action`` and call ``finish(None | (code, message))`` when it is over."""
        store = self.store
        ops = self.ops if record.emulated else None
        before = (
            (record.target(target) or {}).get("properties", {}).get("state") if target else None
        )
        if action == "suspend" and target:
            if ops is not None:
                self._runner.call(ops.set_suspended, target, True)
            store.set_target_state(record, target, "Suspended")
            finish(None)
            return
        if action == "resume" and target:
            if ops is not None:
                self._runner.call(ops.set_suspended, target, False)
            store.set_target_state(record, target, "Ready")
            finish(None)
            return
        if ops is None:
            finish(None)
            return
        if action == "flush" and target:
            store.set_target_state(record, target, "Flushing")
            coro = ops.flush_target(target)
        elif action == "flush":
            coro = ops.flush_all()
        else:
            coro = ops.invalidate_target(target or "")

        def done(fut: concurrent.futures.Future[Any]) -> None:
            if target and action == "flush":
                store.set_target_state(record, target, before or "Ready")
            if fut.cancelled():
                finish(("Canceled", "The operation was canceled."))
            elif fut.exception() is not None:
                finish((f"{action.capitalize()}Failed", str(fut.exception())))
            else:
                finish(None)

        self._runner.submit(coro).add_done_callback(done)

    # ---- HTTP -----------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""  # AMLFS routes read it
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            reply = self._routes.handle(
                handler.command, parts.path, query, handler.headers.get("Authorization"), body
            )
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must not kill the thread
            log.exception("fake ARM: %s %s failed", handler.command, parts.path)
            from hpccache_cli.emulator.arm.routes import ArmReply

            reply = ArmReply(500, {"error": {"code": "FakeArmBug", "message": str(exc)}})
        with self._requests_lock:
            self.requests.append(
                RequestRecord(handler.command, parts.path, parts.query, reply.status)
            )
        if reply.hang:  # a fault: read, never answer; the connection closes when we stop
            self.faults.released.wait(timeout=_HANG_LIMIT)
            handler.close_connection = True
            return
        if reply.raw is not None:
            payload = reply.raw
        else:
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("x-ms-request-id", str(uuid.uuid4()))
        for key, val in reply.headers.items():
            handler.send_header(key, val)
        handler.end_headers()
        handler.wfile.write(payload)


class RunningArm:
    """A started FakeArm as ``hpccache emulator run`` holds it: ``lines()``, ``await stop()``."""

    def __init__(self, arm: FakeArm) -> None:
        self.arm = arm

    def lines(self) -> list[str]:
        return self.arm.lines()

    async def stop(self) -> None:
        await asyncio.to_thread(self.arm.stop)


async def start_fake_arm(
    config: EmulatorConfig,
    ops: TargetOps,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    state_dir: Path | None = None,
) -> RunningArm | None:
    """Start the fake ARM for the emulator running on the current event loop.

    Serves on ``config.ports.arm`` (0 = a free port, -1 = off: returns None); ops coroutines run
    on the calling loop. The token is ``token``, else ``HPCCACHE_ARM_TOKEN``, else random.
    """
    if config.ports.arm < 0:
        return None
    import os

    arm = FakeArm(
        config,
        ops,
        token=token or os.environ.get("HPCCACHE_ARM_TOKEN") or None,
        host=host,
        port=config.ports.arm,
        loop=asyncio.get_running_loop(),
        state_dir=state_dir,
    )
    await asyncio.to_thread(arm.start)
    return RunningArm(arm)
