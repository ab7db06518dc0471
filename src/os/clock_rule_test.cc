// The clock rule (base/clock.h): no code under src/ reads a clock or sleeps
// on its own; time comes from the Clock the caller hands down. Only the real
// Env (os/posix_env.cc, which implements RealClock) and the CLI (which hands
// the real clock down) may. This test reads every source file under src/
// and fails naming each line that breaks the rule.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hx {
namespace {

namespace fs = std::filesystem;

// Reading the clock or sleeping, in any of the ways C++ and POSIX offer.
const std::regex& ClockRead() {
  static const std::regex re(
      R"((steady_clock|system_clock|high_resolution_clock|utc_clock|file_clock)::now)"
      R"(|\bclock_gettime\b|\bgettimeofday\b|\btime\((nullptr|NULL|0)\))"
      R"(|\bsleep_for\b|\bsleep_until\b|\busleep\(|\bnanosleep\()");
  return re;
}

// A cheap first look (std::regex is slow): every match contains one of these.
bool MayReadClock(const std::string& line) {
  for (const char* word : {"::now", "clock_gettime", "gettimeofday", "time(", "sleep"}) {
    if (line.find(word) != std::string::npos) return true;
  }
  return false;
}

// Files (relative to src/, '/'-separated) allowed to read the clock.
bool Allowed(const std::string& rel) {
  auto ends_with = [&](std::string_view suffix) { return rel.ends_with(suffix); };
  if (ends_with("_test.cc") || ends_with("_bench.cc") || ends_with("_test_util.h")) {
    return true;  // tests (and their helpers) measure and wait
  }
  if (rel == "os/posix_env.cc") return true;                         // RealClock itself
  if (rel.starts_with("cli/")) return true;                          // hands RealClock down
  if (rel.starts_with("store/s3/testing/")) return true;             // test fixtures (moto, proxy)
  if (rel.starts_with("hub/testing/")) return true;                  // test fixture (hx serve)
  return false;
}

// The line without a // comment (a comment may name a clock it does not
// read).
std::string Code(const std::string& line) {
  const std::size_t comment = line.find("//");
  return comment == std::string::npos ? line : line.substr(0, comment);
}

std::vector<std::string> Violations(const fs::path& src) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".cc" && ext != ".h" && ext != ".cpp") continue;
    const std::string rel = entry.path().lexically_relative(src).generic_string();
    if (Allowed(rel)) continue;
    std::ifstream in(entry.path());
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (MayReadClock(line) && std::regex_search(Code(line), ClockRead())) {
        found.push_back("src/" + rel + ":" + std::to_string(number) + ": " + line);
      }
    }
  }
  return found;
}

TEST(ClockRule, NoCodeUnderSrcReadsAClockExceptTheRealEnvAndTheCli) {
  const fs::path src = fs::path(HX_SOURCE_DIR) / "src";
  ASSERT_TRUE(fs::is_directory(src)) << src;
  const std::vector<std::string> found = Violations(src);
  std::string listing;
  for (const std::string& v : found) listing += v + "\n";
  EXPECT_TRUE(found.empty()) << "read the time from the Clock handed down (base/clock.h, "
                                "Session::clock, ScanOptions::clock) instead:\n"
                             << listing;
}

TEST(ClockRule, ThePatternCatchesEveryWayOfReadingTheClock) {
  for (const char* line :
       {"auto t = std::chrono::steady_clock::now();", "system_clock::now().time_since_epoch()",
        "::clock_gettime(CLOCK_REALTIME, &ts);", "std::this_thread::sleep_for(d);",
        "const auto t = time(nullptr);", "usleep(1000);", "gettimeofday(&tv, nullptr);"}) {
    EXPECT_TRUE(MayReadClock(line) && std::regex_search(Code(line), ClockRead())) << line;
  }
  for (const char* line : {"Clock::MonoTime deadline = clock.Monotonic();",
                           "// std::chrono::steady_clock::now is what RealClock reads",
                           "std::int64_t mtime(nullptr_t);", "runtime(nullptr)"}) {
    EXPECT_FALSE(std::regex_search(Code(line), ClockRead())) << line;
  }
  EXPECT_TRUE(Allowed("os/posix_env.cc"));
  EXPECT_TRUE(Allowed("sync/pull_test.cc"));
  EXPECT_FALSE(Allowed("scan/scanner.cc"));
  EXPECT_FALSE(Allowed("sync/push.cc"));
}

}  // namespace
}  // namespace hx
