// experts.cpp - experts.h: tier.ExpertSet, MoE expert tensors registered for heat-driven
// placement, and tier.Expert, one expert's weights lent through the buffer protocol.
#include "tier/experts.h"

#include <map>

#include "common.hpp"

namespace tierpy {

namespace {

// Owns the tier_experts set, and per registered slot the count of views lent and, for tensors
// in caller memory, an export of the caller's buffer held while it is registered (so a
// tier.Allocation behind an expert cannot be freed underneath it). Calls run with the GIL held,
// which also keeps tier_experts_destroy from racing with another call on the set.
class ExpertsCore {
 public:
  struct Slot {
    int leases = 0;
    std::unique_ptr<HeldBuffer> source;
  };

  ExpertsCore(RuntimePtr rt, tier_experts *set, uint32_t layers, uint32_t per_layer)
      : rt_(std::move(rt)), set_(set), layers_(layers), per_layer_(per_layer) {}
  ~ExpertsCore() { tier_experts_destroy(set_); }
  ExpertsCore(const ExpertsCore &) = delete;
  ExpertsCore &operator=(const ExpertsCore &) = delete;

  tier_experts *get() const {
    if (set_ == nullptr) throw py::value_error("the expert set is closed");
    return set_;
  }
  bool closed() const { return set_ == nullptr; }
  uint32_t layers() const { return layers_; }
  uint32_t per_layer() const { return per_layer_; }

  void close() {
    if (set_ == nullptr) return;
    for (const auto &[key, slot] : slots_)
      if (slot.leases > 0)
        throw py::buffer_error("cannot close the expert set: expert " + name(key) +
                               " has views alive; drop them first");
    tier_experts_destroy(set_);
    set_ = nullptr;
    slots_.clear();  // the caller's buffers are released after Tier forgot them
  }

  void *register_expert(uint32_t layer, uint32_t expert, std::optional<size_t> bytes,
                        py::handle data, bool read_mostly) {
    tier_expert_desc d = TIER_EXPERT_DESC_INIT;
    d.layer = layer;
    d.expert = expert;
    d.flags = read_mostly ? TIER_EXPERT_READ_MOSTLY : 0u;
    std::unique_ptr<HeldBuffer> source;
    if (!data.is_none()) {
      source = std::make_unique<HeldBuffer>(data);
      if (bytes && *bytes > source->len())
        throw py::value_error("nbytes exceeds the buffer's " + std::to_string(source->len()) +
                              " bytes");
      d.data = source->ptr();
      d.bytes = bytes ? *bytes : source->len();
    } else {
      if (!bytes) throw py::type_error("register needs nbytes when there is no data");
      d.bytes = *bytes;
    }
    void *addr = nullptr;
    check(tier_experts_register(get(), &d, &addr));  // nothing is left registered on failure
    slots_[key(layer, expert)].source = std::move(source);
    return addr;
  }

  void unregister(uint32_t layer, uint32_t expert) {
    auto it = slots_.find(key(layer, expert));
    if (it != slots_.end() && it->second.leases > 0)
      throw py::buffer_error("cannot unregister expert " + name(key(layer, expert)) + ": " +
                             std::to_string(it->second.leases) +
                             " view(s) of its weights are alive; drop them first");
    check(tier_experts_unregister(get(), layer, expert));
    if (it != slots_.end()) slots_.erase(it);
  }

  tier_expert_info info(uint32_t layer, uint32_t expert) const {
    tier_expert_info i{};
    i.size = sizeof i;
    check(tier_experts_info_get(get(), layer, expert, &i));
    return i;
  }

  // Lends a registered expert's tensor; the lease keeps this core alive.
  int lend_expert(const std::shared_ptr<ExpertsCore> &self, uint32_t layer, uint32_t expert,
                  Py_buffer *view, int flags) {
    const tier_expert_info i = info(layer, expert);  // TierError for an empty slot
    auto it = slots_.find(key(layer, expert));
    if (it == slots_.end())
      throw py::value_error("expert " + name(key(layer, expert)) + " is not registered");
    ++it->second.leases;
    const uint64_t k = key(layer, expert);
    return lend(view, flags, i.addr, i.bytes, [self, k] {
      auto slot = self->slots_.find(k);
      if (slot != self->slots_.end()) --slot->second.leases;
    });
  }

 private:
  static uint64_t key(uint32_t layer, uint32_t expert) { return (uint64_t{layer} << 32) | expert; }
  static std::string name(uint64_t key) {
    return "(" + std::to_string(key >> 32) + ", " + std::to_string(key & 0xffffffffu) + ")";
  }

  RuntimePtr rt_;
  tier_experts *set_;
  uint32_t layers_, per_layer_;
  std::map<uint64_t, Slot> slots_;
};
using ExpertsPtr = std::shared_ptr<ExpertsCore>;

struct ExpertSet {
  ExpertsPtr core;
};

struct Expert {
  ExpertsPtr core;
  uint32_t layer, expert;

