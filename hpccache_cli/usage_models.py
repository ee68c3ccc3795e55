"""What each HPC Cache usage model means for flushing.

Only usage models that cache writes ever hold dirty data; for the others writes go straight
through to the storage target and a flush has nothing to do. The write-back delays are the
documented defaults (the cache writes a file back this long after its last change). The list
lives here, in one place, because the flush command, ``hpccache namespace`` and the emulator
all need the same answer.

``verify_seconds`` is the model's back-end verification timer: how often the cache compares
its copy of a file with the storage target's (the documented defaults; None when the model
never verifies on its own, or the interval is not documented, ``verify_known`` says which).
``hpccache refresh`` reads it to skip targets that verify often enough by themselves.
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
    verify_seconds: int | None = None  # back-end verification timer; None: never / unknown
    verify_known: bool = False  # verify_seconds is documented (None then means "never")

    def verification(self) -> str:
        """How often the cache checks the back end, in words (``every 30 s``, ``never``)."""
        if not self.verify_known:
            return "back-end verification interval unknown"
        if self.verify_seconds is None:
            return "never verifies the back end on its own"
        return f"verifies the back end every {duration(self.verify_seconds)}"


def duration(seconds: float) -> str:
    """``30 s``, ``1 min``, ``3 h``: the coarsest unit that divides ``seconds`` evenly."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


_H = 3600
# Verification timers: HPC Cache "Understand cache usage models" (defaults) and the
# UsageModels_List descriptions (READ_ONLY 30 s, READ_WRITE 8 h).
_MODELS = [
    UsageModel("READ_HEAVY_INFREQ", False, None, "Read heavy, infrequent writes", None, True),
    UsageModel("READ_HEAVY_CHECK_180", False, None, "Read heavy, back-end checked every 3 h",
               3 * _H, True),
    UsageModel("WRITE_AROUND", False, None, "Clients write to the NFS target directly", 30, True),
    UsageModel("READ_ONLY", False, None, "Read only", 30, True),
    UsageModel("WRITE_WORKLOAD_15", True, 3600, "Greater than 15% writes", 8 * _H, True),
    UsageModel("WRITE_WORKLOAD_CHECK_30", True, 3600, "Greater than 15% writes, check every 30 s",
               30, True),
    UsageModel("WRITE_WORKLOAD_CHECK_60", True, 3600, "Greater than 15% writes, check every 60 s",
               60, True),
    UsageModel("WRITE_WORKLOAD_CLOUDWS", True, 3600, "Greater than 15% writes, cloud workstation"),
    UsageModel("READ_WRITE", True, 3600, "Read-write, write-back timer (default 1 h)", 8 * _H,
               True),
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
