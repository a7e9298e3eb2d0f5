// heat.cpp - heat.h: registered regions, touches, pins, the placement policy, epochs (where the
// moves happen) and the in-process agent.
#include "tier/heat.h"

#include "common.hpp"

namespace tierpy {

namespace {

// A registered region. When it was made from a buffer it holds an export of that buffer for as
// long as it is registered: heat.h asks that a region be unregistered before its memory is
// freed, and the held export makes tier.Allocation.free() refuse until then.
class Region {
 public:
  Region(RuntimePtr rt, Range range, std::unique_ptr<HeldBuffer> held, size_t group, uint32_t flags)
      : rt_(std::move(rt)), range_(range), held_(std::move(held)) {
    check(tier_region_register(rt_->get(), range_.ptr, range_.len, group, flags, &id_));
    registered_ = true;
  }
  ~Region() {
    if (registered_) tier_region_unregister(rt_->get(), id_);
  }
  Region(const Region &) = delete;
  Region &operator=(const Region &) = delete;

  void unregister() {
    if (!registered_) return;
    // Waits for an epoch in progress, which may be long; the epoch needs no Python.
    const tier_status s = without_gil([&] { return tier_region_unregister(rt_->get(), id_); });
    registered_ = false;
    held_.reset();
    check(s);
  }
  uint32_t id() const { return id_; }
  uintptr_t address() const { return reinterpret_cast<uintptr_t>(range_.ptr); }
  size_t size() const { return range_.len; }
  bool registered() const { return registered_; }

