// threads.cpp - threads that libtier starts (the in-process agent, and any thread of the
// client layer) inherit the reentrancy guard of the shim call that created them.
//
// Why: the guard is thread-local. Without this, the agent thread's own std::vector growth
// would reach malloc unguarded, be placed by a rule, and register regions while the agent
// holds its epoch lock (a self-deadlock), besides putting libtier's bookkeeping on CXL.
// pthread_create is interposed for that alone: a thread created with the guard down (every
// thread of the program itself) is passed to the next pthread_create untouched.
// Thread-safety: thread-safe; the trampoline's small record comes from the next allocator.
#include <dlfcn.h>
#include <pthread.h>

#include <cerrno>

#include "next.hpp"
#include "shim.hpp"

namespace {

using create_fn = int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

struct Start {
  void *(*routine)(void *);
  void *arg;
};

void *guarded_start(void *p) {
  Start s = *static_cast<Start *>(p);
  tier::preload::g_next.free(p);
  tier::preload::t_depth = 1;  // for the thread's whole life: it runs only libtier code
  return s.routine(s.arg);
}

create_fn next_create() {
  static create_fn fn = reinterpret_cast<create_fn>(dlsym(RTLD_NEXT, "pthread_create"));
  return fn;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pthread_create(pthread_t *thread,
                                                                     const pthread_attr_t *attr,
                                                                     void *(*routine)(void *),
                                                                     void *arg) {
  create_fn next = next_create();
  if (next == nullptr) return EAGAIN;
  if (tier::preload::t_depth == 0 || !tier::preload::next_ready())
    return next(thread, attr, routine, arg);
  auto *s = static_cast<Start *>(tier::preload::g_next.malloc(sizeof(Start)));
  if (s == nullptr) return EAGAIN;
  *s = Start{routine, arg};
  int rc = next(thread, attr, guarded_start, s);
  if (rc != 0) tier::preload::g_next.free(s);
  return rc;
}
