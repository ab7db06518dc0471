// Helpers of the watcher and batcher tests: a temporary folder, file
// writing, and polling a watcher until a condition holds. No clock is read
// here (the clock rule): a wait is a bounded number of Polls, each at most
// `poll_ms` long, so a test that fails ends after (polls x poll_ms) instead
// of hanging, and a test that passes never depends on how fast the machine
// is.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <stdlib.h>

#include <gtest/gtest.h>

#include "agent/watcher.h"
#include "base/temp_dir_test_util.h"

namespace hx::testing {

inline void WriteFile(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

using EventList = std::vector<WatchEvent>;

// Polls until `done(events so far)` or `max_polls` Polls; returns every
// event seen (the caller asserts on them).
inline EventList PollUntil(Watcher& watcher, const std::function<bool(const EventList&)>& done,
                           int max_polls = 600, int poll_ms = 50) {
  EventList all;
  for (int i = 0; i < max_polls && !done(all); ++i) {
    Result<EventList> got = watcher.Poll(poll_ms);
    if (!got.ok()) {
      ADD_FAILURE() << got.error().ToShortString();
      return all;
    }
    for (WatchEvent& event : *got) all.push_back(std::move(event));
  }
  return all;
}

inline bool Has(const EventList& events, WatchEventKind kind, std::string_view path) {
  for (const WatchEvent& e : events) {
    if (e.kind == kind && e.path == path) return true;
  }
  return false;
}

inline bool HasPath(const EventList& events, std::string_view path) {
  for (const WatchEvent& e : events) {
    if (e.path == path) return true;
  }
  return false;
}

inline std::string Describe(const EventList& events) {
  std::string out;
  for (const WatchEvent& e : events) out += "  " + DescribeEvent(e) + "\n";
  return out;
}

}  // namespace hx::testing
