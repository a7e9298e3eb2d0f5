"""torch.frombuffer views Tier memory without a copy; the view keeps the memory from being
freed, and its values stay right while the agent moves the bytes between tiers."""

import gc

import pytest

from conftest import MiB, heat_until_on, leave_room, node_of_kind

torch = pytest.importorskip("torch", reason="torch is missing (apt-get install python3-torch)")
np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")


def test_torch_and_numpy_share_the_allocation(rt):
    a = rt.alloc(2 * MiB, "bind=dram")
    t = torch.frombuffer(a, dtype=torch.float32)
    x = np.frombuffer(a, dtype=np.float32)
    assert t.data_ptr() == x.ctypes.data == a.address  # both are Tier's memory
    t[:] = torch.arange(t.numel(), dtype=torch.float32)
    assert x[1000] == 1000.0  # written through torch, read through numpy
    x[5] = 42.5
    assert t[5].item() == 42.5  # and back
    assert a.exports == 2


def test_a_tensor_alone_keeps_the_memory(rt):
    # torch.frombuffer releases the Py_buffer at once and keeps only view.obj: the lease.
    a = rt.alloc(1 * MiB)
    t = torch.frombuffer(a, dtype=torch.int32)
    assert a.exports == 1
    with pytest.raises(BufferError):
        a.free()
    v = t[100:200]  # a view of the tensor shares its storage, and so the lease
    del t
    gc.collect()
    with pytest.raises(BufferError):
        a.free()
    v.fill_(7)
    del v
    gc.collect()
    assert a.exports == 0
    a.free()


def test_values_survive_forced_moves(rt):
    hbm = node_of_kind(rt, "hbm")
    a = rt.alloc(8 * MiB, "bind=cxl")
    t = torch.frombuffer(a, dtype=torch.int64)
    expect = torch.arange(t.numel(), dtype=torch.int64) * 3 + 1
    t.copy_(expect)
    region = rt.register(a)
    rt.set_policy("heat")

    # Hot: promoted from CXL to HBM, moved in place under the tensor.
    assert heat_until_on(rt, a, hbm) is not None, rt.where(a)
    assert torch.equal(t, expect)
    t[::4096] += 1  # writes through the tensor land in the moved pages
    expect[::4096] += 1
    assert np.array_equal(np.frombuffer(a, dtype=np.int64), expect.numpy())

    # Cold, with HBM full: a hotter allocation takes its place, so it is demoted.
    leave_room(rt, hbm, 0)
    b = rt.alloc(8 * MiB, "bind=cxl")
    memoryview(b)[:] = b"\x01" * len(b)
    with rt.register(b):
        for _ in range(10):
            if rt.where(a)[hbm] == 0:
                break
            rt.touch(b, reads=100000)
            assert rt.epoch().pages_failed == 0
        assert rt.where(a)[hbm] == 0, (rt.where(a), rt.where(b))  # `a` moved down for `b`
        assert rt.where(b)[hbm] > 0
    assert rt.agent_stats().demotions >= 4  # every 2 MiB chunk of `a`
    assert torch.equal(t, expect)
    assert sum(rt.where(a).nodes.values()) == 8 * MiB

    region.unregister()
    del t
    gc.collect()
    a.free()
    b.free()
