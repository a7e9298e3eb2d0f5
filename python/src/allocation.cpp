// allocation.cpp - tier.Allocation: memory from tier_malloc under a policy, lent to numpy and
// torch without a copy through the buffer protocol, freed explicitly or when collected.
#include <cstring>

#include "common.hpp"

namespace tierpy {

namespace {

class Allocation {
 public:
  Allocation(RuntimePtr rt, void *ptr, size_t size, std::string policy)
      : rt_(std::move(rt)), ptr_(ptr), size_(size), policy_(std::move(policy)) {}
  // Every lent view holds a reference to this object, so none is alive here.
  ~Allocation() {
    if (ptr_ != nullptr) tier_free(rt_->get(), ptr_);
  }
  Allocation(const Allocation &) = delete;
  Allocation &operator=(const Allocation &) = delete;

  void free() {
    if (ptr_ == nullptr) return;  // like close(): a second free is harmless
    refuse_while_lent("free");
    const tier_status s = tier_free(rt_->get(), ptr_);
    ptr_ = nullptr;  // even on failure: the block is not this object's to use any more
    check(s);
  }

  void realloc(size_t size, const std::optional<std::string> &policy) {
    void *p = live("realloc");
    refuse_while_lent("realloc");  // the block may move: views would point at the old one
    if (size == 0) throw py::value_error("realloc to 0 bytes: use free()");
    void *q;
    std::string text = policy_;
    if (policy) {
      const tier_policy pol = parse_policy(rt_->get(), *policy);
      text = format_policy(pol);
      q = tier_realloc_policy(rt_->get(), p, size, &pol);
    } else {
      q = tier_realloc(rt_->get(), p, size);
    }
    if (q == nullptr) raise_last();  // the old block is untouched and still ours
    ptr_ = q;
    size_ = size;
    policy_ = std::move(text);
  }

  void *live(const char *what) const {
    if (ptr_ == nullptr) throw py::value_error(std::string(what) + ": the allocation was freed");
    return ptr_;
  }
  size_t size() const { return size_; }
  const std::string &policy() const { return policy_; }
  bool freed() const { return ptr_ == nullptr; }
  int exports() const { return exports_; }
  tier_runtime *runtime() const { return rt_->get(); }

  static int getbuffer(PyObject *self, Py_buffer *view, int flags) {
    return guarded_getbuffer(view, [&] {
      auto &a = py::handle(self).cast<Allocation &>();
      void *p = a.live("buffer");
      ++a.exports_;
      auto owner = py::reinterpret_borrow<py::object>(self);
      return lend(view, flags, p, a.size_, [owner, &a] { --a.exports_; });
    });
  }

 private:
  void refuse_while_lent(const char *what) const {
    if (exports_ > 0)
      throw py::buffer_error(
          std::string("cannot ") + what + " the allocation: " + std::to_string(exports_) +
          " view(s) of its memory are alive (numpy arrays, torch tensors, "
          "memoryviews, or a tier Region or expert holding it); drop them first");
  }

  RuntimePtr rt_;
  void *ptr_;
  size_t size_;
  std::string policy_;
  int exports_ = 0;
};

Allocation *allocate(const Runtime &r, int64_t size_arg, const std::optional<std::string> &policy,
                     int64_t alignment_arg, bool zero) {
  const size_t size = to_size(size_arg, "size");
  const size_t alignment = to_size(alignment_arg, "alignment");
  tier_policy pol;
  tier_policy_init(&pol);
  if (policy) pol = parse_policy(r.get(), *policy);
  void *p;
  if (alignment != 0) {
    p = tier_aligned_alloc(r.get(), alignment, size, &pol);
    if (p != nullptr && zero) std::memset(p, 0, size);
  } else if (zero) {
    p = tier_calloc(r.get(), 1, size, &pol);
  } else {
    p = tier_malloc(r.get(), size, &pol);
  }
  if (p == nullptr) raise_last();
  return new Allocation(r.core, p, size, format_policy(pol));
}

}  // namespace

void init_allocation(py::module_ &m) {
  py::class_<Allocation> cls(m, "Allocation", py::buffer_protocol(), R"doc(
Memory from Runtime.alloc. It supports the buffer protocol: numpy.frombuffer(a, dtype=...),
torch.frombuffer(a, dtype=...) and memoryview(a) view the same bytes without a copy.
While any such view is alive, free() and realloc() raise BufferError; a freed allocation
lends no new view (ValueError). Collected allocations are freed.)doc");
  set_getbuffer(cls, &Allocation::getbuffer);
  cls.def_property_readonly(
         "address",
         [](const Allocation &a) { return reinterpret_cast<uintptr_t>(a.live("address")); })
      .def_property_readonly("size", &Allocation::size, "bytes asked for (the buffer's length)")
      .def_property_readonly(
          "usable_size",
          [](const Allocation &a) { return tier_usable_size(a.runtime(), a.live("usable_size")); },
          "bytes usable in the block (tier_usable_size, >= size)")
      .def_property_readonly("policy", &Allocation::policy, "the placement policy, as text")
      .def_property_readonly("freed", &Allocation::freed)
      .def_property_readonly("exports", &Allocation::exports, "views of the memory alive now")
      .def("free", &Allocation::free,
           "Frees the memory (BufferError while views are alive; a second call does nothing).")
      .def(
          "realloc",
          [](Allocation &a, int64_t size, const std::optional<std::string> &policy) {
            a.realloc(to_size(size, "size"), policy);
          },
          py::arg("size"), py::arg("policy") = py::none(),
          "Resizes, keeping the contents, optionally re-placing under a new policy (the address\n"
          "may change, so views must be gone: BufferError otherwise).")
      .def("__len__", &Allocation::size)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](Allocation &a, py::args) { a.free(); })
      .def("__repr__", [](const Allocation &a) {
        if (a.freed()) return std::string("Allocation(freed)");
        char addr[32];
        std::snprintf(addr, sizeof addr, "%p", a.live("repr"));
        return "Allocation(size=" + std::to_string(a.size()) +
               ", policy=" + std::string(py::repr(py::str(a.policy()))) + ", address=" + addr +
               ", exports=" + std::to_string(a.exports()) + ")";
      });

  runtime_class(m).def("alloc", &allocate, py::arg("size"), py::arg("policy") = py::none(),
                       py::kw_only(), py::arg("alignment") = 0, py::arg("zero") = false,
                       py::return_value_policy::take_ownership, R"doc(
Allocates `size` bytes under `policy` (tier_policy_parse's grammar: "bind=hbm",
"preferred=fastest", "interleave=dram,cxl", "weighted=dram:3,cxl:1", ...; None = preferred on
the fastest tier). alignment: a power of two up to 2 MiB; zero: zero-filled.)doc");
}

}  // namespace tierpy
