"""Wireshark's tshark as an independent judge of our ONC RPC bytes (client and emulator).

Why: our codec encodes and decodes with the same understanding of the RFCs, so a mistake in it
can round-trip silently between our client and our emulator. Wireshark's NFS/MOUNT/portmap
dissectors were written by others; if they decode a capture of our traffic without a
malformed packet, our bytes are what the protocols say.

``Capture`` runs ``tshark -i lo -f FILTER -w FILE`` around a block. Start and end are waited
for by conditions, not sleeps: capturing has begun when tshark's packet summaries (``-P``)
show a probe exchange the test sent, and everything before the block's end is on disk when
the summaries show the end probe's FIN. :func:`dissect` then reads the file with the ports
decoded as RPC (they are not the standard 111/2049/20048) and returns the fields asked for.

tshark is a peer like nfs-ganesha: missing, it skips the test, or fails it under
``HPCCACHE_REQUIRE_PEERS=1`` (CI).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

from peers import peer_unavailable

INSTALL_HINT = ("install with: apt-get install -y --no-install-recommends tshark "
                "(or run scripts/test.sh as root)")
#: Options for reading a capture: RPC records reassembled over TCP segments, whatever the
#: user's Wireshark preferences say.
AGGREGATOR = "|"  # joins a field's occurrences in a frame (dates contain ",")
READ_OPTIONS = ("-o", "rpc.desegment_rpc_over_tcp:TRUE", "-o", "tcp.desegment_tcp_streams:TRUE")


def require_tshark() -> str:
    """tshark's path; skip/fail now (not mid-test) if it is missing or cannot capture on lo."""
    path = shutil.which("tshark")
    if path is None:
        peer_unavailable(f"tshark missing (package tshark); {INSTALL_HINT}")
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        peer_unavailable("capturing on lo needs root; run the suite as root")
    return path


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


class Capture:
    """``tshark -i lo`` writing the packets that match ``bpf`` to ``path`` around a block.

    ``probe`` makes one short exchange with a server inside the filter, closes first, and
    returns (client port, server port); it marks the start and the end of the capture.
    ``timeout`` bounds each wait; tshark itself stops after ``max_seconds`` whatever happens.
    """

    def __init__(self, tshark: str, path: Path, bpf: str, probe: Callable[[], tuple[int, int]],
                 *, timeout: float = 20.0, max_seconds: int = 120) -> None:
        self.path = path
        self.probe = probe
        self.timeout = timeout
        self.cmd = [tshark, "-i", "lo", "-f", bpf, "-w", str(path), "-P", "-l",
                    "-a", f"duration:{max_seconds}"]
        self.proc: subprocess.Popen[str] | None = None
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_text: list[str] = []

    def _wait_capturing(self, deadline: float) -> None:
        """Until tshark says "Capturing on"; a tshark that exits first cannot capture here
        (no permission, no lo): that is an unavailable peer, not a hang."""
        assert self.proc is not None
        while True:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    self.proc.wait(timeout=self.timeout)
                    peer_unavailable(f"tshark cannot capture on lo (exit {self.proc.returncode}"
                                     f"): {''.join(self._drain_err()).strip()}")
                if time.monotonic() >= deadline:
                    raise AssertionError(f"tshark: no 'Capturing on' line within "
                                         f"{self.timeout:g} s (stderr: "
                                         f"{''.join(self._drain_err()).strip()!r})") from None
                continue
            self.err_text.append(line)
            if "Capturing on" in line:
                return

    def _drain_err(self) -> list[str]:
        while not self.err.empty():
            self.err_text.append(self.err.get_nowait())
        return self.err_text

    def _wait_for_probe(self, deadline: float, *, again: bool) -> None:
        """Probe (repeatedly if ``again``) until a summary line shows the probe's packet."""
        while True:
            client, server = self.probe()
            seen = re.compile(rf"\b{client}\b\D+\b{server}\b.*\bFIN\b")
            step = min(deadline, time.monotonic() + 0.5) if again else deadline
            while time.monotonic() < step:
                try:
                    line = self.out.get(timeout=max(0.0, step - time.monotonic()))
                except queue.Empty:
                    break
                if seen.search(line):
                    return
            if time.monotonic() >= deadline:
                raise AssertionError(f"tshark did not show the probe from port {client} within "
                                     f"{self.timeout:g} s (stderr: {''.join(self._drain_err())!r})")

    def __enter__(self) -> Capture:
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        assert self.proc.stdout is not None and self.proc.stderr is not None
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=_pump, args=(stream, lines), daemon=True).start()
        try:
            deadline = time.monotonic() + self.timeout
            self._wait_capturing(deadline)
            # The line comes before the kernel filter is in place: probe until one shows up.
            self._wait_for_probe(deadline, again=True)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:  # everything sent so far comes before the end probe's FIN
                self._wait_for_probe(time.monotonic() + self.timeout, again=False)
        finally:
            self._stop()

    def _stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # tshark closes the file properly
            try:
                self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=self.timeout)
                raise AssertionError(f"tshark ignored SIGINT for {self.timeout:g} s") from None


