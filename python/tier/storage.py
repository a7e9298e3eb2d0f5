"""KvStore: a key-value store of KV-cache pages on Tier's KV block pool, shaped like the storage
backend of SGLang's HiCache (get / set / exists and their batch forms, batch_exists counting the
leading hits), so an engine's host tier can live on HBM, DRAM and CXL and be placed by heat.

One page is one pool block. A stored page is a *published* block (its key's hash) that holds
no reference: the pool keeps it findable and reuses the least recently released ones when it
needs room, so the store evicts by itself and never fails for lack of room while nothing is
being copied. Each copy in or out pins its block, touches it (writes or reads: the heat that
places it) and releases it, as docs/kv.md's HiCache mapping does.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, List, Optional, Sequence

from ._tier import KvPool, Runtime, TierError


def _key_hash(key: str) -> int:
    # The pool indexes 64-bit hashes. Keys are content hashes already (HiCache's are SHA-256
    # hex strings), so this only has to fold them to 64 bits; a collision is caught by the
    # store's own record of each block's key.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


def _bytes_of(obj: Any, writable: bool) -> memoryview:
    """A flat byte view of a buffer or a CPU torch tensor (no copy)."""
    if type(obj).__module__.startswith("torch") and hasattr(obj, "is_contiguous"):
        import torch  # loaded already: obj is one of its tensors

        if obj.device.type != "cpu":
            raise TypeError(f"a KvStore page must be in host memory, not on {obj.device}")
        if not obj.is_contiguous():
            raise ValueError("a KvStore page must be a contiguous tensor")
        # As bytes, so any dtype (bfloat16 too, which numpy lacks) goes through numpy's buffer.
        obj = obj.detach().reshape(-1).view(torch.uint8).numpy()
    m = memoryview(obj)
    if not m.c_contiguous:
        raise ValueError("a KvStore page must be C-contiguous")
    if writable and m.readonly:
        raise TypeError("the target of a get must be writable")
    return m.cast("B")


class KvStore:
    """Pages of up to `page_bytes` stored by key on a KvPool of `max_pages` blocks.

    KvStore(runtime, page_bytes, max_pages, policy=None) places the pool's memory by `policy`
    (None: preferred on the fastest tier, falling down the ranking) in one slab, and the agent
    (runtime.start_agent, or tierd) moves hot and cold pages between tiers. Thread-safe.
    """

    def __init__(
        self,
        runtime: Runtime,
        page_bytes: int,
        max_pages: int,
        *,
        policy: Optional[str] = None,
    ) -> None:
        self._runtime = runtime
        self._page_bytes = page_bytes
        self._max_pages = max_pages
        self._policy = policy
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        # The key and length of the content each block was last published with. A block reused
        # for new content gets its new key here, so a stale or colliding hash is seen as a miss.
        self._key_of: dict[int, str] = {}
        self._len_of: dict[int, int] = {}
        self._hits = self._misses = self._sets = self._set_failures = 0

    def _new_pool(self) -> KvPool:
        return self._runtime.kv_pool(
            self._max_pages,
            self._page_bytes,
            blocks_per_slab=self._max_pages,
            policy=self._policy,
        )

    @property
    def pool(self) -> KvPool:
        """The KV pool behind the store (for its statistics and placement)."""
        return self._pool

    @property
    def page_bytes(self) -> int:
        return self._page_bytes

    # ---- lookups (the lock is held) -------------------------------------------------------

    def _find(self, keys: Sequence[str]) -> List[int]:
        """The blocks of the longest stored prefix of `keys`, each with one reference taken."""
        found = self._pool.lookup([_key_hash(k) for k in keys])
        good = 0
        while good < len(found) and self._key_of.get(found[good]) == keys[good]:
            good += 1
        if good < len(found):
            self._pool.release(found[good:])
        return found[:good]

    # ---- HiCacheStorage -------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        return self.batch_exists([key]) == 1

    def batch_exists(self, keys: List[str], extra_info: Any = None) -> int:
        """How many keys, from the first, are stored (HiCache's longest-prefix answer)."""
        with self._lock:
            found = self._find(keys)
            if found:
                self._pool.release(found)
            return len(found)

    def set(
        self,
        key: str,
        value: Optional[Any] = None,
        target_location: Optional[Any] = None,
        target_sizes: Optional[Any] = None,
    ) -> bool:
        """Stores `value` (a buffer or a CPU tensor of at most page_bytes; or target_location,
        the page in host memory, for HiCache's zero-copy callers) under `key`. A key stored
        already is kept as it is (keys name content). False when the pool has no block to give
        (every block in use by a copy) or on a hash collision."""
        src = value if value is not None else target_location
        if src is None:
            raise TypeError("set needs a value (or a target_location)")
        data = _bytes_of(src, writable=False)
        if target_sizes is not None:
            data = data[: int(target_sizes)]
        if len(data) > self._page_bytes:
            raise ValueError(f"a page of {len(data)} bytes exceeds page_bytes {self._page_bytes}")
        with self._lock:
            hit = self._find([key])
            if hit:
                self._pool.release(hit)
                return True
            try:
                block = self._pool.alloc(1)[0]
            except TierError:
                self._set_failures += 1
                return False
            try:
                self._pool.pin([block])
                try:
                    memoryview(self._pool[block])[: len(data)] = data
                finally:
                    self._pool.unpin([block])
                self._pool.touch([block], reads=0, writes=1)
                holder = self._pool.publish(block, _key_hash(key))
                if holder != block:  # another key with the same 64-bit hash holds it
                    self._set_failures += 1
                    return False
                self._key_of[block] = key
                self._len_of[block] = len(data)
                self._sets += 1
                return True
            finally:
                self._pool.release([block])  # published: stays stored; else it is free again

    def batch_set(
        self,
        keys: List[str],
        values: Optional[Any] = None,
        target_locations: Optional[Any] = None,
        target_sizes: Optional[Any] = None,
    ) -> bool:
        """set() for each key; True when all were stored."""
        srcs = values if values is not None else target_locations
        if srcs is None or len(srcs) != len(keys):
            raise ValueError("batch_set needs one value (or target_location) per key")
        sizes = target_sizes if target_sizes is not None else [None] * len(keys)
        ok = True
        for k, v, n in zip(keys, srcs, sizes):
            ok = self.set(k, v, target_sizes=n) and ok
        return ok

    def get(
        self,
        key: str,
        target_location: Optional[Any] = None,
        target_sizes: Optional[Any] = None,
    ) -> Optional[Any]:
        """The page stored under `key`, copied into target_location (a writable buffer or CPU
        tensor, returned) or into a new bytearray; None on a miss. A page is copied out rather
        than lent: a stored block has no reference, and the pool may reuse it at any time."""
        with self._lock:
            hit = self._find([key])
            if not hit:
                self._misses += 1
                return None
            block = hit[0]
            try:
                n = self._len_of[block]
                if target_sizes is not None:
                    n = min(n, int(target_sizes))
                out = target_location if target_location is not None else bytearray(n)
                dst = _bytes_of(out, writable=True)
                if len(dst) < n:
                    raise ValueError(f"the target holds {len(dst)} bytes, the page {n}")
                self._pool.pin([block])
                try:
                    dst[:n] = memoryview(self._pool[block])[:n]
                finally:
                    self._pool.unpin([block])
                self._pool.touch([block], reads=1, writes=0)
                self._hits += 1
                return out
            finally:
                self._pool.release([block])

    def batch_get(
        self,
        keys: List[str],
        target_locations: Optional[Any] = None,
        target_sizes: Optional[Any] = None,
    ) -> List[Optional[Any]]:
        """get() for each key: the pages, None for each miss."""
        targets = target_locations if target_locations is not None else [None] * len(keys)
        sizes = target_sizes if target_sizes is not None else [None] * len(keys)
        if len(targets) != len(keys) or len(sizes) != len(keys):
            raise ValueError("batch_get needs one target_location and size per key")
        return [self.get(k, t, n) for k, t, n in zip(keys, targets, sizes)]

    def clear(self) -> None:
        """Forgets every page (the pool is made anew)."""
        with self._lock:
            self._pool.close()
            self._pool = self._new_pool()
            self._key_of.clear()
            self._len_of.clear()

    def get_stats(self) -> dict:
        """Hits, misses, pages set and refused, and the pool's counts (stored pages are its
        cached blocks; evictions are pages it reused for new content)."""
        s = self._pool.stats()
        return {
            "hits": self._hits,
            "misses": self._misses,
            "sets": self._sets,
            "set_failures": self._set_failures,
            "stored": s.cached,
            "evictions": s.evictions,
            "pages_on_tier": s.blocks_on_tier,
        }

    def close(self) -> None:
        with self._lock:
            self._pool.close()

    def __enter__(self) -> KvStore:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()
