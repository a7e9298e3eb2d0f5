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


EXIT_SCRIPT = """
import threading, tier
rt = tier.Runtime("default")
rt.start_agent(period_ms=5)
a = rt.alloc(4 << 20, "bind=cxl")
v = memoryview(a)
v[:] = b"\\1" * len(a)
region = rt.register(a)
pool = rt.kv_pool(4, 2 << 20)
block = memoryview(pool[pool.alloc(1)[0]])
experts = rt.experts(1, 2)
weights = memoryview(experts.register(0, 0, 2 << 20))
def epochs():
    while True:
        rt.touch(a, reads=100)
        rt.epoch()
threading.Thread(target=epochs, daemon=True).start()
print("exiting")
"""


def test_exit_with_work_in_flight():
    # The interpreter exits with the agent running, views alive and a daemon thread inside
    # tier_epoch (without the GIL): finalization ends that thread when it takes the GIL back,
    # which must not abort the process.
    import subprocess
    import sys

    for _ in range(3):
        r = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "exiting"
