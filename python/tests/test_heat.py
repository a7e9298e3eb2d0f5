"""heat.h through Python: regions, touches, pins, epochs and the agent thread; moves keep the
bytes under numpy views."""

import threading
import time

import pytest

from conftest import MiB, heat_until_on, node_of_kind

np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")


def test_hot_region_is_promoted_and_cold_chunks_stay(rt):
    hbm, cxl = node_of_kind(rt, "hbm"), node_of_kind(rt, "cxl")
    a = rt.alloc(16 * MiB, "bind=cxl")
    x = np.frombuffer(a, dtype=np.uint32)
    x[:] = np.arange(x.size, dtype=np.uint32)
    with rt.register(a) as region:
        assert region.registered and region.size == 16 * MiB
        hot = memoryview(a)[: 4 * MiB]  # the first two chunks only
        epochs = heat_until_on(rt, hot, hbm)
        assert epochs is not None and epochs <= 3
        assert rt.where(a, 16 * MiB)[hbm] == 4 * MiB
        assert rt.where(memoryview(a)[4 * MiB :])[cxl] == 12 * MiB
        del hot
        st = rt.agent_stats()
        assert st.promotions == 2 and st.bytes_moved == 4 * MiB
        assert st.regions == 1 and st.mover == "emulated" and st.policy == "heat"
    assert not region.registered
    assert np.array_equal(x, np.arange(x.size, dtype=np.uint32))


def test_a_region_holds_its_buffer(rt):
    a = rt.alloc(4 * MiB, "bind=cxl")
    region = rt.register(a, group="whole")
    with pytest.raises(BufferError):
        a.free()  # heat.h: unregister before freeing
    region.unregister()
    region.unregister()  # harmless twice
    a.free()


def test_region_by_address_and_pins(rt):
    hbm, cxl = node_of_kind(rt, "hbm"), node_of_kind(rt, "cxl")
    a = rt.alloc(4 * MiB, "bind=cxl")
    memoryview(a)[:] = b"\x07" * len(a)
    region = rt.register(a.address, 4 * MiB, group=2 * MiB)
    rt.pin(a.address, 2 * MiB)  # the first chunk never moves
    for _ in range(5):
        rt.touch(a, reads=1000)
        rt.epoch()
    assert rt.where(a.address, 2 * MiB)[cxl] == 2 * MiB
    assert rt.where(memoryview(a)[2 * MiB :])[hbm] == 2 * MiB
    rt.unpin(a.address, 2 * MiB)
    assert heat_until_on(rt, a, hbm) is not None
    assert bytes(memoryview(a)[::4096]) == b"\x07" * 1024
    region.unregister()
    a.free()


def test_agent_thread_moves_under_a_writer(rt):
    hbm = node_of_kind(rt, "hbm")
    a = rt.alloc(8 * MiB, "bind=cxl")
    x = np.frombuffer(a, dtype=np.int64)
    x[:] = 0
    region = rt.register(a)
    rt.start_agent(period_ms=10)
    assert rt.agent_stats().running
    stop = threading.Event()
    errors = []

    def writer():
        # Writes into pages the agent is relocating wait in Tier's fault handler (without the
        # GIL) and then land in the new pages: no increment may be lost.
        n = 0
        while not stop.is_set():
            n += 1
            x[::512] += 1
            if not (x[::512] == n).all():
                errors.append(n)
                return

    w = threading.Thread(target=writer)
    w.start()
    deadline = time.monotonic() + 20
    while rt.where(a)[hbm] < 8 * MiB and time.monotonic() < deadline:
        rt.touch(a, reads=1000)
        time.sleep(0.01)
    stop.set()
    w.join()
    rt.stop_agent()
    assert not rt.agent_stats().running
    assert not errors, errors
    assert rt.where(a)[hbm] == 8 * MiB
    assert rt.agent_stats().epochs > 0
    region.unregister()
