"""Allocations under policies, lent to numpy without a copy, and never freed under a view."""

import gc

import pytest

import tier
from conftest import MiB, node_of_kind

np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")


@pytest.mark.parametrize("kind", ["hbm", "dram", "cxl", "cxl-pool"])
def test_alloc_on_a_named_tier_is_there(rt, kind):
    node = node_of_kind(rt, kind)
    a = rt.alloc(4 * MiB, f"bind={kind}")
    assert a.policy == f"bind={kind}"
    np.frombuffer(a, dtype=np.uint8)[:] = 0x5A  # every page faulted in
    w = rt.where(a)
    assert w.node == node, w
    assert w[node] == 4 * MiB and w.not_resident == 0
    assert rt.owns(a) and rt.owns(a.address)
    a.free()


def test_small_allocations_are_placed_too(rt):
    cxl = node_of_kind(rt, "cxl")
    a = rt.alloc(4096, "bind=cxl")
    memoryview(a)[:] = b"x" * 4096
    assert rt.where(a).node == cxl
    assert a.usable_size >= 4096


def test_numpy_view_shares_the_memory(rt):
    a = rt.alloc(1 * MiB, "bind=dram")
    x = np.frombuffer(a, dtype=np.float32)
    assert x.size == MiB // 4
    assert x.ctypes.data == a.address  # no copy: the array is Tier's memory
    x[:] = np.arange(x.size, dtype=np.float32)
    m = memoryview(a).cast("f")
    assert m[12345] == 12345.0  # written through numpy, read through another view
    m[7] = -1.0
    assert x[7] == -1.0  # and back
    assert a.exports == 2
    del m, x


def test_free_is_refused_while_a_view_lives(rt):
    a = rt.alloc(2 * MiB)
    x = np.frombuffer(a, dtype=np.int64)
    y = x[10:20]  # a slice keeps the view alive through its base
    del x
    with pytest.raises(BufferError, match="1 view"):
        a.free()
    assert not a.freed
    y[:] = 3  # still valid memory
    del y
    a.free()
    assert a.freed and a.exports == 0
    a.free()  # a second free is harmless


def test_freed_memory_lends_no_view(rt):
    a = rt.alloc(4096)
    a.free()
    with pytest.raises(ValueError, match="freed"):
        np.frombuffer(a, dtype=np.uint8)
    with pytest.raises(ValueError, match="freed"):
        memoryview(a)
    with pytest.raises(ValueError, match="freed"):
        a.address
    with pytest.raises(ValueError):
        rt.where(a)


def test_context_manager_frees(rt):
    dram = node_of_kind(rt, "dram")
    before = rt.node_stats(dram).allocations
    with rt.alloc(3 * MiB, "bind=dram") as a:
        assert rt.node_stats(dram).allocations == before + 1
    assert a.freed
    assert rt.node_stats(dram).allocations == before


def test_context_manager_exit_refuses_under_a_view(rt):
    with pytest.raises(BufferError):
        with rt.alloc(4096) as a:
            x = np.frombuffer(a, dtype=np.uint8)
    del x
    a.free()


def test_collected_allocations_are_freed(rt):
    cxl = node_of_kind(rt, "cxl")
    before = rt.node_stats(cxl).allocations
    a = rt.alloc(2 * MiB, "bind=cxl")
    assert rt.node_stats(cxl).allocations == before + 1
    del a
    gc.collect()
    assert rt.node_stats(cxl).allocations == before


def test_runtime_outlives_its_allocations():
    a = tier.Runtime("default").alloc(2 * MiB)  # the Runtime object is gone at once
    x = np.frombuffer(a, dtype=np.uint8)
    x[:] = 9
    assert x.sum() == 9 * 2 * MiB
    del x
    a.free()


def test_zero_alignment_realloc(rt):
    z = rt.alloc(3 * MiB, zero=True)
    assert not np.frombuffer(z, dtype=np.uint8).any()
    al = rt.alloc(1000, alignment=1 << 16, zero=True)
    assert al.address % (1 << 16) == 0

    r = rt.alloc(4096, "bind=dram")
    memoryview(r)[:4] = b"tier"
    x = np.frombuffer(r, dtype=np.uint8)
    with pytest.raises(BufferError):
        r.realloc(8192)
    del x
    r.realloc(4 * MiB, "bind=cxl")  # crosses tiers with its contents
    assert bytes(memoryview(r)[:4]) == b"tier"
    assert len(r) == 4 * MiB and r.policy == "bind=cxl"
    np.frombuffer(r, dtype=np.uint8)[4:] = 1
    assert rt.where(r).node == node_of_kind(rt, "cxl")
