"""``hpccache flush-file --help``: its long text (here, out of the command's code)."""

#: Where flush-file differs from flush_file.py on purpose (one --help paragraph each).
DIFFERENCES = (
    "relative paths (dir/file) are read relative to EXPORT too (flush_file.py: ERROR "
    "\"Absolute path needed\");",
    "empty lines are ignored (flush_file.py: an ERROR each);",
    "paths are normalised: '//', '.' and a trailing '/' are dropped, '..' is applied to the "
    "text and may not climb above EXPORT (flush_file.py looks each component up as written: "
    "'//' and a trailing '/' are ERRORs);",
    "duplicates: a path given again is flushed once and the repeat prints \"Skipped PATH: "
    "duplicate of an earlier input\" (flush_file.py flushes it again);",
    "output lines: \"Flushed PATH in 0.34sec\" and \"ERROR failed PATH: reason\", without "
    "Thread=NN, file handle or mtime; the closing lines are the same (\"Total elapsed time "
    "...\", \"N ERRORS encountered. grep ERROR in output for details.\");",
    "exit code 1 when files failed (flush_file.py: 255), 4 when the cache is unreachable "
    "and 2 when EXPORT is no junction of the cache (flush_file.py: tracebacks, then it "
    "hangs);",
    "--threads is files in flight, default 128 (flush_file.py: 4 threads); SERVER may list "
    "several mount addresses separated by commas; --recursive flushes the files under a "
    "directory (without it a directory is an ERROR, as with flush_file.py);",
    "without --sync, hpccache flush's --mode auto: async, switching to sync flushes once "
    "the run has seen short write-backs of dirty files (flush_file.py: always async).",
)

HELP = (
    "Drop-in replacement for flush_file.py: flush the files named on stdin.\n\n"
    "Reads one path per line from stdin (surrounding whitespace ignored) and flushes it from "
    "the cache at SERVER. Like flush_file.py, a path is relative to the mounted EXPORT: "
    "/NAS_12_exp5/x with EXPORT /NAS_12_exp5 is NAS_12_exp5/x inside the export (for "
    "namespace paths use hpccache flush --ip SERVER --export EXPORT --path-kind namespace). "
    "Prints flush_file.py-style lines on stderr; failure lines contain ERROR. Runs on the "
    "same engine as `hpccache flush` (which adds reports, retry lists, NUL input and more)."
    "\n\nDifferences from flush_file.py, on purpose:\n\n"
    + "\n\n".join(f"- {d}" for d in DIFFERENCES) + "\n\n"
    "Exit codes: 0 every file flushed or already clean; 1 some files failed; 2 bad usage; "
    "4 cache unreachable; 130 interrupted.\n\n"
    "Example: cat flushlist | hpccache flush-file /NAS_12_exp5 10.0.0.11 --sync"
)
