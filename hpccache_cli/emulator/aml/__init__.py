"""The emulator's Azure Managed Lustre side: file systems as local directory trees, HSM state,
blob-integration jobs, and Azurite as the real blob back end.

Kept apart from the HPC Cache parts (NFS, write-back): the fake ARM reaches it only through
``FakeArm.aml`` (an :class:`~hpccache_cli.emulator.aml.service.AmlService`) and the routes of
:mod:`hpccache_cli.emulator.arm.aml_routes`.
"""
