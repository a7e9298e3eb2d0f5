// report.cpp - the run matrix and its table, JSON and plot (see report.hpp).
//
// Thread-safety: see report.hpp.
#include "report.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <unistd.h>

#include "belady.hpp"

namespace tier::replay {

namespace {

std::string json_string(const std::string &s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

Row optimum_row(const Workload &w, uint64_t capacity, const TimeModel &model) {
  const OptimumResult r = belady(w, capacity);
  Row row;
  row.policy = kOptimum;
  row.capacity = capacity;
  row.refs = r.refs;
  row.hits = r.hits;
  row.hit_ratio = r.refs ? static_cast<double>(r.hits) / static_cast<double>(r.refs) : 0;
  const uint64_t b = w.object_bytes, promoted = r.insertions - r.created_fast;
  row.bytes_migrated = (promoted + r.evictions) * b;
  // For its time, the optimum serves hits from the fast tier and other reuses from the
  // capacity tier; a new object it keeps is written into the fast tier, the rest below; what
  // it keeps later is copied up and what it evicts copied down.
  ReplayResult as_replay;
  as_replay.fast_read_bytes = r.hits * b;
  as_replay.fast_write_bytes = r.created_fast * b;
  as_replay.slow_write_bytes = (uint64_t{w.objects} - r.created_fast) * b;
  as_replay.slow_read_bytes = (r.refs - r.hits - w.objects) * b;
  as_replay.bytes_migrated = row.bytes_migrated;
  as_replay.promoted_bytes = promoted * b;
  as_replay.demoted_bytes = r.evictions * b;
  if (auto t = model.time(as_replay)) row.time = *t;
  return row;
}

}  // namespace

Result<std::vector<Row>> run_all(const Workload &w, const RunOptions &o, const TimeModel &model) {
  std::vector<Row> rows;
  for (uint64_t cap : o.capacities) {
    const Row opt = optimum_row(w, cap, model);
    for (const std::string &name : o.policies) {
      const auto start = std::chrono::steady_clock::now();
      Row row;
      if (name == kOptimum) {
        row = opt;
      } else {
        auto policy = policy::make_policy(name);
        if (!policy) return std::move(policy).error();
        ReplayConfig c = o.config;
        c.capacity_objects = cap;
        model.describe_nodes(&c);
        auto r = replay(w, *policy, c);
        if (!r) return std::move(r).error();
        row.policy = name;
        row.capacity = cap;
        row.refs = r->refs;
        row.hits = r->hits;
        row.hit_ratio = r->hit_ratio();
        row.bytes_migrated = r->bytes_migrated;
        row.half_life = r->final_half_life;
        auto t = model.time(*r);
        if (!t) return std::move(t).error();
        row.time = *t;
      }
      row.of_optimum = opt.hit_ratio > 0 ? row.hit_ratio / opt.hit_ratio : 0;
      row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (o.progress)
        std::cerr << "  " << std::setw(11) << row.policy << " @ " << std::setw(6) << cap << ": "
                  << std::fixed << std::setprecision(4) << row.hit_ratio << "  ("
                  << std::setprecision(1) << row.seconds << " s)\n";
      rows.push_back(row);
    }
  }
  return rows;
}

void print_table(std::ostream &out, const Workload &w, const std::vector<Row> &rows,
                 const TimeModel &model) {
  out << "workload: " << w.name << " (" << w.kind << ", " << w.refs.size() << " references to "
      << w.objects << " objects of " << (w.object_bytes >> 20) << " MiB, " << w.epochs()
      << " epochs)\n"
      << "model: " << model.describe() << "\n\n";
  out << std::left << std::setw(12) << "policy" << std::right << std::setw(9) << "capacity"
      << std::setw(10) << "total s" << std::setw(10) << "hit ratio" << std::setw(10) << "/optimum"
      << std::setw(14) << "migrated GiB" << std::setw(12) << "memory s" << std::setw(12)
      << "migrate s"
      << "\n";
  for (const Row &r : rows)
    out << std::left << std::setw(12) << r.policy << std::right << std::setw(9) << r.capacity
        << std::fixed << std::setprecision(2) << std::setw(10) << r.time.total_s()
        << std::setprecision(4) << std::setw(10) << r.hit_ratio << std::setw(10)
        << std::setprecision(3) << r.of_optimum << std::setw(14) << std::setprecision(1)
        << static_cast<double>(r.bytes_migrated) / (1ull << 30) << std::setw(12)
        << std::setprecision(2) << r.time.access_s << std::setw(12) << r.time.migration_s << "\n";
}

void print_json(std::ostream &out, const Workload &w, const std::vector<Row> &rows,
                const TimeModel &model) {
  out << "{\"workload\": " << json_string(w.name) << ", \"kind\": " << json_string(w.kind)
      << ", \"references\": " << w.refs.size() << ", \"objects\": " << w.objects
      << ", \"object_bytes\": " << w.object_bytes << ", \"epochs\": " << w.epochs()
      << ", \"model\": " << json_string(model.describe()) << ", \"results\": [";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row &r = rows[i];
    out << (i ? ",\n  " : "\n  ") << "{\"policy\": " << json_string(r.policy)
        << (r.policy == policy::kDefaultPolicy ? ", \"default\": true" : "")
        << ", \"total_seconds\": " << std::setprecision(6) << std::fixed << r.time.total_s()
        << ", \"capacity\": " << r.capacity << ", \"references\": " << r.refs
        << ", \"hits\": " << r.hits << std::setprecision(6) << std::fixed
        << ", \"hit_ratio\": " << r.hit_ratio << ", \"of_optimum\": " << r.of_optimum
        << ", \"bytes_migrated\": " << r.bytes_migrated
        << ", \"memory_seconds\": " << r.time.access_s
        << ", \"migration_seconds\": " << r.time.migration_s
        << ", \"half_life_epochs\": " << r.half_life << "}";
  }
  out << "\n]}\n";
}

Status plot(const std::string &png, const Workload &w, const std::vector<Row> &rows) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("tier-replay-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return make_error(TIER_EOS, "plot: cannot create " + dir.string());
  std::map<std::string, std::vector<const Row *>> by_policy;
  std::vector<std::string> order;
  for (const Row &r : rows) {
    if (!by_policy.count(r.policy)) order.push_back(r.policy);
    by_policy[r.policy].push_back(&r);
  }
  const fs::path script = dir / "plot.gp";
  std::ofstream gp(script);
  gp << "set terminal pngcairo size 800,500 noenhanced\n"
     << "set output " << json_string(png) << "\n"
     << "set title " << json_string("fast-tier hit ratio: " + fs::path(w.name).filename().string())
     << "\nset xlabel 'fast-tier capacity (objects of " << (w.object_bytes >> 20)
     << " MiB)'\nset ylabel 'hit ratio'\nset logscale x 2\nset key outside right\n"
     << "set grid\nset yrange [0:*]\nplot ";
  for (size_t i = 0; i < order.size(); ++i) {
    const fs::path data = dir / ("p" + std::to_string(i) + ".dat");
    std::ofstream d(data);
    for (const Row *r : by_policy[order[i]]) d << r->capacity << " " << r->hit_ratio << "\n";
    gp << (i ? ", " : "") << json_string(data.string()) << " using 1:2 with linespoints lw 2"
       << (order[i] == kOptimum ? " dt 2" : "") << " title " << json_string(order[i]);
  }
  gp << "\n";
  gp.close();
  // gnuplot's messages go to our stderr: stdout carries the table or the JSON.
  std::cout.flush();
  std::string cmd = "gnuplot " + script.string() + " 1>&2";
  int rc = std::system(cmd.c_str());
  if (rc != 0) {  // no cairo: the plain png terminal
    std::ifstream in(script);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    s.replace(s.find("pngcairo"), 8, "png");
    std::ofstream(script) << s;
    rc = std::system(cmd.c_str());
  }
  fs::remove_all(dir, ec);
  if (rc != 0)
    return make_error(TIER_EOS, "plot: gnuplot failed (exit " + std::to_string(rc) + ")");
  return {};
}

}  // namespace tier::replay
