"""flush/dedup.py's claim holds: a false duplicate among 10**9 distinct paths has a chance
below 10**-12 (birthday bound over the digest's real width), two digests that share their
low 64 bits are two entries, and the table stays a flat array of a few words per entry.
"""

from __future__ import annotations

from hpccache_cli.flush import dedup
from hpccache_cli.flush.dedup import DigestSet, digest


def birthday_bound(n: int, bits: int) -> float:
    """Upper bound on the chance that ``n`` uniform ``bits``-bit values are not distinct."""
    return n * (n - 1) / 2 / 2**bits


def test_a_billion_paths_have_a_false_duplicate_chance_below_one_in_a_trillion() -> None:
    width = max(digest(b"e", f"p{i}".encode()).bit_length() for i in range(2000))
    assert width > 120  # the digests really are that wide, not just the constant
    assert width <= dedup.DIGEST_BITS
    assert birthday_bound(10**9, dedup.DIGEST_BITS) < 1e-12
    assert birthday_bound(10**9, 64) > 1 / 40  # what 64 bits gave: about 1 in 37


def test_digests_that_share_their_low_word_are_kept_apart() -> None:
    seen = DigestSet(capacity=4)
    low = digest(b"e", b"a") & (2**64 - 1)
    values = [low | (k << 64) for k in range(1, 200)]  # same slot, different high words
    assert all(seen.add(v) for v in values)
    assert not any(seen.add(v) for v in values)
    assert len(seen) == 199 and (low | (999 << 64)) not in seen


def test_the_table_stays_flat() -> None:
    seen = DigestSet()
    for i in range(100_000):
        seen.add(digest(b"e", f"dir{i % 200}/file{i}".encode()))
    assert len(seen) == 100_000
    # 2**18 slots of 16 bytes: at most 48 bytes per entry, nothing per path besides.
    assert seen.nbytes <= 48 * len(seen)