  static int getbuffer(PyObject *self, Py_buffer *view, int flags) {
    return guarded_getbuffer(view, [&] {
      auto &e = py::handle(self).cast<Expert &>();
      return e.core->lend_expert(e.core, e.layer, e.expert, view, flags);
    });
  }
};

uint32_t u32(int64_t v, const char *what) {
  if (v < 0 || v > UINT32_MAX)
    throw py::value_error(std::string(what) + " must be in 0 .. 2**32-1, got " + std::to_string(v));
  return static_cast<uint32_t>(v);
}

std::vector<uint32_t> u32s(const std::vector<int64_t> &v, const char *what) {
  std::vector<uint32_t> out;
  out.reserve(v.size());
  for (int64_t x : v) out.push_back(u32(x, what));
  return out;
}

ExpertSet make_set(const Runtime &r, int64_t layers, int64_t per_layer,
                   const std::optional<std::string> &policy, int64_t prefetch_weight,
                   bool heat_per_selection) {
  tier_experts_options o;
  tier_experts_options_init(&o);
  o.layers = u32(layers, "layers");
  o.experts_per_layer = u32(per_layer, "experts_per_layer");
  o.prefetch_weight = u32(prefetch_weight, "prefetch_weight");
  o.flags = heat_per_selection ? TIER_EXPERTS_HEAT_PER_SELECTION : 0u;
  tier_policy pol;
  if (policy) {
    pol = parse_policy(r.get(), *policy);
    o.policy = &pol;  // copied at creation
  }
  tier_experts *set = nullptr;
  check(tier_experts_create(r.get(), &o, &set));
  return ExpertSet{std::make_shared<ExpertsCore>(r.core, set, o.layers, o.experts_per_layer)};
}

void bind_structs(py::module_ &m) {
  StructClass<tier_expert_info>(m, "ExpertInfo", "One expert (tier_experts_info_get).")
      .field("address",
             [](const tier_expert_info &v) { return reinterpret_cast<uintptr_t>(v.addr); })
      .field("bytes", &tier_expert_info::bytes)
      .field("read_mostly",
             [](const tier_expert_info &v) { return (v.flags & TIER_EXPERT_READ_MOSTLY) != 0; })
      .field("owned", [](const tier_expert_info &v) { return v.owned != 0; })
      .field("node", &tier_expert_info::node)
      .field("tier", &tier_expert_info::tier)
      .field("routed_tokens", &tier_expert_info::routed_tokens)
      .field("routings", &tier_expert_info::routings)
      .field("prefetches", &tier_expert_info::prefetches)
      .repr_fields({"bytes", "owned", "node", "tier", "routed_tokens", "routings", "prefetches"})
      .done();

  StructClass<tier_experts_stats>(m, "ExpertsStats", "The set's totals (tier_experts_stats_get).")
      .field("registered", &tier_experts_stats::registered)
      .field("bytes", &tier_experts_stats::bytes)
      .field("routed_tokens", &tier_experts_stats::routed_tokens)
      .field("routings", &tier_experts_stats::routings)
      .field("prefetches", &tier_experts_stats::prefetches)
      .field("experts_on_tier",
             [](const tier_experts_stats &v) {
               return std::vector<uint32_t>(v.experts_on_tier, v.experts_on_tier + 8);
             })
      .field("bytes_on_tier",
             [](const tier_experts_stats &v) {
               return std::vector<uint64_t>(v.bytes_on_tier, v.bytes_on_tier + 8);
             })
      .done();
}

}  // namespace

void init_experts(py::module_ &m) {
  bind_structs(m);

  py::class_<Expert> expert_cls(m, "Expert", py::buffer_protocol(), R"doc(
One registered expert tensor of an ExpertSet. Its weights are lent through the buffer protocol
(numpy.frombuffer(e, dtype=...), torch.frombuffer(e, dtype=...)); the view stays valid while
the expert moves between tiers, and unregistering it is refused while views are alive.)doc");
  set_getbuffer(expert_cls, &Expert::getbuffer);
  expert_cls.def_readonly("layer", &Expert::layer)
      .def_readonly("expert", &Expert::expert)
      .def_property_readonly(
          "address",
          [](const Expert &e) {
            return reinterpret_cast<uintptr_t>(e.core->info(e.layer, e.expert).addr);
          })
      .def_property_readonly("size",
                             [](const Expert &e) { return e.core->info(e.layer, e.expert).bytes; })
      .def("info", [](const Expert &e) { return e.core->info(e.layer, e.expert); })
      .def("__len__", [](const Expert &e) { return e.core->info(e.layer, e.expert).bytes; })
      .def("__repr__", [](const Expert &e) {
        return "Expert(layer=" + std::to_string(e.layer) + ", expert=" + std::to_string(e.expert) +
               ")";
      });

  py::class_<ExpertSet>(m, "ExpertSet", R"doc(
MoE expert weights (experts.h): layers x experts_per_layer slots, each registered tensor heated
and moved as one object. route() records the router's decisions as heat, prefetch() hints
upcoming experts, and the agent keeps the hottest on the fastest tier.)doc")
      .def(py::init(&make_set), py::arg("runtime"), py::arg("layers"), py::arg("experts_per_layer"),
           py::kw_only(), py::arg("policy") = py::none(), py::arg("prefetch_weight") = 0,
           py::arg("heat_per_selection") = false)
      .def_property_readonly("layers", [](const ExpertSet &s) { return s.core->layers(); })
      .def_property_readonly("experts_per_layer",
                             [](const ExpertSet &s) { return s.core->per_layer(); })
      .def(
          "register",
          [](ExpertSet &s, int64_t layer, int64_t expert, std::optional<int64_t> nbytes,
             py::handle data, bool read_mostly) {
            std::optional<size_t> bytes;
            if (nbytes) bytes = to_size(*nbytes, "nbytes");
            const uint32_t l = u32(layer, "layer"), e = u32(expert, "expert");
            s.core->register_expert(l, e, bytes, data, read_mostly);
            return Expert{s.core, l, e};
          },
          py::arg("layer"), py::arg("expert"), py::arg("nbytes") = py::none(), py::kw_only(),
          py::arg("data") = py::none(), py::arg("read_mostly") = false,
          "Registers one expert: nbytes of zeroed memory the set allocates by its policy, or\n"
          "`data`, a buffer of the caller's (an Allocation, to be movable on emulated nodes),\n"
          "whose export is held while registered.")
      .def(
          "unregister",
          [](ExpertSet &s, int64_t layer, int64_t expert) {
            s.core->unregister(u32(layer, "layer"), u32(expert, "expert"));
          },
          py::arg("layer"), py::arg("expert"))
      .def(
          "expert",
          [](ExpertSet &s, int64_t layer, int64_t expert) {
            const uint32_t l = u32(layer, "layer"), e = u32(expert, "expert");
            if (tier_experts_addr(s.core->get(), l, e) == nullptr)
              throw py::index_error("no expert registered at (" + std::to_string(l) + ", " +
                                    std::to_string(e) + ")");
            return Expert{s.core, l, e};
          },
          py::arg("layer"), py::arg("expert"))
      .def(
          "route",
          [](ExpertSet &s, int64_t layer, const std::vector<int64_t> &experts,
             std::optional<std::vector<int64_t>> tokens) {
            const auto e = u32s(experts, "expert");
            std::vector<uint32_t> t;
            if (tokens) {
              if (tokens->size() != experts.size())
                throw py::value_error("tokens must have one entry per expert");
              t = u32s(*tokens, "tokens");
            }
            check(tier_experts_route(s.core->get(), u32(layer, "layer"), e.data(),
                                     tokens ? t.data() : nullptr, e.size()));
          },
          py::arg("layer"), py::arg("experts"), py::arg("tokens") = py::none(),
          "The router's decision for one layer of a step: experts[i] got tokens[i] tokens.")
      .def(
          "prefetch",
          [](ExpertSet &s, int64_t layer, const std::vector<int64_t> &experts) {
            const auto e = u32s(experts, "expert");
            check(tier_experts_prefetch(s.core->get(), u32(layer, "layer"), e.data(), e.size()));
          },
          py::arg("layer"), py::arg("experts"),
          "A hint that these experts of `layer` are used soon: prefetch_weight reads each now.")
      .def(
          "touch",
          [](ExpertSet &s, int64_t layer, int64_t expert, int64_t reads, int64_t writes) {
            check(tier_experts_touch(s.core->get(), u32(layer, "layer"), u32(expert, "expert"),
                                     u32(reads, "reads"), u32(writes, "writes")));
          },
          py::arg("layer"), py::arg("expert"), py::kw_only(), py::arg("reads") = 1,
          py::arg("writes") = 0)
      .def(
          "info",
          [](ExpertSet &s, int64_t layer, int64_t expert) {
            return s.core->info(u32(layer, "layer"), u32(expert, "expert"));
          },
          py::arg("layer"), py::arg("expert"))
      .def("stats",
           [](ExpertSet &s) {
             tier_experts_stats st{};
             st.size = sizeof st;
             check(tier_experts_stats_get(s.core->get(), &st));
             return st;
           })
      .def_property_readonly("closed", [](const ExpertSet &s) { return s.core->closed(); })
      .def(
          "close", [](ExpertSet &s) { s.core->close(); },
          "Unregisters every expert and frees the set's own tensors (BufferError while views\n"
          "are alive).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](ExpertSet &s, py::args) { s.core->close(); })
      .def("__repr__", [](const ExpertSet &s) {
        return "ExpertSet(layers=" + std::to_string(s.core->layers()) +
               ", experts_per_layer=" + std::to_string(s.core->per_layer()) +
               (s.core->closed() ? ", closed" : "") + ")";
      });

  runtime_class(m).def(
      "experts",
      [](const Runtime &r, int64_t layers, int64_t per_layer,
         const std::optional<std::string> &policy, int64_t prefetch_weight,
         bool heat_per_selection) {
        return make_set(r, layers, per_layer, policy, prefetch_weight, heat_per_selection);
      },
      py::arg("layers"), py::arg("experts_per_layer"), py::kw_only(),
      py::arg("policy") = py::none(), py::arg("prefetch_weight") = 0,
      py::arg("heat_per_selection") = false,
      "ExpertSet(self, ...): an expert set on this runtime.");
}

}  // namespace tierpy
