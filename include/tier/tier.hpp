// tier.hpp - the C++20 layer over tier.h: RAII runtime and buffers, a policy builder, and a
// standard allocator bound to a placement. Header-only; links against libtier's C ABI.
//
// Errors: calls that can fail return tier::expected<T>, which holds either the value or a
// tier::failure (the tier_status, the message of tier_last_error() and the errno behind it).
// The layer throws in exactly two places: expected<T>::value() on a failure throws
// tier::bad_expected_access (as std::expected does), and tier::allocator<T>::allocate throws
// std::bad_alloc, because the standard Allocator requirements demand it. No exception ever
// crosses into the C library.
//
// Thread-safety: as tier.h: all operations are thread-safe; a Runtime or Buffer object itself
// is a plain value (do not move it while another thread uses it).
#ifndef TIER_TIER_HPP
#define TIER_TIER_HPP

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tier/tier.h"

namespace tier {

// Why a call failed.
struct failure {
  tier_status status = TIER_EINVAL;
  std::string message;
  int sys_errno = 0;

  // The calling thread's last error from the C library.
  static failure last() {
    return failure{tier_last_status(), tier_last_error(), tier_last_errno()};
  }
  // "invalid argument: policy.mode = 9: not a tier_mode (0..4)"
  std::string what() const {
    return message.empty() ? tier_strerror(status)
                           : std::string(tier_strerror(status)) + ": " + message;
  }
};

class bad_expected_access : public std::runtime_error {
 public:
  explicit bad_expected_access(const failure &f) : std::runtime_error(f.what()), failure_(f) {}
  const failure &error() const noexcept { return failure_; }

