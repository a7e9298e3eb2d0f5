"""kv.h through Python: blocks, prefix caching by hash, references, pins, sequences, and block
memory lent through the buffer protocol."""

import gc

import pytest

import tier
from conftest import MiB, node_of_kind

np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")


@pytest.fixture
def pool(rt):
    p = rt.kv_pool(8, 2 * MiB, blocks_per_slab=8)
    yield p
    gc.collect()  # views made by a failing test
    p.close()


def test_pool_shape(rt, pool):
    s = pool.stats()
    assert pool.block_bytes == 2 * MiB and pool.block_stride == 2 * MiB
    assert pool.max_blocks == 8 and s.blocks == 8 and s.free == 8 and s.slabs == 1
    tokens = rt.kv_pool(4, block_tokens=16, bytes_per_token=128 * 1024)
    assert tokens.block_bytes == 2 * MiB and tokens.stats().block_tokens == 16
    tokens.close()
    assert isinstance(tier.KvPool(rt, 2, 4096), tier.KvPool)


def test_blocks_lend_their_memory(pool):
    ids = pool.alloc(3)
    assert len(set(ids)) == 3
    blocks = [pool.block(i) for i in ids]
    assert len({b.address for b in blocks}) == 3
    for n, b in enumerate(blocks):
        x = np.frombuffer(b, dtype=np.uint8)
        assert x.size == 2 * MiB and x.ctypes.data == b.address
        x[:] = n + 1
    for n, b in enumerate(blocks):
        assert bytes(memoryview(b)[::65536]) == bytes([n + 1]) * 32
    assert pool[ids[0]].info().state == "in_use"
    assert pool.where(ids) == [0, 0, 0]  # new blocks on the fastest tier
    assert blocks[0].info().tier == 0
    pool.touch(ids, reads=2, writes=1)
    pool.release(ids)


def test_prefix_caching(pool):
    a, b = pool.alloc(2)
    np.frombuffer(pool.block(a), dtype=np.uint8)[:16] = 0xAB
    assert pool.publish(a, 0x1111) == a
    assert pool.publish(b, 0x2222) == b
    c = pool.alloc(1)[0]
    assert pool.publish(c, 0x1111) == a  # an identical block exists: `c` stays private
    pool.release([a, b, c])
    assert pool.info(a).state == "cached" and pool.info(a).published
    assert pool.info(c).state == "free"

    assert pool.lookup([0x1111, 0x2222, 0x3333]) == [a, b]  # the longest published prefix
    assert pool.info(a).refs == 1
    assert bytes(memoryview(pool.block(a))[:16]) == b"\xab" * 16  # the content survived
    assert pool.lookup([0x9999]) == []
    s = pool.stats()
    assert s.lookup_hits == 2 and s.in_use == 2
    pool.retain([a])
    pool.release([a, a, b])


def test_pins_and_full_pool(pool):
    ids = pool.alloc(8)
    with pytest.raises(tier.TierError) as e:
        pool.alloc(1)
    assert e.value.status == tier.Status.ENOMEM and "pool full" in str(e.value)
    assert pool.stats().full == 1

    pool.pin(ids[:1])
    with pytest.raises(tier.TierError) as e:
        pool.release(ids[:1])  # the last reference of a pinned block
    assert e.value.status == tier.Status.EBUSY
    pool.unpin(ids[:1])
    with pytest.raises(tier.TierError) as e:
        pool.unpin(ids[:1])
    assert e.value.status == tier.Status.EINVAL
    pool.release(ids)
    with pytest.raises(tier.TierError):
        pool.release(ids[:1])  # more releases than references


def test_sequences(pool):
    first = pool.seq_extend(7, 2)
    for i, h in zip(first, (11, 12)):
        pool.publish(i, h)
    assert pool.seq_blocks(7) == first
    pool.seq_pin(7)
    pool.seq_touch(7, reads=1, writes=1)
    with pytest.raises(tier.TierError) as e:
        pool.seq_free(7)
    assert e.value.status == tier.Status.EBUSY
    pool.seq_unpin(7)
    pool.seq_free(7)
    with pytest.raises(tier.TierError):
        pool.seq_blocks(7)

    shared = pool.seq_share(8, [11, 12, 13])
    assert shared == first  # the second sequence starts with the cached prefix
    tail = pool.seq_extend(8, 1)
    assert pool.seq_blocks(8) == first + tail
    assert pool.stats().sequences == 1
    pool.seq_free(8)


def test_close_is_refused_while_a_block_is_viewed(rt):
    p = rt.kv_pool(4, 2 * MiB)
    i = p.alloc(1)[0]
    b = p.block(i)
    x = np.frombuffer(b, dtype=np.uint8)
    with pytest.raises(BufferError):
        p.close()  # a view of a block is alive
    del x
    p.release([i])
    with pytest.raises(ValueError, match="free"):
        memoryview(b)  # a free block lends nothing
    p.close()
    assert p.closed
    with pytest.raises(ValueError, match="closed"):
        p.alloc(1)
    with pytest.raises(ValueError, match="closed"):
        memoryview(b)


def test_bad_arguments(rt, pool):
    with pytest.raises(tier.TierError) as e:
        rt.kv_pool(0, 2 * MiB)
    assert e.value.status == tier.Status.EINVAL and "max_blocks" in str(e.value)
    with pytest.raises(tier.TierError):
        pool.info(100)
    with pytest.raises(IndexError):
        pool.block(100)
    with pytest.raises(ValueError):
        pool.release([-1])
    with pytest.raises(TypeError):
        pool.lookup(["x"])
    with pytest.raises(TypeError):
        pool.publish(0, -5)  # hashes are unsigned
    with pytest.raises(ValueError):
        pool.alloc(-1)


def test_pool_policy_places_slabs(rt):
    cxl = node_of_kind(rt, "cxl")
    p = rt.kv_pool(2, 2 * MiB, policy="bind=cxl")
    i = p.alloc(1)[0]
    np.frombuffer(p.block(i), dtype=np.uint8)[:] = 1
    assert p.info(i).node == cxl
    assert rt.where(p.block(i)).node == cxl
    p.release([i])
    p.close()
