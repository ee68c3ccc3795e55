"""``--shard auto`` on batch schedulers: which share of the list is this array task's?

A scheduler's job array runs the same command N times; each task must derive, from its own
environment alone, a *distinct* position ``k`` in ``1..n`` and the *same* ``n`` as every other
task, or files are flushed twice or never. So each reader below returns a position only when
the variables prove it; otherwise it refuses with one line saying what to set or submit.

What the schedulers really expose (the facts behind the rules):

- Slurm (measured on 22.05): ``SLURM_ARRAY_TASK_ID``, ``_COUNT`` (number of tasks), ``_MIN``,
  ``_MAX`` (the last *real* index: ``--array=0-7:3`` gives 6) and ``_STEP``. For a list
  (``1,3,8``, ``1-3,10-12``) STEP is 1 or the first range's step, so ``(ID-MIN)/STEP`` is not
  the task's position. A task can only know its position when the tasks are exactly the
  lattice ``MIN, MIN+STEP, ..., MAX``: that holds iff ``COUNT == (MAX-MIN)/STEP + 1`` (the
  tasks are COUNT distinct indices in that range) and ID lies on it. A list that happens to be
  such a lattice (``0,3,6`` with STEP 3, or ``2,3,4``) is as good as a range; any other list
  is refused by every task whose position cannot be proven, so the array fails instead of
  silently missing files.
- PBS Pro: ``PBS_ARRAY_INDEX`` in each subjob, ``PBS_ARRAY_ID`` (``1234[].server``); the range
  is the job attribute ``array_indices_submitted`` (``X-Y[:Z]``, PBS Pro arrays are ranges
  only), which a job reads with ``qstat -f $PBS_ARRAY_ID``. No variable holds it.
- LSF: ``LSB_JOBINDEX`` (0 outside an array), ``LSB_JOBINDEX_END``, ``LSB_JOBINDEX_STEP``; the
  start is not a variable, but ``LSB_JOBNAME`` carries the submitted ``name[index_list]``.
  A list (``name[1,3,5-10]``) is refused, as with Slurm.
- Grid Engine: ``SGE_TASK_ID``, ``SGE_TASK_FIRST``, ``SGE_TASK_LAST``, ``SGE_TASK_STEPSIZE``
  (``undefined`` outside an array; ``-t`` takes one range only).
- Azure Pipelines: ``SYSTEM_JOBPOSITIONINPHASE`` / ``SYSTEM_TOTALJOBSINPHASE`` (1-based; both
  1 outside a parallel job).

Only one source may describe a real split (n > 1): ``sbatch`` exports the submitter's
environment, so a pipeline job's ``1/1`` can reach a Slurm task and is then not a conflict;
two real splits are (nothing says which one the user meant).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hpccache_cli.errors import UsageError

POSITION_VAR = "SYSTEM_JOBPOSITIONINPHASE"
TOTAL_VAR = "SYSTEM_TOTALJOBSINPHASE"
_DIGITS = 12  # no scheduler numbers its tasks beyond this: longer values are refused
K_N = "use --shard K/N"

#: Reads a PBS Pro array's ``array_indices_submitted`` (given PBS_ARRAY_ID); raises OSError
#: (or UsageError) with a reason when it cannot.
PbsRangeReader = Callable[[str], str]


@dataclass(frozen=True)
class ShardFound:
    """This task's share: shard ``k`` of ``n``, where it came from and what was read (-v)."""

    k: int
    n: int
    source: str  # "Slurm", "PBS Pro", "LSF", "Grid Engine", "Azure Pipelines" or "" (none)
    detail: str

    def describe(self) -> str:
        if not self.source:
            return f"--shard auto: {self.detail}: shard 1/1 (the whole list)"
        return f"--shard auto: {self.source} {self.detail}: shard {self.k}/{self.n}"


def _refuse(text: str) -> UsageError:
    return UsageError(f"--shard auto: {text}")


def _number(name: str, raw: str, *, low: int) -> int:
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _DIGITS or int(text) < low:
        raise _refuse(f"{name}={raw[:40]!r} is not a whole number from {low} up; {K_N}")
    return int(text)


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value else None  # empty = unset, as the shells treat it


def _need(environ: Mapping[str, str], name: str, first: str, why: str) -> str:
    value = _get(environ, name)
    if value is None:
        raise _refuse(f"{first} is set but {name} is not, so {why} is unknown; set {name} "
                      f"or {K_N}")
    return value


