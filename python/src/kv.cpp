// kv.cpp - kv.h: tier.KvPool, a KV-cache block pool on tiered memory, and tier.KvBlock, one
// block's memory lent through the buffer protocol.
#include "tier/kv.h"

#include <unordered_map>

#include "common.hpp"

namespace tierpy {

namespace {

// Owns the tier_kv_pool. Blocks (and the leases of their views) hold a shared_ptr to it: block
// memory stays mapped for the pool's life, so a view is safe as long as the pool is, and close()
// refuses while any view is alive. Every call runs with the GIL held, which is also what keeps
// tier_kv_pool_destroy from racing with another call on the pool.
class PoolCore {
 public:
  PoolCore(RuntimePtr rt, tier_kv_pool *pool) : rt_(std::move(rt)), pool_(pool) {}
  ~PoolCore() { tier_kv_pool_destroy(pool_); }
  PoolCore(const PoolCore &) = delete;
  PoolCore &operator=(const PoolCore &) = delete;

  tier_kv_pool *get() const {
    if (pool_ == nullptr) throw py::value_error("the KV pool is closed");
    return pool_;
  }
  bool closed() const { return pool_ == nullptr; }
  void close() {
    if (pool_ == nullptr) return;
    if (leases_ > 0)
      throw py::buffer_error("cannot close the KV pool: " + std::to_string(leases_) +
                             " view(s) of its blocks are alive; drop them first");
    tier_kv_pool_destroy(pool_);
    pool_ = nullptr;
  }
  tier_kv_pool_stats stats() const {
    tier_kv_pool_stats s{};
    s.size = sizeof s;
    check(tier_kv_pool_stats_get(get(), &s));
    return s;
  }
  tier_kv_block_info info(tier_kv_block id) const {
    tier_kv_block_info i{};
    i.size = sizeof i;
    check(tier_kv_block_info_get(get(), id, &i));
    return i;
  }
  int &leases() { return leases_; }

 private:
  RuntimePtr rt_;
  tier_kv_pool *pool_;
  int leases_ = 0;
};
using PoolPtr = std::shared_ptr<PoolCore>;

struct KvPool {
  PoolPtr core;
};

struct KvBlock {
  PoolPtr core;
  tier_kv_block id;

