"""The package imports from the build tree, and a runtime describes its topology."""

import tier
from conftest import node_of_kind


def test_import_and_nodes():
    nodes = tier.nodes()
    assert [n.kind for n in nodes] == ["hbm", "dram", "cxl", "cxl-pool"]
    assert [n.tier for n in nodes] == [0, 1, 2, 3]
    for n in nodes:
        assert isinstance(n, tier.NodeInfo)
        assert n.capacity > 0 and n.emulated
        assert n.name and n.as_dict()["id"] == n.id
    assert "kind='hbm'" in repr(nodes[0])
    assert tier.__version__ == tier.version() == "0.1.0"


def test_runtime_topology(rt):
    assert rt.emulated
    assert rt.topology_source == "preset default"
    assert rt.node_count == 4 and rt.tier_count == 4
    hbm = node_of_kind(rt, "hbm")
    assert rt.node(hbm).kind == "hbm"
    assert rt.node(hbm).read_latency_ns > 0


def test_policy_text(rt):
    assert rt.parse_policy("bind=hbm") == "bind=hbm"
    assert rt.parse_policy("weighted=dram:3,cxl:1").startswith("weighted=")


def test_stats_and_capacity(rt):
    dram = node_of_kind(rt, "dram")
    before = rt.node_stats(dram)
    with rt.alloc(4 << 20, "bind=dram") as a:
        memoryview(a)[:] = b"\1" * len(a)
        s = rt.node_stats(dram)
        assert s.allocated >= before.allocated + len(a)
        assert s.allocations == before.allocations + 1
        assert rt.tier_stats(rt.node(dram).tier).node == -1
    rt.set_capacity(dram, 64 << 20)
    assert rt.node_stats(dram).capacity == 64 << 20
    assert rt.node(dram).capacity == 64 << 20


def test_default_runtime_is_shared():
    a = tier.default_runtime().alloc(64)
    assert tier.default_runtime().owns(a)
    a.free()
