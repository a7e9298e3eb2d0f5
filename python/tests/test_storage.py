"""tier.KvStore: HiCache-shaped get / set / exists by key on the KV pool; pages evicted least
recently used first when the pool needs room, and placed by heat like any block."""

import threading

import pytest

import tier
from conftest import MiB, node_of_kind

np = pytest.importorskip("numpy", reason="numpy is missing (apt-get install python3-numpy)")

PAGE = 2 * MiB


def page(n):
    return np.full(PAGE // 8, n, dtype=np.int64)


@pytest.fixture
def store(rt):
    s = tier.KvStore(rt, PAGE, 4)
    yield s
    s.close()


def test_set_get_exists(store):
    assert store.set("k0", page(7))
    assert store.exists("k0") and not store.exists("nope")
    out = store.get("k0", np.empty(PAGE // 8, dtype=np.int64))
    assert (out == 7).all()
    raw = store.get("k0")  # no target: a new bytearray
    assert isinstance(raw, bytearray) and len(raw) == PAGE
    assert np.frombuffer(raw, dtype=np.int64)[123] == 7
    assert store.get("nope") is None
    assert store.set("small", b"hello")
    assert store.get("small") == bytearray(b"hello")
    st = store.get_stats()
    assert st["hits"] == 3 and st["misses"] == 1 and st["sets"] == 2 and st["stored"] == 2


def test_a_stored_key_is_kept(store):
    assert store.set("k", page(1))
    assert store.set("k", page(2))  # keys name content: the first page stays
    assert (np.frombuffer(store.get("k"), dtype=np.int64) == 1).all()
    assert store.get_stats()["sets"] == 1


def test_batches_and_the_leading_prefix(store):
    assert store.batch_set(["a", "b", "d"], [page(1), page(2), page(4)])
    assert store.batch_exists(["a", "b", "c", "d"]) == 2  # HiCache: leading hits
    assert store.batch_exists(["x", "a"]) == 0
    got = store.batch_get(["a", "c", "d"])
    assert got[1] is None
    assert np.frombuffer(got[0], dtype=np.int64)[0] == 1
    assert np.frombuffer(got[2], dtype=np.int64)[0] == 4
    targets = [np.zeros(PAGE // 8, dtype=np.int64) for _ in range(2)]
    store.batch_get(["b", "d"], target_locations=targets)
    assert targets[0][5] == 2 and targets[1][5] == 4


def test_least_recently_used_pages_are_evicted(store):
    for i in range(4):
        assert store.set(f"k{i}", page(i))
    store.get("k0")  # now the most recently used
    assert store.set("k4", page(4)) and store.set("k5", page(5))  # the pool is full: two go
    assert [store.exists(f"k{i}") for i in range(6)] == [True, False, False, True, True, True]
    assert store.get("k1") is None
    assert (np.frombuffer(store.get("k0"), dtype=np.int64) == 0).all()
    assert (np.frombuffer(store.get("k5"), dtype=np.int64) == 5).all()
    st = store.get_stats()
    assert st["evictions"] == 2 and st["stored"] == 4


def test_torch_pages(store):
    torch = pytest.importorskip("torch", reason="torch is missing (apt-get install python3-torch)")
    kv = torch.arange(PAGE // 2, dtype=torch.bfloat16).reshape(2, -1)  # numpy has no bfloat16
    assert store.set("t", kv)
    out = torch.empty_like(kv)
    assert store.get("t", out) is out
    assert torch.equal(out, kv)
    with pytest.raises(ValueError, match="contiguous"):
        store.set("u", kv.t())


def test_clear(store):
    store.set("a", page(1))
    store.clear()
    assert not store.exists("a")
    assert store.set("a", page(2)) and store.get_stats()["stored"] == 1


def test_bad_values(store):
    with pytest.raises(ValueError, match="exceeds page_bytes"):
        store.set("big", np.zeros(PAGE + 1, dtype=np.uint8))
    store.set("a", page(1))
    with pytest.raises(ValueError, match="target holds"):
        store.get("a", bytearray(16))
    with pytest.raises(TypeError, match="writable"):
        store.get("a", bytes(PAGE))
    with pytest.raises(TypeError):
        store.set("a")
    with pytest.raises(ValueError, match="one value"):
        store.batch_set(["a", "b"], [page(1)])
    with pytest.raises(ValueError, match="C-contiguous"):
        store.set("s", np.zeros((64, 64))[:, ::2])


def test_hot_pages_move_up_and_keep_their_bytes(rt):
    hbm = node_of_kind(rt, "hbm")
    s = tier.KvStore(rt, PAGE, 8, policy="bind=cxl")
    for i in range(8):
        s.set(f"p{i}", page(i))
    assert s.get_stats()["pages_on_tier"][2] == 8  # all on CXL
    for _ in range(10):
        for _ in range(50):
            s.get("p3")  # the hot page: each get is a read touch
        rt.epoch()
    block = s.pool.lookup([tier.storage._key_hash("p3")])
    try:
        assert s.pool.info(block[0]).node == hbm
    finally:
        s.pool.release(block)
    assert s.get_stats()["pages_on_tier"][2] < 8
    for i in range(8):
        assert (np.frombuffer(s.get(f"p{i}"), dtype=np.int64) == i).all()
    s.close()


def test_threads(rt):
    s = tier.KvStore(rt, PAGE, 16)
    errors = []

    def worker(t):
        for i in range(20):
            k = f"t{t}-{i % 4}"
            s.set(k, page(t * 100 + i % 4))
            got = s.get(k)
            if got is not None and np.frombuffer(got, dtype=np.int64)[0] != t * 100 + i % 4:
                errors.append((k, np.frombuffer(got, dtype=np.int64)[0]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert s.batch_exists([f"t0-{i}" for i in range(4)]) == 4
    s.close()
