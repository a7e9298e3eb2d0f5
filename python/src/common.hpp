// common.hpp - what the binding's files share: the runtime handle that every object made from a
// runtime keeps alive, tier_status -> exception translation, buffer leases (how Tier memory is
// lent to numpy and torch), address ranges taken from Python objects, and a binder for the C
// ABI's read-only result structs.
//
// The module binds the C ABI (include/tier/*.h) only, never libtier's internals, so it behaves
// exactly as a C program using libtier.so would.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tier/tier.h"

namespace tierpy {

namespace py = pybind11;

// ---- runtime ----------------------------------------------------------------------------------

// Owns a tier_runtime (or borrows the process's default one, which tier_runtime_destroy ignores
// anyway). Allocations, KV pools, expert sets and regions each hold a RuntimePtr: memory from a
// destroyed runtime must not be passed to tier_free, so the runtime lives until the last of them.
class RuntimeCore {
 public:
  RuntimeCore(tier_runtime *rt, bool owned) : rt_(rt), owned_(owned) {}
  ~RuntimeCore();
  RuntimeCore(const RuntimeCore &) = delete;
  RuntimeCore &operator=(const RuntimeCore &) = delete;
  tier_runtime *get() const { return rt_; }

 private:
  tier_runtime *rt_;
  bool owned_;
};
using RuntimePtr = std::shared_ptr<RuntimeCore>;

// The Python-visible tier.Runtime.
struct Runtime {
  RuntimePtr core;
  tier_runtime *get() const { return core->get(); }
};

// Parses a policy string (tier_policy_parse's grammar) for `rt`; raises TierError naming the
// column of a mistake.
tier_policy parse_policy(tier_runtime *rt, const std::string &text);
// The policy as text (tier_policy_format).
std::string format_policy(const tier_policy &policy);

// Runs `f` without the GIL; `f` makes C calls only (it must not throw or touch Python objects).
// Not py::gil_scoped_release: while the interpreter finalizes, a daemon thread that takes the GIL
// back is ended by pthread_exit, and the forced unwind that starts must not leave a noexcept
// destructor (std::terminate); from here it unwinds through ordinary frames, as in C extensions.
template <class F>
auto without_gil(F &&f) -> decltype(f()) {
  PyThreadState *state = PyEval_SaveThread();
  auto result = f();
  PyEval_RestoreThread(state);
  return result;
}

// ---- errors -----------------------------------------------------------------------------------

// Raises tier.TierError for `status`, with tier_strerror and the calling thread's
// tier_last_error() (read now, before any other Tier call can replace it).
[[noreturn]] void raise_status(tier_status status);
// For the malloc-shaped calls that return NULL: raises for tier_last_status().
[[noreturn]] void raise_last();
inline void check(tier_status status) {
  if (status != TIER_OK) raise_status(status);
}

// ---- buffers ----------------------------------------------------------------------------------

// Lends [ptr, ptr + len) through the buffer protocol. view->obj is a new lease object rather
// than the exporter itself, and `on_end` runs when the lease dies. A consumer either keeps the
// Py_buffer (memoryview, numpy) or keeps a reference to view->obj and releases the Py_buffer at
// once (torch.frombuffer does that), so only the lease's lifetime covers both: counting
// bf_releasebuffer calls would miss every torch tensor. `on_end` also owns whatever keeps the
// memory alive (a reference to the exporter). Returns 0, or -1 with a Python error set.
int lend(Py_buffer *view, int flags, void *ptr, size_t len, std::function<void()> on_end);

// Installs `getbuffer` on a class made with py::buffer_protocol(): pybind11's def_buffer has no
// hook for the end of an export, which is what Tier needs to refuse freeing lent memory.
void set_getbuffer(py::handle type, getbufferproc getbuffer);

// Runs `body` inside a bf_getbuffer slot: exceptions become a Python error and -1, as the slot's
// contract requires (nothing may propagate into the interpreter's C code).
int guarded_getbuffer(Py_buffer *view, const std::function<int()> &body);

// A Python int that must not be negative, as a size (ValueError naming `what` otherwise).
size_t to_size(int64_t value, const char *what);

// Holds a Py_buffer on a caller's object for as long as Tier uses its memory (a registered
// region, an expert tensor in caller memory). Holding the export is what stops a tier.Allocation
// from being freed underneath.
class HeldBuffer {
 public:
  explicit HeldBuffer(py::handle obj);
  ~HeldBuffer();
  HeldBuffer(const HeldBuffer &) = delete;
  HeldBuffer &operator=(const HeldBuffer &) = delete;
  void *ptr() const { return view_.buf; }
  size_t len() const { return static_cast<size_t>(view_.len); }

