"""What the fake Azure Resource Manager may do to the emulated cache.

The fake ARM (``emulator/arm``) acts on the NFS emulator only through this protocol, so a
storage-target flush over ARM really writes back that target's dirty files, and a suspended
target really stops answering NFS calls.
"""

from __future__ import annotations

from typing import Protocol


class TargetOps(Protocol):
    async def flush_target(self, target: str) -> None:
        """Write back every dirty file of ``target``; return when all are written back.

        Raises ``RuntimeError`` with a reason if some file could not be written back.
        """

    async def flush_all(self) -> None:
        """Write back every dirty file of every target (whole-cache flush)."""

    def set_suspended(self, target: str, suspended: bool) -> None:
        """Suspend or resume a target: NFS calls under its junctions fail while suspended."""

    async def invalidate_target(self, target: str) -> None:
        """Drop the cache's clean copies of ``target``'s files (dirty ones are kept)."""

    def dirty_count(self, target: str | None = None) -> int:
        """How many files are dirty (in one target, or in all)."""
