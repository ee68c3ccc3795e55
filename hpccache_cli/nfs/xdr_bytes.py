"""XDR's primitive items over a byte buffer: :class:`Packer` writes them, :class:`Unpacker`
reads them (RFC 4506 sections 4.1-4.10).

Split from :mod:`hpccache_cli.nfs.xdr`, which declares the composite types on top of these
and re-exports everything here. Pure functions over bytes: no socket is ever touched. Reading
is bounds-checked before anything is sliced, so truncated or hostile input raises
:class:`XdrError` and allocates nothing.
"""

from __future__ import annotations

import struct

from hpccache_cli.nfs.errors import ProtocolError

U32 = struct.Struct(">I")
I32 = struct.Struct(">i")
U64 = struct.Struct(">Q")
I64 = struct.Struct(">q")

# Caps for untrusted lengths. A single opaque never exceeds the largest record we accept.
DEFAULT_MAX_OPAQUE = 1 << 20
DEFAULT_MAX_ARRAY = 1 << 16


class XdrError(ProtocolError):
    """Bytes that are not valid XDR for the expected type (truncated, too long, bad value)."""


def _pad(n: int) -> int:
    return (4 - n % 4) % 4


class Packer:
    """Accumulates XDR items; ``bytes()`` gives the encoding."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u32(self, v: int) -> None:
        try:
            self._parts.append(U32.pack(v))
        except struct.error:
            raise XdrError(f"{v!r} does not fit an unsigned 32-bit integer") from None

    def i32(self, v: int) -> None:
        try:
            self._parts.append(I32.pack(v))
        except struct.error:
            raise XdrError(f"{v!r} does not fit a signed 32-bit integer") from None

    def u64(self, v: int) -> None:
        try:
            self._parts.append(U64.pack(v))
        except struct.error:
            raise XdrError(f"{v!r} does not fit an unsigned 64-bit integer") from None

    def i64(self, v: int) -> None:
        try:
            self._parts.append(I64.pack(v))
        except struct.error:
            raise XdrError(f"{v!r} does not fit a signed 64-bit integer") from None

    def boolean(self, v: bool) -> None:
        self._parts.append(U32.pack(1 if v else 0))

    def fixed(self, data: bytes, n: int) -> None:
        if len(data) != n:
            raise XdrError(f"fixed opaque needs exactly {n} bytes, got {len(data)}")
        self._parts.append(bytes(data) + b"\0" * _pad(n))

    def opaque(self, data: bytes, max_len: int = DEFAULT_MAX_OPAQUE) -> None:
        if len(data) > max_len:
            raise XdrError(f"opaque of {len(data)} bytes exceeds its limit of {max_len}")
        self._parts.append(U32.pack(len(data)) + bytes(data) + b"\0" * _pad(len(data)))

    def raw(self, data: bytes) -> None:
        """Append already-encoded XDR (e.g. procedure arguments after an RPC header)."""
        self._parts.append(bytes(data))

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class Unpacker:
    """Reads XDR items from a buffer, refusing anything malformed or truncated."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self._data = memoryview(data).toreadonly() if not isinstance(data, bytes) else data
        self._pos = pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def _take(self, n: int) -> bytes:
        if n < 0 or n > self.remaining:
            raise XdrError(f"truncated: needed {n} bytes, {self.remaining} left")
        start = self._pos
        self._pos += n
        return bytes(self._data[start : self._pos])

    def fields(self, layout: struct.Struct) -> tuple[int, ...]:
        """Read a run of fixed-size items in one ``unpack_from`` (no slice is copied)."""
        pos = self._pos
        if layout.size > len(self._data) - pos:
            raise XdrError(f"truncated: needed {layout.size} bytes, {self.remaining} left")
        self._pos = pos + layout.size
        return layout.unpack_from(self._data, pos)

    def u32(self) -> int:
        return self.fields(U32)[0]

    def i32(self) -> int:
        return self.fields(I32)[0]

    def u64(self) -> int:
        return self.fields(U64)[0]

    def i64(self) -> int:
        return self.fields(I64)[0]

    def boolean(self) -> bool:
        v = self.u32()
        if v > 1:
            raise XdrError(f"boolean must be 0 or 1, got {v}")
        return v == 1

    def fixed(self, n: int) -> bytes:
        data = self._take(n)
        self._skip_pad(n)
        return data

    def opaque(self, max_len: int = DEFAULT_MAX_OPAQUE) -> bytes:
        n = self.u32()
        if n > max_len:
            raise XdrError(f"opaque length {n} exceeds its limit of {max_len}")
        data = self._take(n)
        self._skip_pad(n)
        return data

    def _skip_pad(self, n: int) -> None:
        pad = self._take(_pad(n))
        if pad.strip(b"\0"):
            raise XdrError("non-zero padding")

    def rest(self) -> bytes:
        """Everything not yet read (e.g. procedure results after the RPC header)."""
        return self._take(self.remaining)

    def done(self) -> None:
        if self.remaining:
            raise XdrError(f"{self.remaining} unexpected trailing bytes")