 private:
  Py_buffer view_{};
};

// A byte range named by a Python value.
struct Range {
  void *ptr = nullptr;
  size_t len = 0;
};
// A range, and the export that keeps a buffer's memory alive while it is used.
struct HeldRange {
  Range range;
  std::unique_ptr<HeldBuffer> held;  // none for an int address
};
// `target` is either an int address (then `size` is required) or an object with the buffer
// protocol (a tier.Allocation, a KV block, a numpy array, a memoryview slice, ...): its bytes,
// or the first `size` of them. Raises TypeError / ValueError for anything else.
HeldRange hold_range(py::handle target, std::optional<size_t> size);
// The same for a call that uses the range at once, with the GIL held throughout: a buffer's
// memory cannot be freed before the call returns.
inline Range resolve_range(py::handle target, std::optional<size_t> size) {
  return hold_range(target, size).range;
}

// ---- result structs ---------------------------------------------------------------------------

// Binds a C result struct (tier_node_info, tier_kv_pool_stats, ...) as a read-only Python class,
// field by field, with a repr and as_dict() built from the same list.
template <class T>
class StructClass {
 public:
  StructClass(py::handle scope, const char *name, const char *doc)
      : cls_(scope, name, doc), fields_(std::make_shared<Fields>()) {}

  template <class M>
  StructClass &field(const char *name, M T::*member) {
    return field(name, [member](const T &v) { return v.*member; });
  }
  template <class Get>
  StructClass &field(const char *name, Get get) {
    cls_.def_property_readonly(name, [get](const T &v) { return get(v); });
    fields_->emplace_back(name, [get](const T &v) { return py::cast(get(v)); });
    return *this;
  }
  // Fields shown by repr (the rest are in as_dict only), to keep reprs readable.
  StructClass &repr_fields(std::vector<std::string> names) {
    repr_ = std::make_shared<std::vector<std::string>>(std::move(names));
    return *this;
  }
  py::class_<T> &done() {
    auto fields = fields_;
    auto shown = repr_;
    const std::string name = py::str(cls_.attr("__name__"));
    cls_.def("as_dict", [fields](const T &v) {
      py::dict d;
      for (const auto &[n, get] : *fields) d[py::str(n)] = get(v);
      return d;
    });
    cls_.def("__repr__", [fields, shown, name](const T &v) {
      std::string out = name + "(";
      bool first = true;
      for (const auto &[n, get] : *fields) {
        if (shown && std::find(shown->begin(), shown->end(), n) == shown->end()) continue;
        if (!first) out += ", ";
        first = false;
        out += n + "=" + std::string(py::repr(get(v)));
      }
      return out + ")";
    });
    return cls_;
  }

 private:
  using Fields = std::vector<std::pair<std::string, std::function<py::object(const T &)>>>;
  py::class_<T> cls_;
  std::shared_ptr<Fields> fields_;
  std::shared_ptr<std::vector<std::string>> repr_;
};

// Names used in results and accepted in arguments: "hbm", "dram", "cxl", "cxl-pool", "unknown".
const char *kind_name(tier_node_kind kind);
const char *source_name(tier_source source);

// ---- module parts (one file each) -------------------------------------------------------------

void init_errors(py::module_ &m);
void init_buffers(py::module_ &m);
void init_runtime(py::module_ &m);
void init_allocation(py::module_ &m);
void init_heat(py::module_ &m);
void init_kv(py::module_ &m);
void init_experts(py::module_ &m);

// The tier.Runtime class object, for the files that add methods to it (heat, kv, experts).
py::class_<Runtime> runtime_class(py::module_ &m);

}  // namespace tierpy
