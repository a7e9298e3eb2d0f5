# Type stubs for the _tier extension module (python/src/*.cpp). tier/__init__.py re-exports
# everything public; docs/python.md walks through it.
from typing import Any, Optional, Sequence, Union

from typing_extensions import Buffer  # the buffer protocol (collections.abc.Buffer from 3.12)

# An int address (with a size) or any object with the buffer protocol.
_Target = Union[int, Buffer]
_Group = Union[None, str, int]

_status_codes: dict[str, int]

class TierError(RuntimeError):
    status: int
    status_name: str
    detail: str
    errno: int

def strerror(status: int) -> str: ...
def version() -> str: ...
def default_runtime() -> Runtime: ...

class NodeInfo:
    id: int
    name: str
    kind: str  # "hbm", "dram", "cxl", "cxl-pool", "unknown"
    tier: int
    capacity: int
    free: int
    used: int
    emulated: bool
    backing_node: int
    cpuless: bool
    read_latency_ns: float
    write_latency_ns: float
    read_bandwidth_mbps: float
    write_bandwidth_mbps: float
    latency_source: str
    bandwidth_source: str
    kind_source: str
    kind_reason: str
    def as_dict(self) -> dict[str, Any]: ...

class NodeStats:
    node: int
    tier: int
    capacity: int
    allocated: int
    reserved: int
    resident: int
    peak: int
    allocations: int
    fallbacks: int
    def as_dict(self) -> dict[str, Any]: ...

class Where:
    nodes: dict[int, int]
    not_resident: int
    unknown: int
    node: Optional[int]
    def __getitem__(self, node: int) -> int: ...

class EpochStats:
    epoch: int
    chunks: int
    active_chunks: int
    accesses: int
    moves_planned: int
    moves_done: int
    promotions: int
    demotions: int
    bytes_moved: int
    pages_failed: int
    moves_refused: int
    epoch_ns: int
    plan_ns: int
    modelled_migration_s: float
    def as_dict(self) -> dict[str, Any]: ...

class AgentStats:
    running: bool
    epochs: int
    promotions: int
    demotions: int
    bytes_moved: int
    pages_failed: int
    moves_refused: int
    last_epoch_ns: int
    max_epoch_ns: int
    total_epoch_ns: int
    regions: int
    chunks: int
    modelled_migration_s: float
    sampled_faults: int
    policy: str
    mover: str
    def as_dict(self) -> dict[str, Any]: ...

class Allocation(Buffer):
    address: int
    size: int
    usable_size: int
    policy: str
    freed: bool
    exports: int
    def free(self) -> None: ...
    def realloc(self, size: int, policy: Optional[str] = None) -> None: ...
    def __len__(self) -> int: ...
    def __enter__(self) -> Allocation: ...
    def __exit__(self, *args: object) -> None: ...
    def __buffer__(self, flags: int) -> memoryview: ...

class Region:
    id: int
    address: int
    size: int
    registered: bool
    def unregister(self) -> None: ...
    def __enter__(self) -> Region: ...
    def __exit__(self, *args: object) -> None: ...

class Runtime:
    node_count: int
    tier_count: int
    emulated: bool
    topology_source: str
    def __init__(
        self,
        topology: Optional[str] = None,
        *,
        no_hugepage: bool = False,
        shared_arena: bool = False,
    ) -> None: ...
    def nodes(self) -> list[NodeInfo]: ...
    def node(self, id: int) -> NodeInfo: ...
    def parse_policy(self, policy: str) -> str: ...
    def where(self, target: _Target, size: Optional[int] = None) -> Where: ...
    def owns(self, target: _Target) -> bool: ...
    def node_stats(self, node: int) -> NodeStats: ...
    def tier_stats(self, tier: int) -> NodeStats: ...
    def set_capacity(self, node: int, capacity: int) -> None: ...
    def alloc(
        self, size: int, policy: Optional[str] = None, *, alignment: int = 0, zero: bool = False
    ) -> Allocation: ...
    def touch(
        self, target: _Target, size: Optional[int] = None, *, reads: int = 1, writes: int = 0
    ) -> None: ...
    def pin(self, target: _Target, size: Optional[int] = None) -> None: ...
    def unpin(self, target: _Target, size: Optional[int] = None) -> None: ...
    def register(
        self,
        target: _Target,
        size: Optional[int] = None,
        *,
        group: _Group = None,
        pinned: bool = False,
        sample_faults: bool = False,
    ) -> Region: ...
    def set_policy(self, name: str) -> None: ...
    def epoch(self) -> EpochStats: ...
    def start_agent(
        self,
        *,
        period_ms: Optional[int] = None,
        budget_bytes: Optional[int] = None,
        half_life_epochs: Optional[float] = None,
        rate_bytes_per_second: Optional[int] = None,
        low_watermark: Optional[float] = None,
        high_watermark: Optional[float] = None,
    ) -> None: ...
    def stop_agent(self) -> None: ...
    def agent_stats(self) -> AgentStats: ...
    def kv_pool(
        self,
        max_blocks: int,
        block_bytes: int = 0,
        *,
        block_tokens: int = 0,
        bytes_per_token: int = 0,
        blocks_per_slab: int = 0,
        policy: Optional[str] = None,
    ) -> KvPool: ...
    def experts(
        self,
        layers: int,
        experts_per_layer: int,
        *,
        policy: Optional[str] = None,
        prefetch_weight: int = 0,
        heat_per_selection: bool = False,
    ) -> ExpertSet: ...

