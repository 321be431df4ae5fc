// file_copy: the seeds' file-copy comparison (seeds/001, "单进程与多进程复制文件
// 对比": copying a folder with one process, then with a Pool), ported. It makes
// a folder of files, copies it in this process, then again with a pool (one
// task per file), checks that both copies equal the source, and prints both
// times. The figures are for reading, not for asserting: bench/ measures.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build file_copy && ./build/examples/file_copy [files] [KiB per file]
// Prints:
//   one process: copied 40 files (10240 KiB) in 12.3 ms
//   pool of 4:   copied 40 files (10240 KiB) in 8.1 ms, by 4 worker processes
//   both copies are identical to the source

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The seed's copy function; a pool task, and the single-process loop's body.
uint64_t copy_one(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
  if (!out) throw std::runtime_error("cannot write " + to.string());
  return fs::file_size(from);
}

void copy_task(demo::CopyFile::Reader task, demo::Copied::Builder copied) {
  copied.setBytes(copy_one(task.getFrom().cStr(), task.getTo().cStr()));
  copied.setPid(::getpid());
}

double millis_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

bool same_files(const fs::path& a, const fs::path& b) {
  for (auto& entry : fs::directory_iterator(a)) {
    if (read_file(entry.path()) != read_file(b / entry.path().filename())) return false;
  }
  return true;
}

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_pool(actors, actorproc::pool_functions().add<demo::CopyFile, demo::Copied>(copy_task));
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  int files = argc > 1 ? std::stoi(argv[1]) : 40;
  int kib = argc > 2 ? std::stoi(argv[2]) : 256;
  char pattern[] = "/tmp/actorproc-file-copy-XXXXXX";
  fs::path root = ::mkdtemp(pattern);
  fs::create_directories(root / "source");
  fs::create_directories(root / "by_one_process");
  fs::create_directories(root / "by_pool");
  std::vector<std::string> names;
  for (int i = 0; i < files; ++i) {
    names.push_back("file" + std::to_string(i) + ".bin");
    std::ofstream out(root / "source" / names.back(), std::ios::binary);
    std::string block(1024, static_cast<char>('a' + i % 26));
    for (int k = 0; k < kib; ++k) out << block;
  }

  auto start = std::chrono::steady_clock::now();
  for (auto& name : names) copy_one(root / "source" / name, root / "by_one_process" / name);
  std::printf("one process: copied %d files (%d KiB) in %.1f ms\n", files, files * kib, millis_since(start));

  actorproc::node node{actors};
  auto pool = actorproc::pool::start(node, {.processes = 4}).value();
  start = std::chrono::steady_clock::now();
  auto copied = pool.map<demo::CopyFile, demo::Copied>(names, [&](demo::CopyFile::Builder task, const std::string& name) {
    task.setFrom((root / "source" / name).string());
    task.setTo((root / "by_pool" / name).string());
  });
  if (!copied) {
    std::printf("the pool failed: %s\n", to_string(copied.error()).c_str());
    return 1;
  }
  double pool_ms = millis_since(start);
  std::set<int> pids;
  for (auto& c : *copied) pids.insert(c.getPid());
  std::printf("pool of 4:   copied %zu files (%d KiB) in %.1f ms, by %zu worker processes\n", copied->size(),
              files * kib, pool_ms, pids.size());

  bool identical = same_files(root / "source", root / "by_one_process") && same_files(root / "source", root / "by_pool");
  std::printf("%s\n", identical ? "both copies are identical to the source" : "the copies DIFFER from the source");
  fs::remove_all(root);
  return identical ? 0 : 1;
}
