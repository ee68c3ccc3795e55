"""The fake ARM's Azure Managed Lustre routes: amlFilesystems and their blob-integration jobs.

One route table (:meth:`AmlRoutes.table`), registered in ``routes.ROUTE_TABLES`` before
the caches' table; the file systems live in ``FakeArm.aml``
(:class:`~hpccache_cli.emulator.aml.service.AmlService`; without one, lists are empty and
names are not found). Shapes follow the REST spec's examples, quirks included:

- ``archive`` and ``cancelArchive`` are plain POSTs answered 200 (not long-running);
- job PUT and DELETE are long-running (201/202 with ``Azure-AsyncOperation``), and a PUT's
  operation succeeds as soon as the job has *started*: its progress is the job's
  ``properties.status.state``, never ``provisioningState``;
- PATCH answers 200 with the job (``adminStatus`` Cancel, Enable, Disable);
- job ids say ``amlfilesystems`` (lower case), auto-export ids ``autoExportJob`` (singular).

Their operation status resources share the ``ascOperations`` path with the cache routes; ids
start with ``aml-`` so this table answers for them.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from hpccache_cli.emulator.aml import runs
from hpccache_cli.emulator.aml.filesystem import KIND_WORDS, KINDS, AmlFilesystem, Job, iso
from hpccache_cli.emulator.aml.service import AmlService
from hpccache_cli.emulator.arm.routing import Route, RouteTable

#: The router's reply type (``routes.ArmReply``), handed in so this module need not import the
#: router that imports it.
ArmReply = Any


class AmlBackend(Protocol):
    """What these routes use of the fake ARM (``FakeArm``)."""

    aml: AmlService | None
    store: Any  # the caches' ArmStore: its resource groups exist too
    faults: Any  # the ArmFaults queue: fail_next_lro / hold_next_lro apply here too
    page_size: int
    poll_after_ms: int

    @property
    def url(self) -> str: ...

PROVIDER = "Microsoft.StorageCache"
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_COLL = r"/providers/Microsoft\.StorageCache/amlFilesystems"
_FS = _RG + _COLL + r"/(?P<fs>[^/]+)"
_KIND = r"/(?P<kind>importJobs|autoExportJobs|autoImportJobs)"
MAX_BODY = 1 << 20


@dataclass
class _Op:
    location: str
    done: Callable[[], bool]
    started: float = field(default_factory=time.time)
    ended: float | None = None
    error: tuple[str, str] | None = None  # (code, message): the operation failed


def wants_body(func: Callable[..., ArmReply]) -> Callable[..., ArmReply]:
    """Mark a route that reads the request body (the router passes ``body=`` to these only)."""
    func.wants_body = True  # type: ignore[attr-defined]
    return func


class AmlRoutes:
    """The AMLFS handlers, over ``arm.aml``; LRO status resources of their own."""

    def __init__(self, arm: AmlBackend, reply: Callable[..., ArmReply] | None = None) -> None:
        from hpccache_cli.emulator.arm.replies import ArmReply as reply_type

        self.arm = arm
        self._reply_type = reply or reply_type
        self._ops: dict[str, _Op] = {}
        self._lock = threading.Lock()

    def table(self) -> RouteTable:
        """The routes, by provider and resource types (what the fake ARM's dispatcher
        indexes; registered in ``routes.ROUTE_TABLES`` before the caches' table, so that the
        ``aml-`` operations are found here first)."""
        return RouteTable(PROVIDER, ("amlFilesystems", "locations"),
                          [Route(*row) for row in self.rows()])

    def rows(self) -> list[tuple[str, str, Callable[..., ArmReply], str]]:
        job = _FS + _KIND + r"/(?P<job>[^/]+)"
        return [
            ("GET", _SUB + _COLL, self._list, "amlFilesystems/read"),
            ("GET", _RG + _COLL, self._list, "amlFilesystems/read"),
            ("GET", _FS, self._get, "amlFilesystems/read"),
            ("POST", _FS + "/archive", self._archive, "amlFilesystems/archive/action"),
            ("POST", _FS + "/cancelArchive", self._cancel_archive,
             "amlFilesystems/cancelArchive/action"),
            ("GET", _FS + _KIND, self._list_jobs, "amlFilesystems/{kind}/read"),
            ("GET", job, self._get_job, "amlFilesystems/{kind}/read"),
            ("PUT", job, self._put_job, "amlFilesystems/{kind}/write"),
            ("PATCH", job, self._patch_job, "amlFilesystems/{kind}/write"),
            ("DELETE", job, self._delete_job, "amlFilesystems/{kind}/delete"),
            ("GET", _SUB + r"/providers/Microsoft\.StorageCache/locations/(?P<loc>[^/]+)"
             r"/ascOperations/(?P<op>aml-[^/]+)", self._get_operation,
             "locations/ascoperations/read"),
        ]

    # ---- helpers ----------------------------------------------------------------------------

    def _reply(self, status: int, body: Any = None, **headers: str) -> ArmReply:
        return self._reply_type(status, body, dict(headers))

    def _err(self, status: int, code: str, message: str) -> ArmReply:
        return self._reply(status, {"error": {"code": code, "message": message}})

    def _find(self, sub: str, rg: str, fs: str) -> AmlFilesystem | ArmReply:
        service = self.arm.aml
        found = service.find(sub, rg, fs) if service is not None else None
        if found is not None:
            return found
        return self._err(404, "ResourceNotFound",
                         f"The Resource '{PROVIDER}/amlFilesystems/{fs}' under resource group "
                         f"'{rg}' was not found. For more details please go to "
                         "https://aka.ms/ARMResourceNotFoundFix")

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> ArmReply:
        size = max(1, self.arm.page_size)
        try:
            skip = max(0, int(query.get("$skipToken", "0")))
        except ValueError:
            return self._err(400, "InvalidSkipToken", "The $skipToken is not valid.")
        body: dict[str, Any] = {"value": items[skip: skip + size]}
        if skip + size < len(items):
            body["nextLink"] = (f"{self.arm.url}{path}?api-version={query['api-version']}"
                                f"&$skipToken={skip + size}")
        return self._reply(200, body)

    def _json(self, body: bytes) -> dict[str, Any] | ArmReply:
        if len(body) > MAX_BODY:
            return self._err(413, "RequestEntityTooLarge", "The request body is too large.")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return self._err(400, "InvalidRequestContent", "The request content is not JSON.")
        if not isinstance(data, dict):
            return self._err(400, "InvalidRequestContent", "The request content must be an "
                             "object.")
        return data

    def _operation(self, sub: str, location: str, query: dict[str, str],
                   done: Callable[[], bool], status: int, body: Any = None) -> ArmReply:
        op_id = f"aml-{uuid.uuid4()}"
        record = _Op(location, done)
        fault = self.arm.faults.take_lro()
        if fault is not None and fault.hold:
            record.done = lambda: False  # stays InProgress
        elif fault is not None:
            record.error = (fault.code, fault.message)
        with self._lock:
            self._ops[op_id] = record
        base = (f"{self.arm.url}/subscriptions/{sub}/providers/{PROVIDER}/locations/{location}"
                f"/ascOperations/{op_id}")
        version = query["api-version"]
        return self._reply(status, body, **{
            "Azure-AsyncOperation": f"{base}?api-version={version}",
            "Location": f"{base}?monitor=true&api-version={version}",
            "retry-after-ms": str(self.arm.poll_after_ms),
        })

    # ---- file systems ---------------------------------------------------------------------

    def _list(self, query: dict[str, str], path: str, sub: str, rg: str | None = None) -> ArmReply:
        service = self.arm.aml
        if rg is not None and rg.lower() not in (
                (service.resource_groups(sub) if service else set())
                | self.arm.store.resource_groups(sub)):
            return self._err(404, "ResourceGroupNotFound",
                             f"Resource group '{rg}' could not be found.")
        systems = service.systems(sub, rg) if service is not None else []
        return self._page([fs.body() for fs in systems], path, query)

    def _get(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str) -> ArmReply:
        found = self._find(sub, rg, fs)
        return found if not isinstance(found, AmlFilesystem) else self._reply(200, found.body())

    @wants_body
    def _archive(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str,
                 body: bytes = b"") -> ArmReply:
        found = self._find(sub, rg, fs)
        if not isinstance(found, AmlFilesystem):
            return found
        data = self._json(body)
        if not isinstance(data, dict):
            return data
        where = data.get("filesystemPath", "/")
        if not isinstance(where, str):
            return self._err(400, "InvalidParameter", "filesystemPath must be a string")
        refusal = runs.start_archive(found, where or "/")
        return self._err(*refusal) if refusal else self._reply(200)

    def _cancel_archive(self, query: dict[str, str], path: str, sub: str, rg: str,
                        fs: str) -> ArmReply:
        found = self._find(sub, rg, fs)
        if not isinstance(found, AmlFilesystem):
            return found
        refusal = runs.cancel_archive(found)
        return self._err(*refusal) if refusal else self._reply(200)

    # ---- jobs -------------------------------------------------------------------------------

    def _job(self, sub: str, rg: str, fs: str, kind: str,
             job: str) -> tuple[AmlFilesystem, Job] | ArmReply:
        found = self._find(sub, rg, fs)
        if not isinstance(found, AmlFilesystem):
            return found
        record = found.get_job(_kind(kind), job)
        if record is None:
            return self._err(404, "ResourceNotFound",
                             f"The Resource '{PROVIDER}/amlFilesystems/{fs}/{_kind(kind)}/{job}' "
                             f"under resource group '{rg}' was not found.")
        return found, record

    def _list_jobs(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str,
                   kind: str) -> ArmReply:
        found = self._find(sub, rg, fs)
        if not isinstance(found, AmlFilesystem):
            return found
        items = [found.job_body(j) for j in found.list_jobs(_kind(kind))]
        return self._page(items, path, query)

    def _get_job(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str, kind: str,
                 job: str) -> ArmReply:
        found = self._job(sub, rg, fs, kind, job)
        if not isinstance(found, tuple):
            return found
        return self._reply(200, found[0].job_body(found[1]))

    @wants_body
    def _put_job(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str, kind: str,
                 job: str, body: bytes = b"") -> ArmReply:
        from hpccache_cli.emulator.aml.config import NAME_RE

        found = self._find(sub, rg, fs)
        if not isinstance(found, AmlFilesystem):
            return found
        data = self._json(body)
        if not isinstance(data, dict):
            return data
        if not NAME_RE.match(job):
            return self._err(400, "InvalidResourceName", f"The {KIND_WORDS[_kind(kind)]} name "
                             f"'{job}' is not valid.")
        created, refusal = runs.create_job(found, _kind(kind), job, data,
                                           found.job_id(_kind(kind), job))
        if refusal is not None or created is None:
            return self._err(*(refusal or (500, "InternalError", "job not created")))
        with found.lock:
            answer = json.loads(json.dumps(created.body))
        answer["properties"]["provisioningState"] = "Creating"
        answer["properties"].pop("status", None)
        return self._operation(sub, created.body["location"], query, created.started.is_set,
                               201, answer)

    @wants_body
    def _patch_job(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str,
                   kind: str, job: str, body: bytes = b"") -> ArmReply:
        found = self._job(sub, rg, fs, kind, job)
        if not isinstance(found, tuple):
            return found
        data = self._json(body)
        if not isinstance(data, dict):
            return data
        refusal = runs.patch_job(found[0], found[1], data)
        if refusal:
            return self._err(*refusal)
        return self._reply(200, found[0].job_body(found[1]))

    def _delete_job(self, query: dict[str, str], path: str, sub: str, rg: str, fs: str,
                    kind: str, job: str) -> ArmReply:
        system = self._find(sub, rg, fs)
        if not isinstance(system, AmlFilesystem):
            return system
        record = system.get_job(_kind(kind), job)
        if record is None:
            return self._reply(204)  # ARM: deleting what is not there is not an error
        done = threading.Event()

        def remove() -> None:
            runs.delete_job(system, record)
            done.set()

        threading.Thread(target=remove, daemon=True, name="amlfs-delete-job").start()
        return self._operation(sub, record.body.get("location", "eastus"), query, done.is_set,
                               202)

    # ---- operation status -------------------------------------------------------------------

    def _get_operation(self, query: dict[str, str], path: str, sub: str, loc: str,
                       op: str) -> ArmReply:
        with self._lock:
            record = self._ops.get(op)
        if record is None:
            return self._err(404, "ResourceNotFound", f"Operation '{op}' was not found.")
        if record.ended is None and (record.error or record.done()):
            record.ended = time.time()
        status = "InProgress" if record.ended is None else (
            "Failed" if record.error else "Succeeded")
        headers = {}
        if status == "InProgress":
            headers["retry-after-ms"] = str(self.arm.poll_after_ms)
            if query.get("monitor", "").lower() == "true":
                return self._reply(202, None, **headers)
        body: dict[str, Any] = {
            "id": f"/subscriptions/{sub}/providers/{PROVIDER}/locations/{loc}/ascOperations/{op}",
            "name": op, "status": status, "startTime": iso(record.started)}
        if record.ended is not None:
            body["endTime"] = iso(record.ended)
        if record.error:
            body["error"] = {"code": record.error[0], "message": record.error[1]}
        return self._reply(200, body, **headers)


def _kind(segment: str) -> str:
    """The URL's collection name in its canonical case."""
    return next(k for k in KINDS if k.lower() == segment.lower())
