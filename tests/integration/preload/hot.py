"""Keeps touching one large buffer (placed on CXL by the test's rule) so that the fault sampler
sees it hot and the in-process agent promotes it; prints only what a plain run prints too."""
import time

buf = bytearray(32 << 20)
start = time.monotonic()
passes = 0
# Long enough for many agent epochs (100 ms each): a pass count alone ends in well under a
# second on a quiet machine, two or three epochs, too few for the sampler's heat to repay a
# move. Bounded by time, at least 20 passes.
while passes < 20 or time.monotonic() - start < 3:
    for i in range(0, len(buf), 4096):
        buf[i] = (buf[i] + 1) & 255
    passes += 1
print("consistent", all(v == passes % 256 for v in buf[::4096]))
