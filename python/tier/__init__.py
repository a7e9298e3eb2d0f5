"""Tier for Python: tiered memory (HBM, DRAM, CXL expanders and pools) through libtier's C ABI.

    import numpy, tier
    rt = tier.Runtime()                        # $TIER_TOPOLOGY, else the machine
    a = rt.alloc(1 << 20, "bind=hbm")          # a tier.Allocation
    x = numpy.frombuffer(a, dtype=numpy.float32)   # a view of Tier memory, no copy
    rt.where(a)                                # bytes per node

docs/python.md walks through the API; the _tier extension module holds the bindings.
"""

import enum as _enum

from . import _tier
from ._tier import (
    AgentStats,
    Allocation,
    EpochStats,
    Expert,
    ExpertInfo,
    ExpertSet,
    ExpertsStats,
    KvBlock,
    KvBlockInfo,
    KvPool,
    KvPoolStats,
    NodeInfo,
    NodeStats,
    Region,
    Runtime,
    TierError,
    Where,
    default_runtime,
    strerror,
    version,
)

from .storage import KvStore

__version__ = version()

# tier_status codes by name: TierError.status compares equal to these.
Status = _enum.IntEnum("Status", _tier._status_codes, module=__name__)
Status.__doc__ = "tier_status codes (TIER_OK == 0, errors < 0), as include/tier/tier.h names them."


def nodes():
    """The nodes of the process's default runtime (TIER_TOPOLOGY, else the machine), fastest
    tier first."""
    return default_runtime().nodes()


__all__ = [
    "AgentStats",
    "Allocation",
    "EpochStats",
    "Expert",
    "ExpertInfo",
    "ExpertSet",
    "ExpertsStats",
    "KvBlock",
    "KvBlockInfo",
    "KvPool",
    "KvPoolStats",
    "KvStore",
    "NodeInfo",
    "NodeStats",
    "Region",
    "Runtime",
    "Status",
    "TierError",
    "Where",
    "default_runtime",
    "nodes",
    "strerror",
    "version",
]
