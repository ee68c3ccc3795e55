"""``--pin``: the emulator on one core, every client under test on the other.

Why: on a 2-core machine the emulator, the client under test and everything else share both
cores, and a fast-cache run costs the emulator more CPU per file than ``hpccache`` itself, so
files/s follows whichever process the scheduler favoured in a run, not the client. Pinned,
the emulator gets CPU 0 and each client (``hpccache``, flush_file.py, the yardstick, nfs-cp)
CPU 1, the same for all of them: a client-vs-client comparison in which the shared server
does not decide a client's share of the machine. Other users of the machine are not pinned
and still run on both cores: pinning takes a core away from neither, it only keeps the
emulator and the client off each other's.

``--pin`` (``on``) pins every run; ``--pin both`` runs each setting pinned and unpinned in
the same rounds (which goes first alternates), so the two are compared under the same load;
``off`` (the default) leaves the scheduler free. Linux only (``sched_setaffinity``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

EMULATOR_CPU = 0
CLIENT_CPU = 1


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pin", nargs="?", const="on", default="off",
                        choices=("off", "on", "both"),
                        help=f"pin the emulator to CPU {EMULATOR_CPU} and every client to CPU "
                             f"{CLIENT_CPU} ('--pin' alone: on); 'both' runs every setting "
                             "pinned and unpinned in the same rounds")


def settings(choice: str) -> list[bool]:
    """The pinning settings a run covers, in the order of its first round."""
    if choice != "off" and (not hasattr(os, "sched_setaffinity")
                            or len(os.sched_getaffinity(0)) < 2):
        raise SystemExit("--pin needs Linux and at least 2 CPUs this process may use")
    return {"off": [False], "on": [True], "both": [True, False]}[choice]


def label(pinned: bool) -> str:
    """The setting, as printed beside each figure."""
    return (f"pinned: emulator CPU {EMULATOR_CPU}, client CPU {CLIENT_CPU}" if pinned
            else "unpinned: all share both cores")


def pin_process(pid: int, pinned: bool) -> None:
    """Set every thread of process ``pid`` to the emulator's core (or back to all cores).

    ``sched_setaffinity`` acts on one thread; threads started later inherit the affinity of
    the thread that starts them, so setting each existing one covers the process."""
    cpus = {EMULATOR_CPU} if pinned else os.sched_getaffinity(0)
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(int(task.name), cpus)


def client_preexec(pinned: bool) -> Callable[[], None] | None:
    """A ``preexec_fn`` putting a client command on the client core (None: unpinned)."""
    if not pinned:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, {CLIENT_CPU})

    return pin