  static int getbuffer(PyObject *self, Py_buffer *view, int flags) {
    return guarded_getbuffer(view, [&] {
      auto &b = py::handle(self).cast<KvBlock &>();
      const tier_kv_block_info info = b.core->info(b.id);
      // A free block's bytes belong to no one: the next alloc hands them out. In-use and cached
      // blocks hold content worth viewing.
      if (info.state == TIER_KV_FREE)
        throw py::value_error("KV block " + std::to_string(b.id) + " is free");
      ++b.core->leases();
      PoolPtr core = b.core;
      return lend(view, flags, info.addr, info.bytes, [core] { --core->leases(); });
    });
  }
};

tier_kv_block block_id(int64_t id) {
  if (id < 0 || id >= static_cast<int64_t>(TIER_KV_NO_BLOCK))
    throw py::value_error("block id out of range: " + std::to_string(id));
  return static_cast<tier_kv_block>(id);
}

uint32_t count(int64_t v, const char *what) {
  if (v < 0 || v > UINT32_MAX)
    throw py::value_error(std::string(what) + " must be in 0 .. 2**32-1, got " + std::to_string(v));
  return static_cast<uint32_t>(v);
}

const char *state_name(tier_kv_state s) {
  switch (s) {
    case TIER_KV_IN_USE:
      return "in_use";
    case TIER_KV_CACHED:
      return "cached";
    case TIER_KV_FREE:
      break;
  }
  return "free";
}

std::vector<uint64_t> list(const uint64_t *v, size_t n) {
  return {v, v + n};
}

void bind_structs(py::module_ &m) {
  StructClass<tier_kv_block_info>(m, "KvBlockInfo", "One block's state (tier_kv_block_info_get).")
      .field("address",
             [](const tier_kv_block_info &v) { return reinterpret_cast<uintptr_t>(v.addr); })
      .field("bytes", &tier_kv_block_info::bytes)
      .field("state", [](const tier_kv_block_info &v) { return state_name(v.state); })
      .field("refs", &tier_kv_block_info::refs)
      .field("pins", &tier_kv_block_info::pins)
      .field("published", [](const tier_kv_block_info &v) { return v.published != 0; })
      .field("hash", &tier_kv_block_info::hash)
      .field("node", &tier_kv_block_info::node)
      .field("tier", &tier_kv_block_info::tier)
      .repr_fields({"state", "refs", "pins", "published", "hash", "node", "tier"})
      .done();

  StructClass<tier_kv_pool_stats>(m, "KvPoolStats", "The pool's counts (tier_kv_pool_stats_get).")
      .field("block_bytes", &tier_kv_pool_stats::block_bytes)
      .field("block_stride", &tier_kv_pool_stats::block_stride)
      .field("block_tokens", &tier_kv_pool_stats::block_tokens)
      .field("max_blocks", &tier_kv_pool_stats::max_blocks)
      .field("blocks", &tier_kv_pool_stats::blocks)
      .field("in_use", &tier_kv_pool_stats::in_use)
      .field("cached", &tier_kv_pool_stats::cached)
      .field("free", &tier_kv_pool_stats::free)
      .field("slabs", &tier_kv_pool_stats::slabs)
      .field("sequences", &tier_kv_pool_stats::sequences)
      .field("allocs", &tier_kv_pool_stats::allocs)
      .field("lookups", &tier_kv_pool_stats::lookups)
      .field("lookup_hits", &tier_kv_pool_stats::lookup_hits)
      .field("evictions", &tier_kv_pool_stats::evictions)
      .field("full", &tier_kv_pool_stats::full)
      .field("blocks_on_tier",
             [](const tier_kv_pool_stats &v) { return list(v.blocks_on_tier, 8); })
      .repr_fields({"blocks", "in_use", "cached", "free", "max_blocks", "blocks_on_tier"})
      .done();
}

KvPool make_pool(const Runtime &r, int64_t max_blocks, int64_t block_bytes, int64_t block_tokens,
                 int64_t bytes_per_token, int64_t blocks_per_slab,
                 const std::optional<std::string> &policy) {
  tier_kv_pool_options o;
  tier_kv_pool_options_init(&o);
  o.max_blocks = count(max_blocks, "max_blocks");
  o.block_bytes = to_size(block_bytes, "block_bytes");
  o.block_tokens = count(block_tokens, "block_tokens");
  o.bytes_per_token = to_size(bytes_per_token, "bytes_per_token");
  o.blocks_per_slab = count(blocks_per_slab, "blocks_per_slab");
  tier_policy pol;
  if (policy) {
    pol = parse_policy(r.get(), *policy);
    o.policy = &pol;  // copied by the pool at creation
  }
  tier_kv_pool *pool = nullptr;
  // Maps and registers the first slab.
  check(without_gil([&] { return tier_kv_pool_create(r.get(), &o, &pool); }));
  return KvPool{std::make_shared<PoolCore>(r.core, pool)};
}

// Block ids as the C calls take them (pybind11 has already refused non-integers with TypeError).
std::vector<tier_kv_block> ids_of(const std::vector<int64_t> &ids) {
  std::vector<tier_kv_block> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(block_id(id));
  return out;
}

std::vector<tier_kv_block> taken(const std::vector<tier_kv_block> &ids, size_t n) {
  return {ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace

void init_kv(py::module_ &m) {
  bind_structs(m);

  py::class_<KvBlock> block(m, "KvBlock", py::buffer_protocol(), R"doc(
One block of a KvPool. Its memory (block_bytes) is lent through the buffer protocol while the
block is in use or cached; a free block lends nothing (ValueError). A view stays valid while the
pool lives and across moves between tiers (the movers keep addresses); once the block is
released its bytes may be handed to another sequence, so drop views of released blocks.)doc");
  set_getbuffer(block, &KvBlock::getbuffer);
  block.def_readonly("id", &KvBlock::id)
      .def_property_readonly(
          "address",
          [](const KvBlock &b) {
            return reinterpret_cast<uintptr_t>(tier_kv_block_addr(b.core->get(), b.id));
          })
      .def_property_readonly("size", [](const KvBlock &b) { return b.core->info(b.id).bytes; })
      .def("info", [](const KvBlock &b) { return b.core->info(b.id); })
      .def("__len__", [](const KvBlock &b) { return b.core->info(b.id).bytes; })
      .def("__repr__", [](const KvBlock &b) {
        if (b.core->closed()) return "KvBlock(" + std::to_string(b.id) + ", pool closed)";
        const auto i = b.core->info(b.id);
        return "KvBlock(" + std::to_string(b.id) + ", state='" + state_name(i.state) +
               "', refs=" + std::to_string(i.refs) + ", tier=" + std::to_string(i.tier) + ")";
      });

  py::class_<KvPool>(m, "KvPool", R"doc(
A KV-cache block pool (kv.h): fixed-size blocks of whole 2 MiB chunks, each moved whole by heat,
with reference counts, prefix caching by content hash, pins and optional per-sequence tables.
Block ids are ints; hashes and sequence ids are unsigned 64-bit ints.)doc")
      .def(py::init(&make_pool), py::arg("runtime"), py::arg("max_blocks"),
           py::arg("block_bytes") = 0, py::kw_only(), py::arg("block_tokens") = 0,
           py::arg("bytes_per_token") = 0, py::arg("blocks_per_slab") = 0,
           py::arg("policy") = py::none(),
           "block_bytes, or block_tokens x bytes_per_token, is one block; blocks_per_slab = 0\n"
           "adds about 64 MiB at a time; policy places the slabs (None = preferred fastest).")
      .def(
          "alloc",
          [](KvPool &p, int64_t n) {
            std::vector<tier_kv_block> ids(to_size(n, "n"));
            check(tier_kv_alloc(p.core->get(), ids.size(), ids.data(), nullptr));
            return ids;
          },
          py::arg("n"), "n new blocks, one reference each; all or nothing (TierError ENOMEM).")
      .def(
          "publish",
          [](KvPool &p, int64_t id, uint64_t hash) {
            tier_kv_block holder = TIER_KV_NO_BLOCK;
            check(tier_kv_publish(p.core->get(), block_id(id), hash, &holder));
            return holder;
          },
          py::arg("block"), py::arg("hash"),
          "Publishes a block's content under `hash`; returns the block holding it now (an\n"
          "earlier one with the same hash, or `block`).")
      .def(
          "lookup",
          [](KvPool &p, const std::vector<uint64_t> &hashes) {
            std::vector<tier_kv_block> ids(hashes.size());
            size_t found = 0;
            check(tier_kv_lookup(p.core->get(), hashes.data(), hashes.size(), ids.data(), nullptr,
                                 &found));
            return taken(ids, found);
          },
          py::arg("hashes"),
          "The blocks of the longest published prefix of `hashes`, one reference taken on each.")
      .def(
          "retain",
          [](KvPool &p, const std::vector<int64_t> &ids) {
            const auto v = ids_of(ids);
            check(tier_kv_retain(p.core->get(), v.data(), v.size()));
          },
          py::arg("ids"))
      .def(
          "release",
          [](KvPool &p, const std::vector<int64_t> &ids) {
            const auto v = ids_of(ids);
            check(tier_kv_release(p.core->get(), v.data(), v.size()));
          },
          py::arg("ids"),
          "Drops one reference from each (published blocks then stay cached, others are free).")
      .def(
          "pin",
          [](KvPool &p, const std::vector<int64_t> &ids) {
            const auto v = ids_of(ids);
            check(tier_kv_pin(p.core->get(), v.data(), v.size()));
          },
          py::arg("ids"))
      .def(
          "unpin",
          [](KvPool &p, const std::vector<int64_t> &ids) {
            const auto v = ids_of(ids);
            check(tier_kv_unpin(p.core->get(), v.data(), v.size()));
          },
          py::arg("ids"))
      .def(
          "touch",
          [](KvPool &p, const std::vector<int64_t> &ids, int64_t reads, int64_t writes) {
            const auto v = ids_of(ids);
            tier_kv_touch(p.core->get(), v.data(), v.size(), count(reads, "reads"),
                          count(writes, "writes"));
          },
          py::arg("ids"), py::kw_only(), py::arg("reads") = 1, py::arg("writes") = 0)
      .def(
          "where",
          [](KvPool &p, const std::vector<int64_t> &ids) {
            const auto v = ids_of(ids);
            std::vector<int> tiers(v.size(), -1);
            check(tier_kv_where(p.core->get(), v.data(), v.size(), tiers.data()));
            return tiers;
          },
          py::arg("ids"), "The tier each block is on now (-1 when unknown).")
      .def(
          "block",
          [](KvPool &p, int64_t id) {
            const tier_kv_block b = block_id(id);
            if (tier_kv_block_addr(p.core->get(), b) == nullptr)
              throw py::index_error("KV block " + std::to_string(id) + " does not exist (yet)");
            return KvBlock{p.core, b};
          },
          py::arg("id"), "The block `id`, whose memory the buffer protocol lends.")
      .def(
          "__getitem__",
          [](KvPool &p, int64_t id) {
            const tier_kv_block b = block_id(id);
            if (tier_kv_block_addr(p.core->get(), b) == nullptr)
              throw py::index_error("KV block " + std::to_string(id) + " does not exist (yet)");
            return KvBlock{p.core, b};
          },
          py::arg("id"))
      .def(
          "info", [](KvPool &p, int64_t id) { return p.core->info(block_id(id)); }, py::arg("id"))
      .def("stats", [](KvPool &p) { return p.core->stats(); })
      .def_property_readonly("block_bytes", [](KvPool &p) { return p.core->stats().block_bytes; })
      .def_property_readonly("block_stride", [](KvPool &p) { return p.core->stats().block_stride; })
      .def_property_readonly("max_blocks", [](KvPool &p) { return p.core->stats().max_blocks; })
      .def(
          "seq_share",
          [](KvPool &p, uint64_t seq, const std::vector<uint64_t> &hashes) {
            std::vector<tier_kv_block> ids(hashes.size());
            size_t found = 0;
            check(tier_kv_seq_share(p.core->get(), seq, hashes.data(), hashes.size(), ids.data(),
                                    nullptr, &found));
            return taken(ids, found);
          },
          py::arg("seq"), py::arg("hashes"),
          "Appends the longest published prefix of `hashes` to sequence `seq`'s table.")
      .def(
          "seq_extend",
          [](KvPool &p, uint64_t seq, int64_t n) {
            std::vector<tier_kv_block> ids(to_size(n, "n"));
            check(tier_kv_seq_extend(p.core->get(), seq, ids.size(), ids.data(), nullptr));
            return ids;
          },
          py::arg("seq"), py::arg("n"), "n new blocks at the end of the sequence's table.")
      .def(
          "seq_blocks",
          [](KvPool &p, uint64_t seq) {
            size_t n = 0;
            check(tier_kv_seq_blocks(p.core->get(), seq, nullptr, 0, &n));
            std::vector<tier_kv_block> ids(n);
            check(tier_kv_seq_blocks(p.core->get(), seq, ids.data(), ids.size(), &n));
            ids.resize(std::min(n, ids.size()));
            return ids;
          },
          py::arg("seq"), "The sequence's table, in token order.")
      .def(
          "seq_pin", [](KvPool &p, uint64_t seq) { check(tier_kv_seq_pin(p.core->get(), seq)); },
          py::arg("seq"))
      .def(
          "seq_unpin",
          [](KvPool &p, uint64_t seq) { check(tier_kv_seq_unpin(p.core->get(), seq)); },
          py::arg("seq"))
      .def(
          "seq_touch",
          [](KvPool &p, uint64_t seq, int64_t reads, int64_t writes) {
            check(tier_kv_seq_touch(p.core->get(), seq, count(reads, "reads"),
                                    count(writes, "writes")));
          },
          py::arg("seq"), py::kw_only(), py::arg("reads") = 1, py::arg("writes") = 0)
      .def(
          "seq_free", [](KvPool &p, uint64_t seq) { check(tier_kv_seq_free(p.core->get(), seq)); },
          py::arg("seq"), "Releases every block of the table and forgets the sequence.")
      .def_property_readonly("closed", [](KvPool &p) { return p.core->closed(); })
      .def(
          "close", [](KvPool &p) { p.core->close(); },
          "Destroys the pool (BufferError while views of its blocks are alive).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](KvPool &p, py::args) { p.core->close(); })
      .def("__repr__", [](KvPool &p) {
        if (p.core->closed()) return std::string("KvPool(closed)");
        const auto s = p.core->stats();
        return "KvPool(max_blocks=" + std::to_string(s.max_blocks) +
               ", block_bytes=" + std::to_string(s.block_bytes) +
               ", in_use=" + std::to_string(s.in_use) + ", cached=" + std::to_string(s.cached) +
               ")";
      });

  runtime_class(m).def(
      "kv_pool",
      [](const Runtime &r, int64_t max_blocks, int64_t block_bytes, int64_t block_tokens,
         int64_t bytes_per_token, int64_t blocks_per_slab,
         const std::optional<std::string> &policy) {
        return make_pool(r, max_blocks, block_bytes, block_tokens, bytes_per_token, blocks_per_slab,
                         policy);
      },
      py::arg("max_blocks"), py::arg("block_bytes") = 0, py::kw_only(), py::arg("block_tokens") = 0,
      py::arg("bytes_per_token") = 0, py::arg("blocks_per_slab") = 0,
      py::arg("policy") = py::none(), "KvPool(self, ...): a KV block pool on this runtime.");
}

}  // namespace tierpy
