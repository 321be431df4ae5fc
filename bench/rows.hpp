#pragma once
// The one contract between the benchmark programs and scripts/bench.sh: besides
// its own human table, every program, given `--rows FILE`, appends one line per
// measured figure to FILE:
//
//   ROW <tab> figure <tab> side <tab> median <tab> unit <tab> min <tab> max <tab> n
//
// `figure` is a stable id (bench/figures.tsv lists them, with their titles and
// their Python counterparts); `side` is `ours` or `raw` (a raw socketpair / raw
// C baseline measured in the same run). bench/report.py joins these lines with
// the Python script's ANCHOR lines (the same columns) into one table, the JSON
// file and the chart. A header, not a library: each program is one TU.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace bench {

struct summary {
  double median = 0, min = 0, max = 0;
  std::size_t n = 0;
};

/// Median, min and max of a sample (empty sample: all zero).
inline summary summarize(std::vector<double> v) {
  summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = (s.n % 2) ? v[s.n / 2] : 0.5 * (v[s.n / 2 - 1] + v[s.n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

/// Where rows go: set by take_rows_option(); no file means no rows.
inline std::string& rows_path() {
  static std::string path;
  return path;
}

/// Removes `--rows FILE` from argv (so each program parses the rest as before).
inline void take_rows_option(int& argc, char** argv) {
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
      rows_path() = argv[++i];
    } else {
      argv[out++] = argv[i];
    }
  }
  argc = out;
  argv[argc] = nullptr;
}

/// Appends one figure. Opened and closed per row: programs fork, and a row
/// written by a child must not be lost in a buffer or written twice.
inline void emit_row(const char* figure, const char* side, const summary& s, const char* unit) {
  if (rows_path().empty() || s.n == 0) return;
  if (FILE* f = std::fopen(rows_path().c_str(), "a")) {
    std::fprintf(f, "ROW\t%s\t%s\t%.6g\t%s\t%.6g\t%.6g\t%zu\n", figure, side, s.median, unit, s.min, s.max, s.n);
    std::fclose(f);
  }
}

inline void emit_row(const char* figure, const char* side, const std::vector<double>& samples, const char* unit) {
  emit_row(figure, side, summarize(samples), unit);
}

}  // namespace bench
