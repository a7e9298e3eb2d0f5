// errors.cpp - tier.TierError: every tier_status other than TIER_OK reaches Python as one, with
// the code's name, Tier's message for this failure and the errno behind it.
#include <cstring>
#include <string>

#include "common.hpp"

namespace tierpy {

namespace {

// Created once in init_errors; a module-lifetime reference (the module holds it too).
PyObject *tier_error = nullptr;

struct StatusName {
  tier_status status;
  const char *name;
};
constexpr StatusName kStatusNames[] = {
    {TIER_OK, "OK"},           {TIER_EINVAL, "EINVAL"}, {TIER_ENOMEM, "ENOMEM"},
    {TIER_ENODEV, "ENODEV"},   {TIER_ENOSYS, "ENOSYS"}, {TIER_ETOPOLOGY, "ETOPOLOGY"},
    {TIER_ECONFIG, "ECONFIG"}, {TIER_EOS, "EOS"},       {TIER_ENOTOWNED, "ENOTOWNED"},
    {TIER_EBUSY, "EBUSY"},     {TIER_EPERM, "EPERM"},   {TIER_EPROTO, "EPROTO"},
};

const char *status_name(tier_status status) {
  for (const auto &s : kStatusNames)
    if (s.status == status) return s.name;
  return "UNKNOWN";
}

}  // namespace

void raise_status(tier_status status) {
  // The last error belongs to the last failing call on this thread; only use it when it is
  // this failure's (every failing call sets it, but a stale message would mislead).
  const bool ours = tier_last_status() == status;
  const std::string detail = ours ? tier_last_error() : "";
  const int err = ours ? tier_last_errno() : 0;
  std::string message = tier_strerror(status);
  if (!detail.empty()) message += ": " + detail;
  if (err != 0) message += " (errno " + std::to_string(err) + ": " + std::strerror(err) + ")";

  py::object type = py::reinterpret_borrow<py::object>(tier_error);
  py::object exc = type(message);
  exc.attr("status") = static_cast<int>(status);
  exc.attr("status_name") = status_name(status);
  exc.attr("detail") = detail;
  exc.attr("errno") = err;
  PyErr_SetObject(tier_error, exc.ptr());
  throw py::error_already_set();
}

void raise_last() {
  raise_status(tier_last_status());
}

void init_errors(py::module_ &m) {
  tier_error = PyErr_NewExceptionWithDoc(
      "tier.TierError",
      "A Tier call failed. str(e) is tier_strerror(status) and Tier's message; the attributes\n"
      "are status (a negative tier_status, see tier.Status), status_name ('ENOMEM'), detail\n"
      "(tier_last_error()) and errno (the OS errno behind an EOS, else 0).",
      PyExc_RuntimeError, nullptr);
  if (tier_error == nullptr) throw py::error_already_set();
  m.attr("TierError") = py::reinterpret_borrow<py::object>(tier_error);

  // Status codes by name, for tier.Status (an IntEnum built in __init__.py).
  py::dict codes;
  for (const auto &s : kStatusNames) codes[py::str(s.name)] = static_cast<int>(s.status);
  m.attr("_status_codes") = codes;
  m.def(
      "strerror", [](int status) { return tier_strerror(static_cast<tier_status>(status)); },
      py::arg("status"), "tier_strerror: the static name of a status code.");
}

}  // namespace tierpy
