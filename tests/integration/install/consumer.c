/* consumer.c - the C API from an installed Tier: a runtime on the built-in emulated
 * topology, a small and a large allocation on the fastest tier, where they live, freed. */
#include <stdio.h>
#include <string.h>
#include <tier/tier.h>

int main(void) {
  tier_runtime_options o = TIER_RUNTIME_OPTIONS_INIT;
  o.topology = "default";
  tier_runtime *rt = NULL;
  if (tier_runtime_create(&o, &rt) != TIER_OK) {
    fprintf(stderr, "runtime: %s\n", tier_last_error());
    return 1;
  }
  char *small = tier_malloc(rt, 100, NULL);
  char *large = tier_malloc(rt, 4u << 20, NULL);
  if (!small || !large) {
    fprintf(stderr, "alloc: %s\n", tier_last_error());
    return 1;
  }
  memset(small, 1, 100);
  memset(large, 2, 4u << 20);
  tier_where_result w;
  memset(&w, 0, sizeof w);
  w.size = sizeof w;
  if (tier_where(rt, large, 4u << 20, &w) != TIER_OK || w.nentries < 1) return 1;
  printf("consumer: 4 MiB on node %d (%llu bytes)\n", w.entries[0].node,
         (unsigned long long)w.entries[0].bytes);
  tier_free(rt, small);
  tier_free(rt, large);
  tier_runtime_destroy(rt);
  return 0;
}
