// What a command cost at the store: requests by method, bytes up and down,
// and, for S3, the estimated price at AWS's list prices (docs/FORMAT.md,
// "Store usage"; overridable with HX_S3_PRICES). Every push and pull ends
// with it (PushReport/PullReport::store_usage).
//
// A RequestMeter counts one command's requests as they go on the wire: the
// S3 client records each HTTP request (a multipart upload is a POST, the
// part PUTs and a POST; a retry is another request; a listing page is a
// LIST). For a folder store the engine fills it from the store calls.
//
// Thread-safety: RequestMeter is thread-safe (atomics); the rest are values.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.h"

namespace hx::obs {

enum class Method : std::uint8_t { kGet, kPut, kPost, kList, kDelete, kHead };
inline constexpr std::size_t kMethodCount = 6;
// "GET", "PUT", "POST", "LIST", "DELETE", "HEAD".
std::string_view MethodName(Method method);

struct RequestUsage {
  std::array<std::uint64_t, kMethodCount> requests{};
  std::uint64_t failed = 0;  // requests that did not succeed (also counted above)
  std::uint64_t bytes_up = 0;
  std::uint64_t bytes_down = 0;

  std::uint64_t operator[](Method m) const { return requests[static_cast<std::size_t>(m)]; }
  std::uint64_t total() const;
};

class RequestMeter {
 public:
  void Record(Method method, bool ok, std::uint64_t bytes_up, std::uint64_t bytes_down);
  RequestUsage Read() const;

 private:
  std::array<std::atomic<std::uint64_t>, kMethodCount> requests_{};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::atomic<std::uint64_t> bytes_down_{0};
};

// Prices in US dollars. The defaults are AWS's list prices for S3 Standard
// in us-east-1 (December 2026): PUT, COPY, POST and LIST $0.005 per 1,000
// requests; GET, HEAD and the others $0.0004 per 1,000; DELETE free; data
// out to the internet $0.09 per GB (the first 100 GB a month free and
// lower tiers beyond 10 TB are not modelled); data in free.
struct PriceTable {
  double put_per_1000 = 0.005;     // PUT, POST, LIST
  double get_per_1000 = 0.0004;    // GET, HEAD
  double delete_per_1000 = 0.0;    // DELETE
  double egress_per_gb = 0.09;     // bytes down (GB = 10^9 bytes)
  double ingress_per_gb = 0.0;     // bytes up
  std::string source = "aws_s3_standard_us_east_1_list";
};

// The defaults with overrides from `spec`: "put=0.0055,get=0.00044,
// delete=0,egress_gb=0.09,ingress_gb=0" (any subset, comma-separated; the
// source becomes "custom"). Empty: the defaults. A malformed spec is
// KC_SYNC_INPUT_INVALID saying the syntax.
Result<PriceTable> ParsePriceTable(std::string_view spec);

double EstimateCostUsd(const RequestUsage& usage, const PriceTable& prices);

// What a report carries.
struct StoreUsage {
  RequestUsage usage;
  // Set for S3 stores: the price of `usage` under `prices`.
  std::optional<double> estimated_cost_usd;
  std::string price_source;  // PriceTable::source, when priced

  // {"requests":{"GET":n,...},"requests_total":n,"failed":n,"bytes_up":n,
  //  "bytes_down":n,"estimated_cost_usd":"0.000012"|null,"prices":"..."|null}
  // (the cost as a decimal string: canonical JSON has no floats).
  nlohmann::json ToJson() const;
  // "store: 12 requests (GET 3, PUT 8, LIST 1), 1.2 MB up, 3.4 kB down,
  // ~$0.000043 at AWS list prices"
  std::string ToHuman() const;
};

// "1.2 MB", "340 B" (decimal units).
std::string HumanBytes(std::uint64_t bytes);

}  // namespace hx::obs
