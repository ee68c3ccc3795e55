"""The emulator's fake Azure Resource Manager (Microsoft.StorageCache over HTTPS on loopback).

``FakeArm`` is the entry point; see :mod:`hpccache_cli.emulator.arm.server`.
"""

from hpccache_cli.emulator.arm.server import FakeArm, RequestRecord, RunningArm, start_fake_arm

__all__ = ["FakeArm", "RequestRecord", "RunningArm", "start_fake_arm"]