def _tshark_read(tshark: str, path: Path, rpc_ports: Sequence[int], display_filter: str,
                 output: Sequence[str], timeout: float) -> str:
    """``tshark -r`` in two passes (so a call knows its reply frame), ``rpc_ports`` decoded
    as ONC RPC; the text it prints."""
    cmd = [tshark, "-r", str(path), "-n", "-2", *READ_OPTIONS]
    for port in rpc_ports:
        cmd += ["-d", f"tcp.port=={port},rpc"]
    cmd += ["-Y", display_filter, *output]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def dissect(tshark: str, path: Path, rpc_ports: Sequence[int], display_filter: str,
            fields: Sequence[str], *, timeout: float = 60.0) -> list[list[str]]:
    """Rows of ``fields`` (each an AGGREGATOR-joined list when it occurs more than once) of the
    packets in ``path`` matching ``display_filter``."""
    output = ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
              "-E", f"aggregator={AGGREGATOR}"]
    for name in fields:
        output += ["-e", name]
    text = _tshark_read(tshark, path, rpc_ports, display_filter, output, timeout)
    return [line.split("\t") for line in text.splitlines()]


PROGRAM_LAYERS = {"100000": "portmap", "100005": "mount", "100003": "nfs"}


@dataclass
class RpcMessage:
    """One ONC RPC message as tshark dissected it: its frame, TCP stream, and every field of
    its ``rpc`` tree and its program's tree (``nfs``, ``mount``, ``portmap``) by name."""

    frame: int
    stream: int
    fields: dict[str, list[str]]

    def get(self, name: str) -> str | None:
        """The field's only value, None if absent (AssertionError if repeated)."""
        values = self.fields.get(name, [])
        assert len(values) <= 1, f"frame {self.frame}: {name} occurs {len(values)} times"
        return values[0] if values else None

    def num(self, name: str) -> int | None:
        value = self.get(name)
        return None if value is None else int(value, 0)

    @property
    def is_call(self) -> bool:
        return self.get("rpc.msgtyp") == "0"


def _flatten(node: object, out: dict[str, list[str]]) -> None:
    """Field name -> values of a ``-T json --no-duplicate-keys`` tree (subtrees included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                out.setdefault(key, []).append(value)
            else:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        out.setdefault(key, []).append(item)
                    else:
                        _flatten(item, out)


def _as_list(layer: object) -> list[object]:
    """A layer that occurs more than once in a frame (several RPC messages) is a list."""
    if layer is None:
        return []
    return layer if isinstance(layer, list) else [layer]


def rpc_messages(tshark: str, path: Path, rpc_ports: Sequence[int], *,
                 timeout: float = 60.0) -> list[RpcMessage]:
    """Every RPC message in the capture, in order, including several per TCP segment (a
    pipelining client sends them): the n-th ``rpc`` tree of a frame goes with the n-th tree
    of its program's layer."""
    output = ["-T", "json", "--no-duplicate-keys", "-J", "frame tcp rpc nfs mount portmap"]
    packets = json.loads(_tshark_read(tshark, path, rpc_ports, "rpc", output, timeout) or "[]")
    messages = []
    for packet in packets:
        layers = packet["_source"]["layers"]
        frame = int(layers["frame"]["frame.number"])
        stream = int(layers["tcp"]["tcp.stream"])
        programs = {name: iter(_as_list(layers.get(name))) for name in PROGRAM_LAYERS.values()}
        for tree in _as_list(layers.get("rpc")):
            fields: dict[str, list[str]] = {}
            _flatten(tree, fields)
            name = PROGRAM_LAYERS.get(fields.get("rpc.program", [""])[0])
            if name is not None:
                program = next(programs[name], None)
                assert program is not None, f"frame {frame}: an RPC message without its {name}"
                _flatten(program, fields)
            messages.append(RpcMessage(frame, stream, fields))
    return messages
