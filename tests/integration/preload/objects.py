"""Builds and checks large Python objects; run by the shim's integration test with and without
LD_PRELOAD=libtier-preload.so, whose stdout must be identical. Everything is deterministic."""
import array
import hashlib
import sys


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def main():
    out = []
    # Large bytes objects (one malloc each, several MiB).
    blobs = [bytes([i % 251]) * (3 << 20) + bytes(range(256)) * 4096 for i in range(8)]
    for b in blobs:
        assert b[0] == b[(3 << 20) - 1] and b[-1] == 255
    out.append(("blobs", len(blobs), sum(len(b) for b in blobs), digest(b"".join(blobs))))
    # A bytearray grown by appending (realloc through every size class up to 16 MiB).
    ba = bytearray()
    for i in range(4096):
        ba += bytes([i % 256]) * 4096
    assert len(ba) == 16 << 20
    out.append(("bytearray", len(ba), digest(ba)))
    # A big list of ints and its sort; a dict and a set of 100k entries (their tables are
    # single large allocations that are resized repeatedly).
    xs = [(i * 7919) % 1000003 for i in range(400_000)]
    xs.sort()
    assert all(xs[i] <= xs[i + 1] for i in range(0, len(xs) - 1, 997))
    out.append(("list", len(xs), sum(xs), xs[12345]))
    d = {f"key{i}": i * i for i in range(100_000)}
    s = set(range(0, 200_000, 2))
    assert d["key99999"] == 99999 ** 2 and 199998 in s
    out.append(("dict", len(d), sum(d.values()) % 1_000_000_007, len(s)))
    # array.array and memoryview slices of a large buffer.
    a = array.array("d", (float(i) / 3 for i in range(600_000)))
    mv = memoryview(a).cast("B")
    out.append(("array", len(a), digest(mv[: 1 << 20]), round(sum(a[::1000]), 6)))
    # A large str built by join and its encoding.
    text = "".join(f"line {i}: {'x' * (i % 50)}\n" for i in range(60_000))
    out.append(("str", len(text), digest(text.encode())))
    # Free and rebuild: the same sizes again, reusing freed memory.
    del blobs, ba, xs, d, s, a, mv, text
    again = [bytearray(5 << 20) for _ in range(6)]
    for i, b in enumerate(again):
        b[::4096] = bytes([i]) * len(b[::4096])
    out.append(("again", sum(sum(b[::4096]) for b in again)))
    for row in out:
        print(*row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