 private:
  failure failure_;
};

// A value or the failure that prevented it (a small std::expected<T, failure>).
template <class T>
class [[nodiscard]] expected {
 public:
  expected(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  expected(failure error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  tier_status status() const noexcept { return has_value() ? TIER_OK : std::get<1>(v_).status; }

  T &value() & {
    check();
    return std::get<0>(v_);
  }
  const T &value() const & {
    check();
    return std::get<0>(v_);
  }
  T &&value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T &operator*() & { return std::get<0>(v_); }
  const T &operator*() const & { return std::get<0>(v_); }
  T *operator->() { return &std::get<0>(v_); }
  const T *operator->() const { return &std::get<0>(v_); }
  const failure &error() const & { return std::get<1>(v_); }

 private:
  void check() const {
    if (!has_value()) throw bad_expected_access(std::get<1>(v_));
  }
  std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] expected<void> {
 public:
  expected() = default;
  expected(failure error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  tier_status status() const noexcept { return ok_ ? TIER_OK : error_.status; }
  void value() const {
    if (!ok_) throw bad_expected_access(error_);
  }
  const failure &error() const & { return error_; }

 private:
  failure error_;
  bool ok_ = true;
};

// A placement policy, built fluently: Policy::bind().tier(1), Policy::weighted().node(0, 3)
// .node(2, 1), Policy::preferred().kind(TIER_KIND_HBM). The default is TIER_POLICY_INIT
// (preferred on the fastest tier).
class Policy {
 public:
  Policy() noexcept { tier_policy_init(&p_); }
  explicit Policy(const tier_policy &p) noexcept : p_(p) {}

  static Policy preferred() { return Policy().mode(TIER_MODE_PREFERRED); }
  static Policy bind() { return Policy().mode(TIER_MODE_BIND); }
  static Policy preferred_many() { return Policy().mode(TIER_MODE_PREFERRED_MANY); }
  static Policy interleave() { return Policy().mode(TIER_MODE_INTERLEAVE); }
  static Policy weighted() { return Policy().mode(TIER_MODE_WEIGHTED_INTERLEAVE); }
  // Parses the text grammar of tier_policy_parse (runtime may be null when nothing needs
  // expanding into nodes).
  static expected<Policy> parse(const tier_runtime *runtime, std::string_view text) {
    std::string s(text);
    Policy p;
    if (tier_policy_parse(runtime, s.c_str(), &p.p_) != TIER_OK) return failure::last();
    return p;
  }

  Policy &mode(tier_mode m) noexcept { return p_.mode = m, *this; }
  Policy &fastest() noexcept { return select(TIER_SELECT_FASTEST); }
  Policy &largest() noexcept { return select(TIER_SELECT_LARGEST); }
  Policy &lowest_latency() noexcept { return select(TIER_SELECT_LOWEST_LATENCY); }
  Policy &highest_bandwidth() noexcept { return select(TIER_SELECT_HIGHEST_BANDWIDTH); }
  Policy &tier(int t) noexcept { return p_.tier = t, select(TIER_SELECT_TIER); }
  Policy &kind(tier_node_kind k) noexcept { return p_.kind = k, select(TIER_SELECT_KIND); }
  // Adds a node to the node list (switching the selector to NODES). Entries beyond
  // TIER_POLICY_MAX_NODES make nnodes invalid, which allocation then reports.
  Policy &node(int id, uint8_t weight = 1) noexcept {
    if (p_.select != TIER_SELECT_NODES) p_.nnodes = 0, p_.select = TIER_SELECT_NODES;
    if (p_.nnodes < TIER_POLICY_MAX_NODES) {
      p_.nodes[p_.nnodes] = id;
      p_.weights[p_.nnodes] = weight;
    }
    ++p_.nnodes;
    return *this;
  }
  Policy &no_hugepage() noexcept { return p_.flags |= TIER_POLICY_NO_HUGEPAGE, *this; }

  const tier_policy *c_policy() const noexcept { return &p_; }
  std::string str() const {
    char buf[256];
    int n = tier_policy_format(&p_, buf, sizeof buf);
    return n < 0 ? std::string()
                 : std::string(buf, static_cast<size_t>(n) < sizeof buf ? n : sizeof buf - 1);
  }

 private:
  Policy &select(tier_select s) noexcept { return p_.select = s, *this; }
  tier_policy p_;
};

// Owns memory from tier_malloc; frees it on destruction. Move-only.
class Buffer {
 public:
  Buffer() noexcept = default;
  Buffer(tier_runtime *rt, void *data, size_t size) noexcept : rt_(rt), data_(data), size_(size) {}
  Buffer(Buffer &&o) noexcept
      : rt_(o.rt_), data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Buffer &operator=(Buffer &&o) noexcept {
    if (this != &o) {
      reset();
      rt_ = o.rt_;
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { reset(); }

  void *data() const noexcept { return data_; }
  template <class T>
  T *as() const noexcept {
    return static_cast<T *>(data_);
  }
  size_t size() const noexcept { return size_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

  // Where the buffer's pages are now (bytes per node).
  expected<tier_where_result> where() const {
    tier_where_result r{};
    r.size = sizeof r;
    if (tier_where(rt_, data_, size_, &r) != TIER_OK) return failure::last();
    return r;
  }
  // Resizes (keeping the contents), optionally re-placing under another policy.
  expected<void> resize(size_t size, const Policy *policy = nullptr) {
    void *p = policy ? tier_realloc_policy(rt_, data_, size, policy->c_policy())
                     : tier_realloc(rt_, data_, size);
    if (p == nullptr) return failure::last();
    data_ = p;
    size_ = size;
    return {};
  }
  // Gives up ownership.
  void *release() noexcept {
    size_ = 0;
    return std::exchange(data_, nullptr);
  }
  void reset() noexcept {
    if (data_) tier_free(rt_, data_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  tier_runtime *rt_ = nullptr;
  void *data_ = nullptr;
  size_t size_ = 0;
};

// Owns a tier_runtime (or refers to the process's default one, which is never destroyed).
class Runtime {
 public:
  // topology: as tier_runtime_options.topology (nullptr = environment, then discovery).
  static expected<Runtime> create(const char *topology = nullptr, uint32_t flags = 0) {
    tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
    o.topology = topology;
    o.flags = flags;
    tier_runtime *rt = nullptr;
    if (tier_runtime_create(&o, &rt) != TIER_OK) return failure::last();
    return Runtime(rt, true);
  }
  static expected<Runtime> default_runtime() {
    tier_runtime *rt = tier_default_runtime();
    if (rt == nullptr) return failure::last();
    return Runtime(rt, false);
  }

  Runtime(Runtime &&o) noexcept : rt_(std::exchange(o.rt_, nullptr)), owned_(o.owned_) {}
  Runtime &operator=(Runtime &&o) noexcept {
    if (this != &o) {
      reset();
      rt_ = std::exchange(o.rt_, nullptr);
      owned_ = o.owned_;
    }
    return *this;
  }
  Runtime(const Runtime &) = delete;
  Runtime &operator=(const Runtime &) = delete;
  ~Runtime() { reset(); }

  tier_runtime *get() const noexcept { return rt_; }

  std::vector<tier_node_info> nodes() const {
    std::vector<tier_node_info> out(static_cast<size_t>(tier_node_count(rt_)));
    for (size_t i = 0; i < out.size(); ++i) {
      out[i].size = sizeof(tier_node_info);
      tier_node_at(rt_, static_cast<int>(i), &out[i]);
    }
    return out;
  }
  int tier_count() const noexcept { return tier_tier_count(rt_); }
  bool emulated() const noexcept { return tier_topology_emulated(rt_) != 0; }

  expected<tier_placement *> placement(const Policy &policy) const {
    tier_placement *p = tier_placement_get(rt_, policy.c_policy());
    if (p == nullptr) return failure::last();
    return p;
  }
  expected<Buffer> allocate(size_t size, const Policy &policy = Policy()) const {
    void *p = tier_malloc(rt_, size, policy.c_policy());
    if (p == nullptr) return failure::last();
    return Buffer(rt_, p, size);
  }
  expected<tier_node_stats> node_stats(int node) const {
    tier_node_stats s{};
    s.size = sizeof s;
    if (tier_node_stats_get(rt_, node, &s) != TIER_OK) return failure::last();
    return s;
  }
  expected<tier_node_stats> tier_stats(int tier) const {
    tier_node_stats s{};
    s.size = sizeof s;
    if (tier_tier_stats_get(rt_, tier, &s) != TIER_OK) return failure::last();
    return s;
  }
  expected<void> set_capacity(int node, uint64_t bytes) const {
    if (tier_node_set_capacity(rt_, node, bytes) != TIER_OK) return failure::last();
    return {};
  }

 private:
  Runtime(tier_runtime *rt, bool owned) noexcept : rt_(rt), owned_(owned) {}
  void reset() noexcept {
    if (rt_ && owned_) tier_runtime_destroy(rt_);
    rt_ = nullptr;
  }
  tier_runtime *rt_ = nullptr;
  bool owned_ = false;
};

// A standard allocator placing elements under one placement:
//   auto pl = rt.placement(tier::Policy::bind().kind(TIER_KIND_HBM)).value();
//   std::vector<float, tier::allocator<float>> v(tier::allocator<float>(rt.get(), pl));
template <class T>
class allocator {
 public:
  using value_type = T;

  allocator(tier_runtime *rt, tier_placement *placement) noexcept : rt_(rt), pl_(placement) {}
  template <class U>
  allocator(const allocator<U> &o) noexcept : rt_(o.runtime()), pl_(o.placement()) {}  // NOLINT

  T *allocate(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    void *p = alignof(T) > alignof(std::max_align_t)
                  ? tier_aligned_alloc_p(rt_, alignof(T), n * sizeof(T), pl_)
                  : tier_malloc_p(rt_, n * sizeof(T), pl_);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T *>(p);
  }
  void deallocate(T *p, size_t) noexcept { tier_free(rt_, p); }

  tier_runtime *runtime() const noexcept { return rt_; }
  tier_placement *placement() const noexcept { return pl_; }

  template <class U>
  bool operator==(const allocator<U> &o) const noexcept {
    return rt_ == o.runtime() && pl_ == o.placement();
  }

 private:
  tier_runtime *rt_;
  tier_placement *pl_;
};

}  // namespace tier

#endif  // TIER_TIER_HPP