class KvBlockInfo:
    address: int
    bytes: int
    state: str  # "free", "in_use", "cached"
    refs: int
    pins: int
    published: bool
    hash: int
    node: int
    tier: int
    def as_dict(self) -> dict[str, Any]: ...

class KvPoolStats:
    block_bytes: int
    block_stride: int
    block_tokens: int
    max_blocks: int
    blocks: int
    in_use: int
    cached: int
    free: int
    slabs: int
    sequences: int
    allocs: int
    lookups: int
    lookup_hits: int
    evictions: int
    full: int
    blocks_on_tier: list[int]
    def as_dict(self) -> dict[str, Any]: ...

class KvBlock(Buffer):
    id: int
    address: int
    size: int
    def info(self) -> KvBlockInfo: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int) -> memoryview: ...

class KvPool:
    block_bytes: int
    block_stride: int
    max_blocks: int
    closed: bool
    def __init__(
        self,
        runtime: Runtime,
        max_blocks: int,
        block_bytes: int = 0,
        *,
        block_tokens: int = 0,
        bytes_per_token: int = 0,
        blocks_per_slab: int = 0,
        policy: Optional[str] = None,
    ) -> None: ...
    def alloc(self, n: int) -> list[int]: ...
    def publish(self, block: int, hash: int) -> int: ...
    def lookup(self, hashes: Sequence[int]) -> list[int]: ...
    def retain(self, ids: Sequence[int]) -> None: ...
    def release(self, ids: Sequence[int]) -> None: ...
    def pin(self, ids: Sequence[int]) -> None: ...
    def unpin(self, ids: Sequence[int]) -> None: ...
    def touch(self, ids: Sequence[int], *, reads: int = 1, writes: int = 0) -> None: ...
    def where(self, ids: Sequence[int]) -> list[int]: ...
    def block(self, id: int) -> KvBlock: ...
    def __getitem__(self, id: int) -> KvBlock: ...
    def info(self, id: int) -> KvBlockInfo: ...
    def stats(self) -> KvPoolStats: ...
    def seq_share(self, seq: int, hashes: Sequence[int]) -> list[int]: ...
    def seq_extend(self, seq: int, n: int) -> list[int]: ...
    def seq_blocks(self, seq: int) -> list[int]: ...
    def seq_pin(self, seq: int) -> None: ...
    def seq_unpin(self, seq: int) -> None: ...
    def seq_touch(self, seq: int, *, reads: int = 1, writes: int = 0) -> None: ...
    def seq_free(self, seq: int) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> KvPool: ...
    def __exit__(self, *args: object) -> None: ...

class ExpertInfo:
    address: int
    bytes: int
    read_mostly: bool
    owned: bool
    node: int
    tier: int
    routed_tokens: int
    routings: int
    prefetches: int
    def as_dict(self) -> dict[str, Any]: ...

class ExpertsStats:
    registered: int
    bytes: int
    routed_tokens: int
    routings: int
    prefetches: int
    experts_on_tier: list[int]
    bytes_on_tier: list[int]
    def as_dict(self) -> dict[str, Any]: ...

class Expert(Buffer):
    layer: int
    expert: int
    address: int
    size: int
    def info(self) -> ExpertInfo: ...
    def __len__(self) -> int: ...
    def __buffer__(self, flags: int) -> memoryview: ...

class ExpertSet:
    layers: int
    experts_per_layer: int
    closed: bool
    def __init__(
        self,
        runtime: Runtime,
        layers: int,
        experts_per_layer: int,
        *,
        policy: Optional[str] = None,
        prefetch_weight: int = 0,
        heat_per_selection: bool = False,
    ) -> None: ...
    def register(
        self,
        layer: int,
        expert: int,
        nbytes: Optional[int] = None,
        *,
        data: Optional[Buffer] = None,
        read_mostly: bool = False,
    ) -> Expert: ...
    def unregister(self, layer: int, expert: int) -> None: ...
    def expert(self, layer: int, expert: int) -> Expert: ...
    def route(
        self, layer: int, experts: Sequence[int], tokens: Optional[Sequence[int]] = None
    ) -> None: ...
    def prefetch(self, layer: int, experts: Sequence[int]) -> None: ...
    def touch(self, layer: int, expert: int, *, reads: int = 1, writes: int = 0) -> None: ...
    def info(self, layer: int, expert: int) -> ExpertInfo: ...
    def stats(self) -> ExpertsStats: ...
    def close(self) -> None: ...
    def __enter__(self) -> ExpertSet: ...
    def __exit__(self, *args: object) -> None: ...
