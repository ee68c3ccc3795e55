"""The HPC Cache emulator's NFS side: portmapper + MOUNT + NFS on the cache's mount addresses.

CONTRACT (tests, the flush engine's tests, the demo and benchmarks use these; keep them):

- ``Emulator(config)``: ``await start()`` binds every mount address (ports from the config; 0 =
  a free port, the same number on every address), ``await stop()``. ``ports`` holds the real
  ``portmap``/``mount``/``nfs`` numbers after start. ``namespace`` implements
  ``emulator.target_ops.TargetOps`` and exposes ``is_dirty(namespace_path)``.
- ``faults`` is the live fault state (a ``Faults`` copy from the config): tests change it while
  the emulator runs. ``set_address_down(addr, down)`` closes/reopens an address's listeners and
  drops its open connections (a mount IP going away mid-run).
- ``EmulatorThread(config)``: context manager running an Emulator on a private event loop in a
  thread, for synchronous tests and the demo: ``with EmulatorThread(cfg) as emu: emu.ports``;
  ``emu.call(coro_fn, *args)`` runs a coroutine on the emulator's loop.
"""

from __future__ import annotations