def lattice_position(index: int, first: int, last: int, step: int, count: int | None,
                     names: str) -> tuple[int, int]:
    """(k, n) of ``index`` among ``first, first+step, ..., last`` when the tasks are exactly
    that lattice (``count``, if known, must equal its size); UsageError otherwise.

    ``names`` says which variables these were, for the refusal."""
    if step < 1 or last < first or not first <= index <= last:
        raise _refuse(f"{names}: the index is outside first..last; {K_N}")
    n = (last - first) // step + 1
    on_lattice = (index - first) % step == 0
    if count is not None and (count != n or (last - first) % step):
        raise _refuse(
            f"{names}: {count} tasks between {first} and {last} are not the range "
            f"{first}-{last}:{step} (a list of indices?), so this task cannot know its "
            f"position; submit a range (A-B or A-B:STEP) or {K_N}")
    if not on_lattice:
        raise _refuse(f"{names}: index {index} is not in {first}-{last}:{step} (a list of "
                      f"indices?); submit a range (A-B or A-B:STEP) or {K_N}")
    return (index - first) // step + 1, n


def _azure(environ: Mapping[str, str]) -> ShardFound | None:
    position, total = _get(environ, POSITION_VAR), _get(environ, TOTAL_VAR)
    if position is None and total is None:
        return None
    if position is None or total is None:
        present, absent = (POSITION_VAR, TOTAL_VAR) if total is None else (TOTAL_VAR, POSITION_VAR)
        raise _refuse(f"{present} is set but {absent} is not; set both, or {K_N}")
    k = _number(POSITION_VAR, position, low=1)
    n = _number(TOTAL_VAR, total, low=1)
    if k > n:
        raise _refuse(f"{POSITION_VAR}={k} is larger than {TOTAL_VAR}={n}; {K_N} instead")
    return ShardFound(k, n, "Azure Pipelines", f"{POSITION_VAR}={k} {TOTAL_VAR}={n}")


def _slurm(environ: Mapping[str, str]) -> ShardFound | None:
    first = "SLURM_ARRAY_TASK_ID"
    raw = _get(environ, first)
    if raw is None:
        return None
    task = _number(first, raw, low=0)
    count = _number("SLURM_ARRAY_TASK_COUNT", _need(
        environ, "SLURM_ARRAY_TASK_COUNT", first, "the number of tasks"), low=1)
    low = _number("SLURM_ARRAY_TASK_MIN", _need(
        environ, "SLURM_ARRAY_TASK_MIN", first, "the first index"), low=0)
    high = _number("SLURM_ARRAY_TASK_MAX", _need(
        environ, "SLURM_ARRAY_TASK_MAX", first, "the last index"), low=0)
    step = _number("SLURM_ARRAY_TASK_STEP", _need(
        environ, "SLURM_ARRAY_TASK_STEP", first, "the step"), low=1)
    names = (f"SLURM_ARRAY_TASK_ID={task} COUNT={count} MIN={low} MAX={high} STEP={step}")
    k, n = lattice_position(task, low, high, step, count, names)
    return ShardFound(k, n, "Slurm", names)


_RANGE = re.compile(r"(\d{1,12})(?:-(\d{1,12})(?::(\d{1,12}))?)?")