 private:
  RuntimePtr rt_;
  Range range_;
  std::unique_ptr<HeldBuffer> held_;
  uint32_t id_ = 0;
  bool registered_ = false;
};

// group: None (each 2 MiB chunk on its own), "whole" (one object), or an object size in bytes.
size_t group_hint(py::handle group) {
  if (group.is_none()) return TIER_GROUP_NONE;
  if (py::isinstance<py::str>(group)) {
    if (group.cast<std::string>() == "whole") return TIER_GROUP_WHOLE;
    throw py::value_error("group must be None, 'whole' or an object size in bytes, got '" +
                          group.cast<std::string>() + "'");
  }
  if (PyLong_Check(group.ptr()) && !PyBool_Check(group.ptr())) {
    const auto bytes = group.cast<int64_t>();
    if (bytes <= 0) throw py::value_error("group size must be > 0");
    return static_cast<size_t>(bytes);
  }
  throw py::type_error("group must be None, 'whole' or an int");
}

Region *register_region(const Runtime &r, py::handle target, std::optional<int64_t> size,
                        py::handle group, bool pinned, bool sample_faults) {
  std::optional<size_t> len;
  if (size) len = to_size(*size, "size");
  HeldRange held = hold_range(target, len);
  const uint32_t flags =
      (pinned ? TIER_REGION_PINNED : 0u) | (sample_faults ? TIER_REGION_SAMPLE_FAULTS : 0u);
  return new Region(r.core, held.range, std::move(held.held), group_hint(group), flags);
}

uint32_t count(int64_t v, const char *what) {
  if (v < 0 || v > UINT32_MAX)
    throw py::value_error(std::string(what) + " must be in 0 .. 2**32-1, got " + std::to_string(v));
  return static_cast<uint32_t>(v);
}

void bind_structs(py::module_ &m) {
  StructClass<tier_epoch_stats>(m, "EpochStats", "What one epoch did (tier_epoch).")
      .field("epoch", &tier_epoch_stats::epoch)
      .field("chunks", &tier_epoch_stats::chunks)
      .field("active_chunks", &tier_epoch_stats::active_chunks)
      .field("accesses", &tier_epoch_stats::accesses)
      .field("moves_planned", &tier_epoch_stats::moves_planned)
      .field("moves_done", &tier_epoch_stats::moves_done)
      .field("promotions", &tier_epoch_stats::promotions)
      .field("demotions", &tier_epoch_stats::demotions)
      .field("bytes_moved", &tier_epoch_stats::bytes_moved)
      .field("pages_failed", &tier_epoch_stats::pages_failed)
      .field("moves_refused", &tier_epoch_stats::moves_refused)
      .field("epoch_ns", &tier_epoch_stats::epoch_ns)
      .field("plan_ns", &tier_epoch_stats::plan_ns)
      .field("modelled_migration_s", &tier_epoch_stats::modelled_migration_s)
      .repr_fields({"epoch", "chunks", "promotions", "demotions", "bytes_moved", "pages_failed",
                    "moves_refused"})
      .done();

  StructClass<tier_agent_stats>(m, "AgentStats", "The agent's totals (tier_agent_stats_get).")
      .field("running", [](const tier_agent_stats &v) { return v.running != 0; })
      .field("epochs", &tier_agent_stats::epochs)
      .field("promotions", &tier_agent_stats::promotions)
      .field("demotions", &tier_agent_stats::demotions)
      .field("bytes_moved", &tier_agent_stats::bytes_moved)
      .field("pages_failed", &tier_agent_stats::pages_failed)
      .field("moves_refused", &tier_agent_stats::moves_refused)
      .field("last_epoch_ns", &tier_agent_stats::last_epoch_ns)
      .field("max_epoch_ns", &tier_agent_stats::max_epoch_ns)
      .field("total_epoch_ns", &tier_agent_stats::total_epoch_ns)
      .field("regions", &tier_agent_stats::regions)
      .field("chunks", &tier_agent_stats::chunks)
      .field("modelled_migration_s", &tier_agent_stats::modelled_migration_s)
      .field("sampled_faults", &tier_agent_stats::sampled_faults)
      .field("policy", [](const tier_agent_stats &v) { return std::string(v.policy); })
      .field("mover", [](const tier_agent_stats &v) { return std::string(v.mover); })
      .repr_fields({"running", "epochs", "promotions", "demotions", "bytes_moved", "regions",
                    "policy", "mover"})
      .done();
}

}  // namespace

void init_heat(py::module_ &m) {
  bind_structs(m);

  py::class_<Region>(m, "Region", R"doc(
A range registered with the runtime's chunk table (tier_region_register), so the agent heats and
moves it. Made by Runtime.register; unregister() (or leaving a `with` block, or collection)
forgets it. A region made from a buffer holds an export of it until then.)doc")
      .def_property_readonly("id", &Region::id)
      .def_property_readonly("address", &Region::address)
      .def_property_readonly("size", &Region::size)
      .def_property_readonly("registered", &Region::registered)
      .def("unregister", &Region::unregister, "Forgets the region (a second call does nothing).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Region &r, py::args) { r.unregister(); })
      .def("__repr__", [](const Region &r) {
        return "Region(id=" + std::to_string(r.id()) + ", size=" + std::to_string(r.size()) +
               ", registered=" + (r.registered() ? "True" : "False") + ")";
      });

  runtime_class(m)
      .def(
          "touch",
          [](const Runtime &r, py::handle target, std::optional<int64_t> size, int64_t reads,
             int64_t writes) {
            std::optional<size_t> len;
            if (size) len = to_size(*size, "size");
            const Range range = resolve_range(target, len);
            tier_touch(r.get(), range.ptr, range.len, count(reads, "reads"),
                       count(writes, "writes"));
          },
          py::arg("target"), py::arg("size") = py::none(), py::kw_only(), py::arg("reads") = 1,
          py::arg("writes") = 0,
          "Reports accesses to a buffer (or `size` bytes at an int address): tier_touch credits\n"
          "every 2 MiB chunk the range overlaps. Untracked memory is ignored.")
      .def(
          "pin",
          [](const Runtime &r, py::handle target, std::optional<int64_t> size) {
            std::optional<size_t> len;
            if (size) len = to_size(*size, "size");
            const Range range = resolve_range(target, len);
            check(tier_pin(r.get(), range.ptr, range.len));
          },
          py::arg("target"), py::arg("size") = py::none(),
          "Pins the chunks of a range (never moved); counted, as unpin.")
      .def(
          "unpin",
          [](const Runtime &r, py::handle target, std::optional<int64_t> size) {
            std::optional<size_t> len;
            if (size) len = to_size(*size, "size");
            const Range range = resolve_range(target, len);
            check(tier_unpin(r.get(), range.ptr, range.len));
          },
          py::arg("target"), py::arg("size") = py::none())
      .def("register", &register_region, py::arg("target"), py::arg("size") = py::none(),
           py::kw_only(), py::arg("group") = py::none(), py::arg("pinned") = false,
           py::arg("sample_faults") = false, py::return_value_policy::take_ownership, R"doc(
Registers a buffer (or `size` bytes at an int address) so the agent moves it by heat.
group: None (each 2 MiB chunk moves alone), "whole" (one object), or an object size in bytes.
On emulated topologies only memory this runtime allocated (2 MiB and up) can move.)doc")
      .def(
          "set_policy",
          [](const Runtime &r, const std::string &name) {
            check(tier_set_policy(r.get(), name.c_str()));
          },
          py::arg("name"), "The placement policy: heat (default), first-touch, lru, lfu, tpp.")
      .def(
          "epoch",
          [](const Runtime &r) {
            tier_epoch_stats st{};
            st.size = sizeof st;
            // The mover copies and remaps memory; Python threads that write a range being
            // moved wait in Tier's fault handler until it is done, so they must not need the GIL.
            check(without_gil([&] { return tier_epoch(r.get(), &st); }));
            return st;
          },
          "Runs one epoch now on this thread: heat becomes temperatures, the policy plans moves,\n"
          "the mover carries them out.")
      .def(
          "start_agent",
          [](const Runtime &r, std::optional<int64_t> period_ms,
             std::optional<int64_t> budget_bytes, std::optional<double> half_life_epochs,
             std::optional<int64_t> rate_bytes_per_second, std::optional<double> low_watermark,
             std::optional<double> high_watermark) {
            tier_agent_options o;
            tier_agent_options_init(&o);
            if (period_ms) o.period_ms = count(*period_ms, "period_ms");
            if (budget_bytes) o.budget_bytes_per_epoch = to_size(*budget_bytes, "budget_bytes");
            if (half_life_epochs) o.half_life_epochs = *half_life_epochs;
            if (rate_bytes_per_second)
              o.rate_bytes_per_second = to_size(*rate_bytes_per_second, "rate_bytes_per_second");
            if (low_watermark) o.low_watermark = *low_watermark;
            if (high_watermark) o.high_watermark = *high_watermark;
            check(tier_agent_start(r.get(), &o));
          },
          py::kw_only(), py::arg("period_ms") = py::none(), py::arg("budget_bytes") = py::none(),
          py::arg("half_life_epochs") = py::none(), py::arg("rate_bytes_per_second") = py::none(),
          py::arg("low_watermark") = py::none(), py::arg("high_watermark") = py::none(),
          "Starts the agent thread (an epoch every period_ms); unset options keep heat.h's\n"
          "defaults. TierError EBUSY when it runs already, ECONFIG naming a bad option.")
      .def(
          "stop_agent",
          [](const Runtime &r) {
            // Joins the agent thread after its epoch.
            check(without_gil([&] { return tier_agent_stop(r.get()); }));
          },
          "Stops the agent thread after its current epoch (nothing when it is not running).")
      .def("agent_stats", [](const Runtime &r) {
        tier_agent_stats st{};
        st.size = sizeof st;
        check(tier_agent_stats_get(r.get(), &st));
        return st;
      });
}

}  // namespace tierpy
