"""What each HPC Cache usage model means for flushing.

Only usage models that cache writes ever hold dirty data; for the others writes go straight
through to the storage target and a flush has nothing to do. The write-back delays are the
documented defaults (the cache writes a file back this long after its last change). The list
lives here, in one place, because the flush command, ``hpccache namespace`` and the emulator
all need the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UsageModel:
    """A usage model name with its write-caching behaviour."""

    name: str
    caches_writes: bool
    write_back_delay_s: int | None  # None when writes are not cached
    description: str


_MODELS = [
    UsageModel("READ_HEAVY_INFREQ", False, None, "Read heavy, infrequent writes"),
    UsageModel("READ_HEAVY_CHECK_180", False, None, "Read heavy, back-end checked every 3 h"),
    UsageModel("WRITE_AROUND", False, None, "Clients write to the NFS target directly"),
    UsageModel("READ_ONLY", False, None, "Read only"),
    UsageModel("WRITE_WORKLOAD_15", True, 3600, "Greater than 15% writes"),
    UsageModel("WRITE_WORKLOAD_CHECK_30", True, 3600, "Greater than 15% writes, check every 30 s"),
    UsageModel("WRITE_WORKLOAD_CHECK_60", True, 3600, "Greater than 15% writes, check every 60 s"),
    UsageModel("WRITE_WORKLOAD_CLOUDWS", True, 3600, "Greater than 15% writes, cloud workstation"),
    UsageModel("READ_WRITE", True, 3600, "Read-write, write-back timer (default 1 h)"),
]

USAGE_MODELS: dict[str, UsageModel] = {m.name: m for m in _MODELS}

# Blob (clfs) storage targets carry no usage model in the API; they cache writes.
CLFS_MODEL = UsageModel("(blob)", True, 3600, "Blob storage target: writes cached")


def lookup(name: str | None, target_type: str = "nfs3") -> UsageModel:
    """Return what is known of a usage model; unknown names are assumed to cache writes.

    Assuming "caches writes" for an unknown model is the safe direction: the worst outcome is a
    flush that finds nothing dirty, never a dirty file reported as "nothing to flush".
    """
    if not name:
        if target_type == "clfs":
            return CLFS_MODEL
        return UsageModel("(unknown)", True, None, "Usage model not reported")
    model = USAGE_MODELS.get(name.upper())
    if model is not None:
        return model
    return UsageModel(name, True, None, "Usage model not known to this version of hpccache")
