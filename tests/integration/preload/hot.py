"""Keeps touching one large buffer (placed on CXL by the test's rule) so that the fault sampler
sees it hot and the in-process agent promotes it; prints only what a plain run prints too."""
import time

buf = bytearray(32 << 20)
start = time.monotonic()
passes = 0
# Enough passes for several agent epochs (100 ms each) even on a loaded machine; bounded.
while passes < 400 and (passes < 20 or time.monotonic() - start < 10):
    for i in range(0, len(buf), 4096):
        buf[i] = (buf[i] + 1) & 255
    passes += 1
print("consistent", all(v == passes % 256 for v in buf[::4096]))
