// consumer.cpp - the C++ header from an installed Tier: an RAII runtime and a vector whose
// elements live on the fastest tier.
#include <cstdio>
#include <tier/tier.hpp>
#include <vector>

int main() {
  auto rt = tier::Runtime::create("default");
  if (!rt) {
    std::fprintf(stderr, "runtime: %s\n", rt.error().message.c_str());
    return 1;
  }
  auto pl = rt->placement(tier::Policy());
  if (!pl) return 1;
  std::vector<int, tier::allocator<int>> v(1 << 20, 7, tier::allocator<int>(rt->get(), *pl));
  long sum = 0;
  for (int x : v) sum += x;
  std::printf("consumer_cpp: sum %ld\n", sum);
  return sum == 7L * (1 << 20) ? 0 : 1;
}