def parse_range(text: str) -> tuple[int, int, int] | None:
    """``A``, ``A-B`` or ``A-B:S`` -> (A, B, S); None for anything else (lists included)."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        return None
    first = int(match[1])
    last = int(match[2]) if match[2] else first
    step = int(match[3]) if match[3] else 1
    return first, last, step


def _pbs(environ: Mapping[str, str], read_range: PbsRangeReader | None) -> ShardFound | None:
    first = "PBS_ARRAY_INDEX"
    raw = _get(environ, first)
    if raw is None:
        return None
    index = _number(first, raw, low=0)
    array_id = _need(environ, "PBS_ARRAY_ID", first, "the array (and so its range)")
    if read_range is None:
        raise _refuse(f"{first} is set but the array's range cannot be read here; {K_N}")
    try:
        submitted = read_range(array_id)
    except OSError as exc:
        raise _refuse(f"cannot read the range of PBS array {array_id[:80]!r} "
                      f"(qstat -f: {exc}); {K_N}") from None
    parsed = parse_range(submitted)
    if parsed is None:
        raise _refuse(f"PBS array {array_id[:80]!r} has array_indices_submitted="
                      f"{submitted[:40]!r}, not X-Y[:Z]; {K_N}")
    names = f"PBS_ARRAY_INDEX={index} array_indices_submitted={submitted.strip()}"
    k, n = lattice_position(index, *parsed, None, names)
    return ShardFound(k, n, "PBS Pro", names)


_LSF_NAME = re.compile(r".*\[([0-9,:\-\s]{1,255})\](?:%\d{1,12})?")


def _lsf(environ: Mapping[str, str]) -> ShardFound | None:
    first = "LSB_JOBINDEX"
    raw = _get(environ, first)
    if raw is None or raw.strip() == "0":  # LSF sets 0 for a job that is not in an array
        return None
    index = _number(first, raw, low=1)
    end = _number("LSB_JOBINDEX_END", _need(
        environ, "LSB_JOBINDEX_END", first, "the last index"), low=1)
    step = _number("LSB_JOBINDEX_STEP", _get(environ, "LSB_JOBINDEX_STEP") or "1", low=1)
    name = _need(environ, "LSB_JOBNAME", first, "the first index (in name[A-B:S])")
    match = _LSF_NAME.fullmatch(name[:512])
    spec = match[1].replace(" ", "") if match else ""
    if "," in spec:
        raise _refuse(f"LSB_JOBNAME={name[:80]!r} is a list of indices, so this task cannot "
                      f"know its position; submit a range (name[A-B:S]) or {K_N}")
    parsed = parse_range(spec) if spec else None
    if parsed is None or parsed[0] == parsed[1] != end:
        raise _refuse(f"LSB_JOBNAME={name[:80]!r} does not hold the array's index range "
                      f"(name[A-B:S]), so the first index is unknown; {K_N}")
    start, last, spec_step = parsed
    if spec_step != step or not start <= end <= last:
        raise _refuse(f"LSB_JOBNAME={name[:80]!r} disagrees with LSB_JOBINDEX_END={end} / "
                      f"LSB_JOBINDEX_STEP={step}; {K_N}")
    names = f"LSB_JOBINDEX={index} LSB_JOBNAME={name[:80]} END={end} STEP={step}"
    k, n = lattice_position(index, start, end, step, None, names)
    return ShardFound(k, n, "LSF", names)


def _sge(environ: Mapping[str, str]) -> ShardFound | None:
    first = "SGE_TASK_ID"
    raw = _get(environ, first)
    if raw is None or raw.strip() == "undefined":  # a job that is not an array
        return None
    task = _number(first, raw, low=1)
    values = []
    for name, why in (("SGE_TASK_FIRST", "the first index"), ("SGE_TASK_LAST", "the last "
                      "index"), ("SGE_TASK_STEPSIZE", "the step")):
        value = _need(environ, name, first, why)
        if value.strip() == "undefined":
            raise _refuse(f"{first}={task} but {name} is undefined; set {name} or {K_N}")
        values.append(_number(name, value, low=1))
    low, high, step = values
    names = f"SGE_TASK_ID={task} FIRST={low} LAST={high} STEPSIZE={step}"
    # LAST may be the submitted end (1-8:3 runs 1,4,7): the lattice size is the same either way
    last_real = low + (high - low) // step * step if high >= low else high
    k, n = lattice_position(task, low, last_real, step, None, names)
    return ShardFound(k, n, "Grid Engine", names)


def detect(environ: Mapping[str, str], read_pbs_range: PbsRangeReader | None = None
           ) -> ShardFound:
    """This task's shard from the environment (see the module docstring); 1/1 when no
    scheduler or pipeline runs it. UsageError (one line) when the position cannot be proven."""
    found = [f for f in (_slurm(environ), _pbs(environ, read_pbs_range), _lsf(environ),
                         _sge(environ), _azure(environ)) if f is not None]
    splits = [f for f in found if f.n > 1]
    if len(splits) > 1:
        raise _refuse(" and ".join(f"{f.source} ({f.detail})" for f in splits)
                      + " both split the list; " + K_N)
    if splits:
        return splits[0]
    if found:
        return found[0]
    return ShardFound(1, 1, "", "no job array or parallel pipeline job found (Slurm, PBS Pro, "
                      "LSF, Grid Engine, Azure Pipelines)")


def read_pbs_range_with_qstat(array_id: str, timeout: float = 30.0) -> str:
    """``array_indices_submitted`` of PBS array ``array_id``, read with ``qstat -f`` (the only
    place PBS Pro exposes it); OSError with the reason when qstat is missing, slow or says
    nothing of it. Output is bounded (1 MiB) and never trusted beyond the one attribute."""
    import subprocess  # (only a PBS Pro subjob with --shard auto needs it)

    if not re.fullmatch(r"\d{1,20}\[\][\w.\-]{0,255}", array_id):
        raise OSError(f"PBS_ARRAY_ID={array_id[:80]!r} is not an array id like 1234[].server")
    try:
        done = subprocess.run(["qstat", "-f", array_id], capture_output=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise OSError("qstat not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise OSError(f"qstat gave no answer in {timeout:g} s") from None
    if done.returncode != 0:
        why = done.stderr[:200].decode(errors="replace").strip().splitlines()
        raise OSError(f"qstat exit {done.returncode}" + (f": {why[0]}" if why else ""))
    for line in done.stdout[: 1 << 20].decode(errors="replace").splitlines():
        key, eq, value = line.strip().partition("=")
        if eq and key.strip() == "array_indices_submitted":
            return value.strip()
    raise OSError("its output has no array_indices_submitted")


__all__ = ["POSITION_VAR", "TOTAL_VAR", "ShardFound", "detect", "lattice_position",
           "parse_range", "read_pbs_range_with_qstat"]
