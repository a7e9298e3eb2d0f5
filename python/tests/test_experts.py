"""experts.h through Python: registration, routing and prefetch as heat, expert weights lent
through the buffer protocol, and caller memory held while registered."""

import gc

import pytest

import tier
from conftest import MiB, leave_room, node_of_kind

np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")


def test_register_route_prefetch(rt):
    cxl = node_of_kind(rt, "cxl")
    ex = rt.experts(2, 4, policy="bind=cxl", prefetch_weight=3)
    e = ex.register(0, 1, 2 * MiB, read_mostly=True)
    w = np.frombuffer(e, dtype=np.float16)
    assert w.size == MiB and not w.any()  # the set's tensors start zeroed
    w[:] = 0.5
    assert ex.expert(0, 1).address == e.address == w.ctypes.data
    assert bytes(memoryview(ex.expert(0, 1))[:2]) == np.float16(0.5).tobytes()

    ex.route(0, [1], tokens=[5])
    ex.route(0, [1])  # one token each
    ex.prefetch(0, [1])
    ex.touch(0, 1, reads=1, writes=1)
    info = ex.info(0, 1)
    assert info.routed_tokens == 6 and info.routings == 2 and info.prefetches == 1
    assert info.owned and info.read_mostly and info.bytes == 2 * MiB
    assert info.node == cxl
    s = ex.stats()
    assert s.registered == 1 and s.bytes == 2 * MiB and s.experts_on_tier[2] == 1
    del w
    ex.close()


def test_routed_expert_reaches_hbm_intact(rt):
    hbm = node_of_kind(rt, "hbm")
    ex = tier.ExpertSet(rt, 1, 8, policy="bind=cxl")
    experts = [ex.register(0, i, 2 * MiB) for i in range(8)]
    for i, e in enumerate(experts):
        np.frombuffer(e, dtype=np.uint8)[:] = i
    # Room for about two experts (the agent keeps 5% of a node free as headroom).
    leave_room(rt, hbm, 6 * MiB)
    for _ in range(10):
        ex.route(0, [3, 5], tokens=[500, 400])
        ex.route(0, [0, 1, 2, 4, 6, 7])  # one token each: cold
        rt.epoch()
    on_hbm = {i for i in range(8) if ex.info(0, i).node == hbm}
    assert 3 in on_hbm and on_hbm <= {3, 5}, on_hbm  # the favourites, and only they
    assert rt.where(experts[3]).node == hbm
    for i, e in enumerate(experts):
        assert (np.frombuffer(e, dtype=np.uint8) == i).all()  # every byte where it was
    ex.close()


def test_caller_memory_is_held(rt):
    ex = rt.experts(1, 2)
    a = rt.alloc(2 * MiB, "bind=dram")
    memoryview(a)[:3] = b"abc"
    e = ex.register(0, 0, data=a)
    assert e.address == a.address and len(e) == 2 * MiB
    assert not ex.info(0, 0).owned
    with pytest.raises(BufferError):
        a.free()  # the set holds it while it is registered
    ex.unregister(0, 0)
    a.free()
    ex.close()


def test_views_block_unregister_and_close(rt):
    ex = rt.experts(1, 2)
    e = ex.register(0, 0, 2 * MiB)
    x = np.frombuffer(e, dtype=np.uint8)
    with pytest.raises(BufferError):
        ex.unregister(0, 0)
    with pytest.raises(BufferError):
        ex.close()
    del x
    gc.collect()
    ex.unregister(0, 0)
    with pytest.raises(tier.TierError):
        memoryview(e)  # the slot is empty now
    ex.close()
    assert ex.closed
    with pytest.raises(ValueError, match="closed"):
        ex.route(0, [0])


def test_bad_arguments(rt):
    with pytest.raises(tier.TierError) as e:
        rt.experts(0, 4)
    assert e.value.status == tier.Status.EINVAL
    ex = rt.experts(1, 2)
    ex.register(0, 0, 2 * MiB)
    with pytest.raises(tier.TierError) as e:
        ex.register(0, 0, 2 * MiB)  # the slot is taken
    assert e.value.status == tier.Status.EBUSY
    with pytest.raises(tier.TierError):
        ex.register(0, 5, 2 * MiB)  # no such expert
    with pytest.raises(TypeError, match="nbytes"):
        ex.register(0, 1)
    with pytest.raises(tier.TierError) as e:
        ex.route(0, [1])  # not registered
    assert e.value.status == tier.Status.EINVAL
    with pytest.raises(ValueError, match="one entry per expert"):
        ex.route(0, [0], tokens=[1, 2])
    with pytest.raises(IndexError):
        ex.expert(0, 1)
    with pytest.raises(ValueError):
        ex.route(-1, [0])
    with pytest.raises(ValueError, match="exceeds"):
        ex.register(0, 1, 100, data=b"short")
    ex.close()
