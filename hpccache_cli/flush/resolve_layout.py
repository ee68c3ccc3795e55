"""``--cache``: namespace paths (and client paths of that cache) -> junction -> Target.

With a :class:`~hpccache_cli.layout.CacheLayout` (from ARM or the resolution cache) every path is
placed on its junction by the longest namespace-path prefix; the Target then MOUNTs that
junction and LOOKUPs the rest component by component, exactly like flush_file.py's EXPORT, on
*all* of the cache's mount addresses (the engine spreads files over them). Client paths are
accepted too (mixed freely with namespace paths): :class:`~hpccache_cli.paths.InputResolver`
tells the kinds apart and translates client paths through the mount table, and ``enrich``
checks the mount really is this cache. Knowing the junction also gives the storage target, so
files on targets whose usage model does not cache writes are skipped (nothing can be dirty)
unless ``force``, and the ``--fallback`` sink can name the target of a failed file.

Resolution is string work plus, for client paths that exist, one ``lstat``; no network call,
with one exception: a path under no junction of a layout that came from the resolution cache
(up to 5 minutes old) makes the resolver ask ARM once more, since the namespace may have
changed since; the reason of any path still under no junction then says Azure was asked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping

from hpccache_cli.errors import UserError, fill_fields
from hpccache_cli.flush.errors import FlushOptionError, NoMountAddresses
from hpccache_cli.flush.resolve import (
    NUL_REJECTED,
    PathRejected,
    Target,
    normalise_export,
    rel_under_export,
)
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.layout import CacheLayout
from hpccache_cli.paths import (
    Enrichment,
    InputResolver,
    MountTable,
    PathError,
    classify_path,
    enrich,
    matches_any,
)
from hpccache_cli.paths.mountinfo import normpath

#: The reason the issue asks for, verbatim; details follow in parentheses.
NOT_WRITE_CACHED = "writes go straight through; nothing to flush"
#: Storage-target states (ARM's ``state``) in which the cache answers its files "busy, try
#: later" (NFS3ERR_JUKEBOX) until they change: named up front rather than waited in silence.
SUSPENDED, FLUSHING = "suspended", "flushing"


def _failed(raw: bytes, reason: str, kind: str) -> FileResult:
    return FileResult(raw, Outcome.FAILED, reason, kind=kind)


class LayoutResolver:
    """Namespace or client path -> Target on the junction that holds it (``--cache``).

    ``path_kind`` forces how paths are read: ``namespace``, ``local``, or None to recognise
    each (see :func:`hpccache_cli.paths.classify_path`). ``table`` is the client's mount table;
    without one only namespace paths can be placed (no mounts to translate through).
    ``refresh`` reads the layout again (from ARM): given, a path under no junction of a layout
    that did not come from ARM just now is placed once more on a fresh one, and ``on_note``
    hears that it happened (the library itself prints nothing).
    """

    def __init__(
        self,
        layout: CacheLayout,
        force: bool = False,
        path_kind: str | None = None,
        *,
        table: MountTable | None = None,
        cwd: str | None = None,
        refresh: Callable[[], CacheLayout] | None = None,
        on_note: Callable[[str], None] | None = None,
        option_names: Mapping[str, str] | None = None,
    ) -> None:
        if path_kind not in (None, "local", "namespace"):
            raise FlushOptionError(
                f"{{path_kind}} {path_kind} means paths relative to {{export}} (with {{ips}}); "
                "with {layout} give namespace or client paths ({path_kind} namespace|local)",
                fields=("path_kind", "export", "ips", "layout"), hint="invalid_choice",
                keywords={"export": "an export", "ips": "ExportResolver",
                          "layout": "a layout"},
            )
        if not layout.mount_addresses and layout.refused_addresses:
            raise NoMountAddresses(
                f"Azure lists no usable mount address for cache {layout.name}: "
                f"{'; '.join(layout.refused_addresses)} (a mount address must be an IP "
                "address); check the cache in Azure, then try again with {refresh}"
            )
        if not layout.mount_addresses:
            raise NoMountAddresses(
                f"Azure reports no mount addresses for cache {layout.name} (is it still being "
                "created, or stopped?); try again with {refresh} once it is running"
            )
        #: How per-path reasons name the keywords (the CLI: its flags); see FieldError.
        self.option_names = option_names
        self.layout = layout
        self.force = force
        self.path_kind = path_kind
        self.addresses = tuple(dict.fromkeys(layout.mount_addresses))
        self.table = table if table is not None else MountTable([], "<no mount table>")
        # One InputResolver per kind: the classification is done here (see _place).
        self._inputs = {k: InputResolver(self.table, layout, k, cwd)
                        for k in ("local", "namespace", "export")}
        self._exports: dict[str, bytes] = {}
        self.cwd = cwd
        self.refresh = refresh
        self.on_note = on_note
        self._checked_note = ""  # set once the layout was read again (see _ask_again)
        self._states = _target_states(layout)
        self._states_checked = layout.source == "arm"  # a cached state is asked again once
        self._told: set[str] = set()  # targets already named in a note
        self._readdressed = False  # fresh_addresses asked Azure (once per run)

    def _adopt(self, layout: CacheLayout) -> None:
        """Use a newer layout of the same cache from now on."""
        self.layout = layout
        if layout.mount_addresses:
            self.addresses = tuple(dict.fromkeys(layout.mount_addresses))
        self._inputs = {k: InputResolver(self.table, layout, k, self.cwd)
                        for k in ("local", "namespace", "export")}
        self._exports = {}
        self._states = _target_states(layout)

    async def fresh_addresses(self, old: tuple[str, ...]) -> tuple[str, ...] | None:
        """None of ``old`` ever answered: when they came from the resolution cache (minutes
        old), read the layout from Azure now (in a thread: the SDK blocks) and return its
        mount addresses if they changed (the resolution cache is rewritten with them).
        Asked once per run; None when Azure cannot say or says the same."""
        import asyncio

        if (self.refresh is None or self._readdressed or self.layout.source == "arm"
                or set(old) != set(self.addresses)):
            return None
        self._readdressed = True
        try:
            fresh = await asyncio.to_thread(self.refresh)
        except UserError:
            return None
        self._adopt(fresh)
        self._states_checked = True
        return self.addresses if set(self.addresses) != set(old) else None

    def _target_state(self, raw: bytes, target: str | None) -> FileResult | None:
        """A file on a storage target Azure reports Suspended fails at once (its calls
        would answer "busy, try later" until the file's timeout); one being Flushing is
        named once in a note, and its files wait (the flush ends by itself). A state read
        from the resolution cache (minutes old) is checked with Azure once first."""
        state = self._states.get(target or "")
        if state not in (SUSPENDED, FLUSHING):
            return None
        if not self._states_checked and self.refresh is not None:
            self._states_checked = True
            with contextlib.suppress(UserError):  # (else the cached state stands)
                self._adopt(self.refresh())
            state = self._states.get(target or "")
        name = f"storage target {target}"
        if state == SUSPENDED:
            return _failed(raw, f"{name} is Suspended in Azure: the cache answers its files "
                                "\"busy, try later\" until it is resumed; resume it, then flush "
                                "again", "suspended")
        if state == FLUSHING and target not in self._told:
            self._told.add(target or "")
            if self.on_note is not None:
                self.on_note(f"{name} is Flushing in Azure (a storage-target flush is running):"
                             " its files may answer \"busy, try later\" until it ends; they "
                             "wait for it (at most their timeout)")
        return None

    def _ask_again(self, raw: bytes, failed: FileResult) -> tuple[Enrichment, str] | FileResult:
        """``raw`` is under no junction of a cached layout: read the layout again once through
        ``refresh`` (the namespace may have changed in the last minutes) and place the path
        again."""
        assert self.refresh is not None
        try:
            fresh = self.refresh()
        except UserError as exc:
            self._checked_note = f" (the cached layout was used; asking Azure again failed: {exc})"
            failed.reason += self._checked_note
            return failed
        changed = fresh.junctions != self.layout.junctions
        self._adopt(fresh)
        if self.on_note is not None:
            self.on_note(
                f"{os.fsdecode(raw)} is under no junction of the cached layout of cache "
                f"{self.layout.name}; asked Azure again: the namespace "
                + ("has changed, using the new one" if changed else "is unchanged"))
        self._checked_note = " (checked with Azure during this run, not only the cached layout)"
        placed = self._place(raw)
        if isinstance(placed, FileResult) and placed.kind == "no-junction":
            placed.reason += self._checked_note
        return placed

    def resolve(self, raw: bytes) -> Target | FileResult:
        placed = self._place(raw)
        if isinstance(placed, FileResult) and placed.kind == "no-junction":
            if self._checked_note:
                placed.reason += self._checked_note
            elif self.refresh is not None and self.layout.source != "arm":
                placed = self._ask_again(raw, placed)
        if isinstance(placed, FileResult):
            return placed
        enrichment, ns = placed
        if self._states:
            stopped = self._target_state(raw, enrichment.storage_target)
            if stopped is not None:
                return stopped
        if not enrichment.caches_writes and not self.force:
            return FileResult(
                raw, Outcome.SKIPPED,
                f"{NOT_WRITE_CACHED} (storage target {enrichment.storage_target} uses usage "
                f"model {enrichment.usage_model}; "
                + fill_fields("{force} flushes anyway)", ("force",), self.option_names,
                              {"force": "force=True"}),
                kind="not-write-cached",
            )
        junction = enrichment.junction or "/"
        export = self._exports.get(junction)
        if export is None:
            export = self._exports[junction] = normalise_export(os.fsencode(junction))
        key = junction.rstrip("/")
        rest = ns[len(key):] if key else ns
        try:
            rel = rel_under_export(os.fsencode(rest))
        except PathRejected as exc:
            return _failed(raw, f"{exc}: refused", "bad-path")
        return Target(self.addresses, export, rel)

    def storage_target(self, raw: bytes) -> str | None:
        """The storage target that holds a path, None when the path does not place (what a
        storage-target flush of a failed file would flush: ``--fallback target-flush``)."""
        placed = self._place(raw)
        return None if isinstance(placed, FileResult) else placed[0].storage_target

    def _place(self, raw: bytes) -> tuple[Enrichment, str] | FileResult:
        """(what the layout says, normalised namespace path), or the failure to report."""
        if b"\0" in raw:
            return _failed(raw, f"{NUL_REJECTED}: refused", "bad-path")
        text = os.fsdecode(raw)
        kind, unplaced = self.path_kind, False
        if kind is None:
            try:
                kind = classify_path(text, self.table, self.layout).value
            except PathError:
                # Neither a client path of this cache nor under a junction: read it as a
                # namespace path, so the reason names the junctions there are.
                kind, unplaced = "namespace", True
        translation = self._inputs[kind].resolve(text)
        if translation.error is not None or translation.namespace_path is None:
            return _failed(raw, translation.error or "no namespace path", "path")
        enrichment = enrich(translation, self.layout)
        if enrichment.error is not None:
            mount = translation.mount
            other = mount is not None and not matches_any(mount, self.layout.mount_addresses)
            reason = enrichment.error
            if unplaced:
                reason += "; nor is it under an NFS mount of the cache on this machine"
            return _failed(raw, reason, "other-cache" if other else "no-junction")
        return enrichment, normpath(translation.namespace_path)


def _target_states(layout: CacheLayout) -> dict[str, str]:
    """Storage target -> its state in lower case, for the targets not plainly serving."""
    return {j.storage_target: (j.target_state or "").lower() for j in layout.junctions
            if (j.target_state or "").lower() in (SUSPENDED, FLUSHING)}
