"""Old home of :mod:`hpccache_cli.jobs.flush.interrupts` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.interrupts import (
    SIGNALS as SIGNALS,
)
from hpccache_cli.jobs.flush.interrupts import (
    Interrupted as Interrupted,
)
from hpccache_cli.jobs.flush.interrupts import (
    Interrupts as Interrupts,
)
from hpccache_cli.jobs.flush.interrupts import (
    T as T,
)
from hpccache_cli.jobs.flush.interrupts import (
    command_signals as command_signals,
)
from hpccache_cli.jobs.flush.interrupts import (
    interrupted_before_line as interrupted_before_line,
)
from hpccache_cli.jobs.flush.interrupts import (
    run_command as run_command,
)
from hpccache_cli.jobs.flush.interrupts import (
    run_until_stopped as run_until_stopped,
)
from hpccache_cli.jobs.flush.interrupts import (
    signal_name as signal_name,
)
from hpccache_cli.jobs.flush.interrupts import (
    signals_as_ctrl_c as signals_as_ctrl_c,
)
