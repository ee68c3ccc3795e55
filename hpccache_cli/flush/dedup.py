"""A compact set of 64-bit path digests, for skipping duplicate inputs.

Why not a ``set`` of digests: a million Python ints or 8-byte ``bytes`` cost about 70 MB;
this open-addressing table keeps them in one ``array('Q')`` at 8 bytes per slot (16-32 bytes
per entry at its load factor), so duplicate detection for a million paths stays at ~20 MB and
creates no per-path objects. A 64-bit blake2b digest makes a false "duplicate" about a
one-in-10^7 event for a billion paths, and it would be reported, never silent.
"""

from __future__ import annotations

from array import array
from hashlib import blake2b

_EMPTY = 0


def digest(*parts: bytes) -> int:
    """A non-zero 64-bit digest of the parts (NUL-joined: parts never contain NUL)."""
    value = int.from_bytes(blake2b(b"\0".join(parts), digest_size=8).digest(), "little")
    return value or 1


class DigestSet:
    """Insert-only set of non-zero 64-bit ints with linear probing; grows at 2/3 load."""

    def __init__(self, capacity: int = 1024) -> None:
        size = 1
        while size < capacity * 2:
            size <<= 1
        self._table = array("Q", bytes(8 * size))
        self._mask = size - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, value: int) -> bool:
        """Insert ``value``; True if it was new, False if it was already present."""
        table, mask = self._table, self._mask
        i = value & mask
        while True:
            slot = table[i]
            if slot == _EMPTY:
                break
            if slot == value:
                return False
            i = (i + 1) & mask
        table[i] = value
        self._count += 1
        if self._count * 3 >= (mask + 1) * 2:
            self._grow()
        return True

    def __contains__(self, value: int) -> bool:
        table, mask = self._table, self._mask
        i = value & mask
        while True:
            slot = table[i]
            if slot == _EMPTY:
                return False
            if slot == value:
                return True
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._table
        size = (self._mask + 1) * 2
        self._table = array("Q", bytes(8 * size))
        self._mask = size - 1
        table, mask = self._table, self._mask
        for value in old:
            if value != _EMPTY:
                i = value & mask
                while table[i] != _EMPTY:
                    i = (i + 1) & mask
                table[i] = value
