"""XDR (RFC 4506) as pure functions over bytes.

Encoding and decoding never touch a socket (the h11 model): the transport hands bytes in and
takes bytes out. Types are small objects with ``pack``/``unpack`` so one declaration serves both
directions: the client encodes arguments and decodes results, the emulator does the reverse,
and property tests round-trip every declared type.

Untrusted input is bounded: every variable-length item has a cap, a length is checked against
the bytes that are actually left before anything is sliced or allocated, and any malformed or
truncated input raises :class:`XdrError` (a :class:`ProtocolError`) and nothing else.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, is_dataclass
from enum import IntEnum
from typing import Any, Generic, TypeVar

from hpccache_cli.nfs.xdr_bytes import (
    DEFAULT_MAX_ARRAY,
    DEFAULT_MAX_OPAQUE,
)
from hpccache_cli.nfs.xdr_bytes import Packer as Packer  # re-exported: codecs use xdr.Packer
from hpccache_cli.nfs.xdr_bytes import Unpacker as Unpacker
from hpccache_cli.nfs.xdr_bytes import XdrError as XdrError

T = TypeVar("T")
R = TypeVar("R", bound="Record")


class XdrType(Generic[T]):
    """An XDR type: knows how to pack a Python value and unpack it again.

    ``code`` is the type's ``struct`` format when its encoding has a fixed size and needs no
    validation beyond range (integers, enums, structs of those); a :class:`Struct` made only
    of such fields is then packed and unpacked with one precompiled ``struct.Struct`` call.
    """

    code: str | None = None

    def pack(self, p: Packer, value: T) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def unpack(self, u: Unpacker) -> T:  # pragma: no cover - interface
        raise NotImplementedError

    def encode(self, value: T) -> bytes:
        p = Packer()
        self.pack(p, value)
        return p.bytes()

    def decode(self, data: bytes) -> T:
        """Decode exactly one value; trailing bytes are an error."""
        u = Unpacker(data)
        value = self.unpack(u)
        u.done()
        return value


class _Prim(XdrType[Any]):
    def __init__(self, name: str) -> None:
        self.name = name
        self.code = {"u32": "I", "i32": "i", "u64": "Q", "i64": "q"}.get(name)

    def pack(self, p: Packer, value: Any) -> None:
        getattr(p, self.name)(value)

    def unpack(self, u: Unpacker) -> Any:
        return getattr(u, self.name)()

    def __repr__(self) -> str:
        return self.name


u32: XdrType[int] = _Prim("u32")
i32: XdrType[int] = _Prim("i32")
u64: XdrType[int] = _Prim("u64")
i64: XdrType[int] = _Prim("i64")
boolean: XdrType[bool] = _Prim("boolean")


class Void(XdrType[None]):
    def pack(self, p: Packer, value: None) -> None:
        return None

    def unpack(self, u: Unpacker) -> None:
        return None


void = Void()


class Fixed(XdrType[bytes]):
    def __init__(self, n: int) -> None:
        self.n = n

    def pack(self, p: Packer, value: bytes) -> None:
        p.fixed(value, self.n)

    def unpack(self, u: Unpacker) -> bytes:
        return u.fixed(self.n)


class Opaque(XdrType[bytes]):
    def __init__(self, max_len: int = DEFAULT_MAX_OPAQUE) -> None:
        self.max_len = max_len

    def pack(self, p: Packer, value: bytes) -> None:
        p.opaque(value, self.max_len)

    def unpack(self, u: Unpacker) -> bytes:
        return u.opaque(self.max_len)


class String(Opaque):
    """An XDR string, kept as bytes: file names are bytes and must not be re-encoded."""


class Enum(XdrType[Any]):
    """An XDR enum mapped to an IntEnum; unknown values are an error unless ``lenient``.

    Status codes from servers are decoded leniently (a server may return a status we do not
    know, and the user should see its number rather than a protocol error).
    """

    code = "I"

    def __init__(self, cls: type[IntEnum], lenient: bool = False) -> None:
        self.cls = cls
        self.lenient = lenient
        # value -> member: a dict lookup, where calling the enum class costs a microsecond
        # (statuses and file types are decoded on every reply)
        self._members: dict[int, IntEnum] = {int(m): m for m in cls}

    def pack(self, p: Packer, value: Any) -> None:
        p.u32(int(value))

    def unpack(self, u: Unpacker) -> Any:
        return self.convert(u.u32())

    def convert(self, raw: int) -> Any:
        member = self._members.get(raw)
        if member is not None:
            return member
        if self.lenient:
            return raw
        raise XdrError(f"{raw} is not a valid {self.cls.__name__}")


class Optional(XdrType[Any]):
    """``T *x`` in XDR: a boolean followed by the value when present."""

    def __init__(self, inner: XdrType[Any]) -> None:
        self.inner = inner

    def pack(self, p: Packer, value: Any) -> None:
        p.boolean(value is not None)
        if value is not None:
            self.inner.pack(p, value)

    def unpack(self, u: Unpacker) -> Any:
        return self.inner.unpack(u) if u.boolean() else None


class Array(XdrType[list[Any]]):
    """A counted variable-length array with a cap on the count."""

    def __init__(self, inner: XdrType[Any], max_count: int = DEFAULT_MAX_ARRAY) -> None:
        self.inner = inner
        self.max_count = max_count

    def pack(self, p: Packer, value: Sequence[Any]) -> None:
        if len(value) > self.max_count:
            raise XdrError(f"array of {len(value)} items exceeds its limit of {self.max_count}")
        p.u32(len(value))
        for item in value:
            self.inner.pack(p, item)

    def unpack(self, u: Unpacker) -> list[Any]:
        n = u.u32()
        # Every XDR item takes at least 4 bytes: a count larger than that is a lie.
        if n > self.max_count or n * 4 > u.remaining:
            raise XdrError(f"array count {n} exceeds its limit or the bytes left")
        return [self.inner.unpack(u) for _ in range(n)]


class LinkedList(XdrType[list[Any]]):
    """The ``entry *next`` chains of READDIR(PLUS)/EXPORT replies, as a Python list."""

    def __init__(self, inner: XdrType[Any], max_count: int = DEFAULT_MAX_ARRAY) -> None:
        self.inner = inner
        self.max_count = max_count

    def pack(self, p: Packer, value: Iterable[Any]) -> None:
        for item in value:
            p.boolean(True)
            self.inner.pack(p, item)
        p.boolean(False)

    def unpack(self, u: Unpacker) -> list[Any]:
        items: list[Any] = []
        while u.boolean():
            if len(items) >= self.max_count:
                raise XdrError(f"list longer than its limit of {self.max_count}")
            items.append(self.inner.unpack(u))
        return items


class Struct(XdrType[T]):
    """An XDR struct decoded into a dataclass whose fields are listed in wire order."""

    def __init__(self, cls: type[T], spec: Sequence[tuple[str, XdrType[Any]]]) -> None:
        if not is_dataclass(cls):
            raise TypeError("Struct needs a dataclass")
        names = [f.name for f in fields(cls) if f.init]
        if [n for n, _ in spec] != names:
            raise TypeError(f"{cls.__name__}: spec {[n for n, _ in spec]} != fields {names}")
        self.cls = cls
        self.spec = tuple(spec)
        codes = [t.code for _, t in self.spec]
        self.code = "".join(c for c in codes if c) if all(codes) else None
        self._layout = struct.Struct(">" + self.code) if self.code else None
        # Compiled at the first decode (:func:`_compile_builder`): compiling every struct at
        # import would cost each command's start-up milliseconds for tables it never uses.
        self._from_flat: Callable[[tuple[int, ...]], T] | None = None

    def pack(self, p: Packer, value: T) -> None:
        if self._layout is None:
            for name, t in self.spec:
                t.pack(p, getattr(value, name))
            return
        flat: list[int] = []
        try:
            self._flatten(value, flat)
            p.raw(self._layout.pack(*flat))
        except (struct.error, TypeError, ValueError, AttributeError):
            raise XdrError(f"a field of {self.cls.__name__} does not fit its XDR type") from None

    def unpack(self, u: Unpacker) -> T:
        if self._layout is None:
            return self.cls(*[t.unpack(u) for _, t in self.spec])
        build = self._from_flat
        if build is None:
            build = self._from_flat = _compile_builder(self)
        return build(u.fields(self._layout))

    def _flatten(self, value: Any, out: list[int]) -> None:
        for name, t in self.spec:
            v = getattr(value, name)
            if isinstance(t, Struct):
                t._flatten(v, out)
            else:
                out.append(int(v))

    def _statements(self, names: dict[str, Any], lines: list[str], start: int) -> tuple[str, int]:
        """Append to ``lines`` the statements building this struct from ``f[start:]`` (see
        :func:`_compile_builder`); the variable holding it, and the index after its fields."""
        var = f"v{len(names)}"
        names[var + "c"] = self.cls
        fast = not hasattr(self.cls, "__post_init__") and "__slots__" not in vars(self.cls)
        values: list[tuple[str, str]] = []
        i = start
        for name, t in self.spec:
            if isinstance(t, Struct):
                arg, i = t._statements(names, lines, i)
            elif isinstance(t, Enum):
                conv = f"e{len(names)}"
                names[conv] = t.convert
                arg, i = f"{conv}(f[{i}])", i + 1
            else:
                arg, i = f"f[{i}]", i + 1
            values.append((name, arg))
        if fast:  # the instance __init__ makes, without one object.__setattr__ per field
            lines.append(f"{var} = new({var}c)")
            lines.append(f"d = {var}.__dict__")
            lines.extend(f"d[{name!r}] = {arg}" for name, arg in values)
        else:
            lines.append(f"{var} = {var}c({', '.join(arg for _, arg in values)})")
        return var, i


def _compile_builder(st: Struct[Any]) -> Callable[[tuple[int, ...]], Any]:
    """One function that builds a fixed-size struct from its flat ``unpack`` tuple.

    Why generated: fattr3 is 14 fields with three nested times and comes twice in every
    LOOKUP reply. Walking the spec per value (recursion, ``isinstance`` per field) and the
    frozen dataclasses' ``__init__`` (one ``object.__setattr__`` per field) made decoding a
    LOOKUP reply a fifth of the client's CPU per flushed file. The generated function fills
    each instance's ``__dict__`` from fixed indexes of the tuple: the same objects (equal,
    same hash and repr), several times faster. A class with ``__post_init__`` or slots is
    built through its constructor. Only names bound here and integer indexes go into the
    source.
    """
    names: dict[str, Any] = {"new": object.__new__}
    lines: list[str] = []
    var, _ = st._statements(names, lines, 0)
    body = "".join(f"    {line}\n" for line in lines)
    code = f"def build(f):\n{body}    return {var}\n"
    exec(compile(code, f"<xdr builder {st.cls.__name__}>", "exec"), names)  # noqa: S102
    builder: Callable[[tuple[int, ...]], Any] = names["build"]
    return builder


class StatusUnion(XdrType[Any]):
    """``union switch (status) { case OK: ok_body; default: fail_body; }``.

    Decodes to ``(status, body)``: the body is ``ok`` when status is ``ok_value`` and ``fail``
    otherwise. This one shape covers every NFSv3 and MOUNTv3 result.
    """

    def __init__(
        self,
        status: Enum,
        ok: XdrType[Any],
        fail: XdrType[Any] = void,
        ok_value: int = 0,
    ) -> None:
        self.status = status
        self.ok = ok
        self.fail = fail
        self.ok_value = ok_value

    def pack(self, p: Packer, value: tuple[Any, Any]) -> None:
        status, body = value
        self.status.pack(p, status)
        (self.ok if int(status) == self.ok_value else self.fail).pack(p, body)

    def unpack(self, u: Unpacker) -> tuple[Any, Any]:
        status = self.status.unpack(u)
        body = (self.ok if int(status) == self.ok_value else self.fail).unpack(u)
        return status, body


class _CodecSlot:
    """What type checkers see as ``SomeRecord.xdr``: a ``Struct`` of exactly that class.

    At run time :func:`struct_type` sets the real codec as a plain class attribute, which
    shadows this descriptor, so reading ``Fattr3.xdr`` costs one dictionary lookup as before.
    Reaching this ``__get__`` means a class derived from :class:`Record` was not decorated.
    """

    def __get__(self, obj: object, owner: type[R]) -> Struct[R]:
        raise TypeError(f"{owner.__name__} has no XDR codec: decorate it with @xdr.struct_type")


class Record:
    """Base of the dataclasses that are XDR structs: declares their ``xdr`` codec for mypy.

    A class decorator cannot add an attribute a type checker sees, so the declaration lives
    here (typed per subclass by :class:`_CodecSlot`) and :func:`struct_type` fills it in.

    Records are declared ``@dataclass(frozen=True, eq=False, repr=False)`` with a docstring,
    and get ``==``, ``hash`` and ``repr`` from here, the same as a dataclass's own. Why:
    ``dataclass`` compiles each method it writes, for every class, when the module is
    imported; for the two dozen records of the NFS codecs that was most of their import time,
    paid by every command that flushes. ``__init__`` (run for every record built) stays
    the dataclass's own; a docstring spares ``dataclass`` computing a signature for one.
    """

    xdr = _CodecSlot()
    #: The fields ``==``/``hash``/``repr`` use (dataclass order), set by :func:`struct_type`.
    _xdr_compare: tuple[str, ...] = ()
    _xdr_hash: tuple[str, ...] = ()
    _xdr_repr: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = self._xdr_compare
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self._xdr_hash))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._xdr_repr)
        return f"{self.__class__.__qualname__}({shown})"


def struct_type(spec: Sequence[tuple[str, XdrType[Any]]]) -> Callable[[type[R]], type[R]]:
    """Class decorator: attach ``cls.xdr = Struct(cls, spec)`` to a :class:`Record` dataclass."""

    def wrap(cls: type[R]) -> type[R]:
        setattr(cls, "xdr", Struct(cls, spec))  # noqa: B010 - shadows the typed Record.xdr slot
        declared = fields(cls)  # type: ignore[arg-type]  # (Struct checked: a dataclass)
        cls._xdr_compare = tuple(f.name for f in declared if f.compare)
        cls._xdr_hash = tuple(f.name for f in declared if (f.compare if f.hash is None else f.hash))
        cls._xdr_repr = tuple(f.name for f in declared if f.repr)
        return cls

    return wrap
