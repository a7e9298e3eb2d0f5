// options.hpp - tier-serve-demo's command line and where it finds the reference data.
//
// Every flag with its default is in usage(). The data defaults to ../shared/data beside the
// repository: the demo looks for `../shared/data` from the source directory baked in at
// configure time and each of its parents, then from the current directory and its parents,
// and names every place it looked when nothing is there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace serve_demo {

struct Options {
  std::string trace;     // Mooncake conversation trace (.jsonl)
  std::string moe;       // a popularity .json file or a directory of them
  std::string topology;  // runtime topology (preset, file); "" = the runtime's default
  std::string policy = "heat";
  std::vector<uint64_t> capacities_mib;  // per node in tier order (empty = the topology's)
  double seconds = 30;                   // wall-time bound
  uint64_t requests = 0;                 // request bound (0 = as many as fit in `seconds`)
  uint32_t batch = 8;                    // running sequences at most
  uint32_t decode_tokens = 64;           // tokens decoded per sequence per step (time compression)
  uint32_t block_mib = 2;                // one trace block (512 tokens) = this many MiB
  uint32_t pool_blocks = 320;            // KV pool size
  uint32_t expert_mib = 2;               // one expert tensor
  uint32_t subject_steps = 150;          // steps before routing switches to the next subject's file
  uint32_t route_tokens = 64;  // tokens drawn per layer per step (counts scaled to the batch)
  uint32_t period_ms = 50;     // agent epoch period
  double half_life = 4;        // agent heat half-life, in epochs (the agent default)
  uint64_t seed = 42;
  bool prefetch = true;
  bool json = false;
  bool quiet = false;
};

// Parses argv; on error or --help prints to stderr/stdout and returns the exit code to use
// (>= 0); returns -1 to go on.
int parse_options(int argc, char **argv, Options *out);

// Fills empty trace/moe paths from the data search; false (with a message on stderr) when a
// path is missing.
bool resolve_data(Options *o);

}  // namespace serve_demo
