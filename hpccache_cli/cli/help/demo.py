"""``hpccache demo --help``: its long text (here, out of the command's code)."""

HELP = (
    "Run the main job against the built-in emulator, then verify the storage targets.\n\n"
    "Starts an emulated HPC Cache on 127.0.0.201 and 127.0.0.202 with two junctions and a fake "
    "Azure Resource Manager on 127.0.0.1, writes FILES files into the cache (dirty), then runs "
    "`hpccache namespace`, `hpccache flush --cache` (every file by namespace path) and "
    "`hpccache target flush` (for files written afterwards), each shown as it runs, and checks "
    "that the back ends now hold the cache's bytes. Then, for Azure Managed Lustre, writes "
    "files into an emulated file system, runs `hpccache amlfs archive` and checks that the "
    "blob container (in Azurite, when installed) holds the same bytes. Cleans up after "
    "itself; uses no Azure credential and no network beyond loopback.\n\n"
    "Exit codes: 0 every file flushed and verified; 1 something did not flush or verify; "
    "2 bad usage; 130 interrupted.\n\n"
    "Example: hpccache demo --files 1000 --write-back-ms 50"
)
