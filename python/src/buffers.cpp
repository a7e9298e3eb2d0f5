// buffers.cpp - how Tier memory is lent to Python: leases behind the buffer protocol, held
// buffers of caller objects, and byte ranges named by a Python value.
#include <exception>

#include "common.hpp"

namespace tierpy {

namespace {

// The object a lent Py_buffer's `obj` points to. It exists exactly as long as some consumer
// can reach the memory: the Py_buffer holds one reference, and a consumer that keeps view.obj
// past PyBuffer_Release (torch.frombuffer) holds another.
class Lease {
 public:
  explicit Lease(std::function<void()> on_end) : on_end_(std::move(on_end)) {}
  ~Lease() {
    if (on_end_) on_end_();
  }
  Lease(const Lease &) = delete;
  Lease &operator=(const Lease &) = delete;

 private:
  std::function<void()> on_end_;
};

}  // namespace

int lend(Py_buffer *view, int flags, void *ptr, size_t len, std::function<void()> on_end) {
  // Made first so that every path below ends the lease exactly once: when PyBuffer_FillInfo
  // fails, dropping `lease` here runs on_end; when it succeeds, the view owns the reference.
  py::object lease =
      py::cast(new Lease(std::move(on_end)), py::return_value_policy::take_ownership);
  if (PyBuffer_FillInfo(view, lease.ptr(), ptr, static_cast<Py_ssize_t>(len), /*readonly=*/0,
                        flags) != 0)
    return -1;
  return 0;
}

// Never called: PyBuffer_Release calls the slot of view->obj's type, the lease's. Its presence
// is what tells consumers that a view must be held and released: numpy.frombuffer keeps a
// memoryview (and so the lease) only for exporters with a release slot, and otherwise drops the
// view at once and keeps a bare reference, which would make its arrays invisible to the count.
namespace {
void no_release(PyObject *, Py_buffer *) {}
}  // namespace

void set_getbuffer(py::handle type, getbufferproc getbuffer) {
  auto *t = reinterpret_cast<PyTypeObject *>(type.ptr());
  // py::buffer_protocol() pointed tp_as_buffer at the heap type's own slot table.
  t->tp_as_buffer->bf_getbuffer = getbuffer;
  t->tp_as_buffer->bf_releasebuffer = no_release;
}

int guarded_getbuffer(Py_buffer *view, const std::function<int()> &body) {
  view->obj = nullptr;
  try {
    return body();
  } catch (py::error_already_set &e) {
    e.restore();
  } catch (py::builtin_exception &e) {
    e.set_error();
  } catch (const std::exception &e) {
    PyErr_SetString(PyExc_BufferError, e.what());
  }
  view->obj = nullptr;
  return -1;
}

HeldBuffer::HeldBuffer(py::handle obj) {
  if (!PyObject_CheckBuffer(obj.ptr()))
    throw py::type_error(std::string("expected an object with the buffer protocol, got ") +
                         Py_TYPE(obj.ptr())->tp_name);
  // PyBUF_SIMPLE asks for one contiguous byte range (a non-contiguous numpy slice is refused).
  if (PyObject_GetBuffer(obj.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
}

HeldBuffer::~HeldBuffer() {
  PyBuffer_Release(&view_);
}

size_t to_size(int64_t value, const char *what) {
  if (value < 0)
    throw py::value_error(std::string(what) + " must be >= 0, got " + std::to_string(value));
  return static_cast<size_t>(value);
}

HeldRange hold_range(py::handle target, std::optional<size_t> size) {
  if (PyBool_Check(target.ptr())) throw py::type_error("expected an address or a buffer, got bool");
  if (PyLong_Check(target.ptr())) {
    if (!size) throw py::type_error("an address needs a size");
    const auto addr = target.cast<uintptr_t>();
    if (addr == 0) throw py::value_error("address 0");
    return {{reinterpret_cast<void *>(addr), *size}, nullptr};
  }
  auto held = std::make_unique<HeldBuffer>(target);
  if (size && *size > held->len())
    throw py::value_error("size " + std::to_string(*size) + " exceeds the buffer's " +
                          std::to_string(held->len()) + " bytes");
  const Range range{held->ptr(), size ? *size : held->len()};
  return {range, std::move(held)};
}

void init_buffers(py::module_ &m) {
  py::class_<Lease>(m, "_Lease",
                    "The owner of one lent view of Tier memory (a memoryview's .obj, a numpy\n"
                    "array's base): while it lives, the memory cannot be freed.");
}

}  // namespace tierpy
