/*
 * alloc_demo.c - the README's first job for now: show the tiers this machine (or its
 * emulation) has, place buffers by policy, and ask where their pages really are.
 * Written in plain C against the public ABI only, so it doubles as a check that tier.h
 * is usable from C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tier/tier.h>

#define MiB (1024ull * 1024ull)

static void print_where(tier_runtime *rt, const char *label, void *p, size_t len) {
  tier_where_result w;
  memset(&w, 0, sizeof w);
  w.size = sizeof w;
  if (tier_where(rt, p, len, &w) != TIER_OK) {
    printf("  %-34s where: %s\n", label, tier_last_error());
    return;
  }
  printf("  %-34s", label);
  for (int i = 0; i < w.nentries; i++) {
    tier_node_info info;
    memset(&info, 0, sizeof info);
    info.size = sizeof info;
    const char *name = "?";
    if (tier_node_get(rt, w.entries[i].node, &info) == TIER_OK) name = info.name;
    printf(" %s=%llu MiB", name, (unsigned long long)(w.entries[i].bytes / MiB));
  }
  if (w.not_resident) printf(" untouched=%llu MiB", (unsigned long long)(w.not_resident / MiB));
  printf("\n");
}

static void *place(tier_runtime *rt, const char *policy_text, size_t len) {
  tier_policy pol;
  tier_policy_init(&pol);
  if (tier_policy_parse(rt, policy_text, &pol) != TIER_OK) {
    printf("  %-34s policy error: %s\n", policy_text, tier_last_error());
    return NULL;
  }
  void *p = tier_malloc(rt, len, &pol);
  if (!p) {
    printf("  %-34s allocation failed: %s\n", policy_text, tier_last_error());
    return NULL;
  }
  memset(p, 0x5a, len); /* touch every page so it has a node */
  print_where(rt, policy_text, p, len);
  return p;
}

int main(void) {
  tier_runtime *rt = NULL;
  tier_runtime_options opts = TIER_RUNTIME_OPTIONS_INIT;
  if (tier_runtime_create(&opts, &rt) != TIER_OK) {
    fprintf(stderr, "tier_runtime_create: %s\n", tier_last_error());
    return 1;
  }
  printf("Tier %s - topology: %s%s\n", tier_version(), tier_topology_source(rt),
         tier_topology_emulated(rt) ? " (emulated nodes)" : "");
  printf("  %-5s %-10s %-9s %-5s %12s %10s %12s\n", "node", "name", "kind", "tier", "capacity",
         "latency", "bandwidth");
  const char *kinds[] = {"unknown", "dram", "hbm", "cxl", "cxl-pool"};
  for (int i = 0; i < tier_node_count(rt); i++) {
    tier_node_info n;
    memset(&n, 0, sizeof n);
    n.size = sizeof n;
    if (tier_node_at(rt, i, &n) != TIER_OK) continue;
    printf("  %-5d %-10s %-9s %-5d %9llu MiB %7.0f ns %7.0f GB/s\n", n.id, n.name,
           kinds[n.kind >= 0 && n.kind <= 4 ? n.kind : 0], n.tier,
           (unsigned long long)(n.capacity / MiB), n.read_latency_ns,
           n.read_bandwidth_mbps / 1000.0);
  }

  printf("\nPlacing 64 MiB buffers by policy and asking the kernel where the pages are:\n");
  const char *policies[] = {"preferred=fastest", "bind=tier:1", "preferred=largest",
                            "interleave=dram,cxl", "weighted=dram:3,cxl:1"};
  void *bufs[5] = {0};
  for (int i = 0; i < 5; i++) bufs[i] = place(rt, policies[i], 64 * MiB);

  printf("\nPer-tier statistics:\n");
  for (int t = 0; t < tier_tier_count(rt); t++) {
    tier_node_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    if (tier_tier_stats_get(rt, t, &s) != TIER_OK) continue;
    printf("  tier %d: allocated %llu MiB, reserved %llu MiB, peak %llu MiB, capacity %llu MiB\n",
           t, (unsigned long long)(s.allocated / MiB), (unsigned long long)(s.reserved / MiB),
           (unsigned long long)(s.peak / MiB), (unsigned long long)(s.capacity / MiB));
  }
  for (int i = 0; i < 5; i++) tier_free(rt, bufs[i]);
  tier_runtime_destroy(rt);
  return 0;
}
