"""The ids a page writer has stored into a hub that held no model when it began: a new store's first sweep.

There every lookup of a page's stored models misses (7 % of the writer's CPU at 1M, one probe of the primary key's
index an id). :class:`WrittenIds` is a Bloom filter of the ids written since: an id it has not seen is in no stored
row and is not looked up; an id it may have seen (written before, or a false positive) is looked up as before. It
must see every id stored into its hub while it is used, or a stored model would be taken for a new one: the page
writer adds each page's ids before the page's transaction commits, and stops using it after any write it did not
make through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: The filter's bits (4 MB): two bits an id, so about 3 % of unseen ids are looked up among 3M seen, 0.4 % among 1M.
BITS = 1 << 25
_MASK = BITS - 1


class WrittenIds:
    """A Bloom filter of ids (two bits each from the interpreter's string hash, which is why it lives in one
    process only)."""

    def __init__(self) -> None:
        self._bits = bytearray(BITS >> 3)

    def add(self, ids: Iterable[str]) -> None:
        """Remember ``ids`` as written."""
        bits = self._bits
        for model_id in ids:
            digest = hash(model_id)
            first, second = digest & _MASK, (digest >> 32) & _MASK
            bits[first >> 3] |= 1 << (first & 7)
            bits[second >> 3] |= 1 << (second & 7)

    def maybe_written(self, ids: Sequence[str]) -> list[str]:
        """Those of ``ids`` that may have been written (the others certainly were not), in order."""
        bits = self._bits
        return [model_id for model_id in ids
                if bits[(first := (digest := hash(model_id)) & _MASK) >> 3] >> (first & 7) & 1
                and bits[(second := (digest >> 32) & _MASK) >> 3] >> (second & 7) & 1]
