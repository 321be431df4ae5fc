// crawler: the seeds' crawler (seeds/003, "Mylittlespider": a Pool fetches
// pages with apply_async, and parser_page, the callback, saves each page to a
// file named by the hash of its url), ported to a site on local disk so that
// it runs anywhere. It is also a small pipeline topology: the workers fetch
// and extract links; the callback, in the node, saves the page and feeds the
// new links back into the pool, until no page is left to visit.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build crawler && ./build/examples/crawler
// Prints (order varies):
//   page3.html end. . .   (one line per page saved)
//   crawled 13 pages from index.html, 25 links followed, 13 files saved, orphan.html was never reached

#include <actorproc/actorproc.hpp>
#include <examples/messages.capnp.h>

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <regex>
#include <set>
#include <string>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// get_page, in a worker process: read the page and list the links in it.
void get_page(demo::Url::Reader url, demo::Page::Builder page) {
  std::ifstream in(url.getUrl().cStr());
  if (!in) throw std::runtime_error("cannot open " + std::string(url.getUrl()));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  static const std::regex link("href=\"([^\"]+)\"");
  std::vector<std::string> links;
  for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) links.push_back((*it)[1]);
  page.setUrl(url.getUrl());
  page.setBytes(text.size());
  page.setPid(::getpid());
  auto out = page.initLinks(static_cast<unsigned>(links.size()));
  for (unsigned i = 0; i < links.size(); ++i) out.set(i, links[i]);
}

// A site of 12 linked pages, plus one page nothing links to.
fs::path make_site(const fs::path& root) {
  fs::create_directories(root / "site");
  for (int i = 0; i < 12; ++i) {
    std::ofstream out(root / "site" / ("page" + std::to_string(i) + ".html"));
    out << "<html><body>page " << i;
    out << " <a href=\"page" << (i + 1) % 12 << ".html\">next</a>";
    out << " <a href=\"page" << (i * 7 + 3) % 12 << ".html\">jump</a>";
    out << "</body></html>\n";
  }
  std::ofstream(root / "site" / "index.html") << "<a href=\"page0.html\">start</a>\n";
  std::ofstream(root / "site" / "orphan.html") << "nobody links here\n";
  return root / "site";
}

class crawler {
 public:
  crawler(actorproc::pool& pool, fs::path site, fs::path saved) : pool_(pool), site_(site), saved_(saved) {}

  // Visits `page` once; safe to call from the pool's callbacks.
  void visit(const std::string& page) {
    {
      std::lock_guard lock(mutex_);
      if (!seen_.insert(page).second) return;
      ++outstanding_;
    }
    pool_.apply_async<demo::Url, demo::Page>(
        [&](demo::Url::Builder u) { u.setUrl((site_ / page).string()); },
        [this](const actorproc::pool_result<demo::Page>& p) { parser_page(p); },
        [this, page](const actorproc::error& e) {
          std::printf("%s failed: %s\n", page.c_str(), to_string(e).c_str());
          finished();
        });
  }

  // Waits until no page is left to fetch.
  bool wait(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [&] { return outstanding_ == 0; });
  }
  std::size_t pages() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::size_t links_followed() const { return links_; }
  bool seen(const std::string& page) {
    std::lock_guard lock(mutex_);
    return seen_.count(page) > 0;
  }

 private:
  // The seed's parser_page: save the page under the hash of its url, then follow its links.
  void parser_page(const actorproc::pool_result<demo::Page>& page) {
    std::string url = page.getUrl();
    fs::copy_file(url, saved_ / std::to_string(std::hash<std::string>()(url)), fs::copy_options::overwrite_existing);
    std::printf("%s end. . .\n", fs::path(url).filename().c_str());
    std::fflush(stdout);
    for (auto link : page.getLinks()) {
      ++links_;
      visit(link);
    }
    finished();
  }
  void finished() {
    std::lock_guard lock(mutex_);
    if (--outstanding_ == 0) idle_.notify_all();
  }

  actorproc::pool& pool_;
  fs::path site_;
  fs::path saved_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::set<std::string> seen_;
  std::size_t outstanding_ = 0;
  std::size_t links_ = 0;  // only the dispatcher thread counts
};

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_pool(actors, actorproc::pool_functions().add<demo::Url, demo::Page>(get_page));
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  char pattern[] = "/tmp/actorproc-crawler-XXXXXX";
  fs::path root = ::mkdtemp(pattern);
  fs::path site = make_site(root);
  fs::create_directories(root / "saved");

  actorproc::node node{actors};
  auto pool = actorproc::pool::start(node, {.processes = 2}).value();
  crawler crawl(pool, site, root / "saved");
  crawl.visit("index.html");
  bool done = crawl.wait(60s);
  pool.close();
  pool.join().value();
  std::size_t saved = std::distance(fs::directory_iterator(root / "saved"), fs::directory_iterator());
  std::printf("crawled %zu pages from index.html, %zu links followed, %zu files saved, orphan.html was %s\n",
              crawl.pages(), crawl.links_followed(), saved,
              crawl.seen("orphan.html") ? "visited (wrong)" : "never reached");
  fs::remove_all(root);
  return done ? 0 : 1;
}
