#include "obs/usage.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace hx::obs {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kPut: return "PUT";
    case Method::kPost: return "POST";
    case Method::kList: return "LIST";
    case Method::kDelete: return "DELETE";
    case Method::kHead: return "HEAD";
  }
  return "GET";
}

std::uint64_t RequestUsage::total() const {
  std::uint64_t sum = 0;
  for (const std::uint64_t n : requests) sum += n;
  return sum;
}

void RequestMeter::Record(Method method, bool ok, std::uint64_t bytes_up,
                          std::uint64_t bytes_down) {
  requests_[static_cast<std::size_t>(method)].fetch_add(1, std::memory_order_relaxed);
  if (!ok) failed_.fetch_add(1, std::memory_order_relaxed);
  bytes_up_.fetch_add(bytes_up, std::memory_order_relaxed);
  bytes_down_.fetch_add(bytes_down, std::memory_order_relaxed);
}

RequestUsage RequestMeter::Read() const {
  RequestUsage usage;
  for (std::size_t i = 0; i < kMethodCount; ++i) usage.requests[i] = requests_[i].load();
  usage.failed = failed_.load();
  usage.bytes_up = bytes_up_.load();
  usage.bytes_down = bytes_down_.load();
  return usage;
}

Result<PriceTable> ParsePriceTable(std::string_view spec) {
  PriceTable table;
  if (spec.empty()) return table;
  const auto refused = [&](const std::string& why) {
    return InvalidInput(SyncCode::kInputInvalid,
                        "cannot read the S3 prices '" + std::string(spec) + "': " + why +
                            "; write name=dollars pairs separated by commas, names put, get, "
                            "delete (per 1,000 requests), egress_gb, ingress_gb (per GB), e.g. "
                            "HX_S3_PRICES=put=0.005,get=0.0004,egress_gb=0.09");
  };
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string_view pair = spec.substr(start, comma - start);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return refused("'" + std::string(pair) + "' has no '='");
    const std::string name(pair.substr(0, eq));
    const std::string text(pair.substr(eq + 1));
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(value >= 0) || value > 1e6) {
      return refused("'" + text + "' is not a price");
    }
    if (name == "put") {
      table.put_per_1000 = value;
    } else if (name == "get") {
      table.get_per_1000 = value;
    } else if (name == "delete") {
      table.delete_per_1000 = value;
    } else if (name == "egress_gb") {
      table.egress_per_gb = value;
    } else if (name == "ingress_gb") {
      table.ingress_per_gb = value;
    } else {
      return refused("unknown name '" + name + "'");
    }
    start = comma + 1;
  }
  table.source = "custom";
  return table;
}

double EstimateCostUsd(const RequestUsage& u, const PriceTable& p) {
  const double put_class = static_cast<double>(u[Method::kPut] + u[Method::kPost] + u[Method::kList]);
  const double get_class = static_cast<double>(u[Method::kGet] + u[Method::kHead]);
  return put_class * p.put_per_1000 / 1000 + get_class * p.get_per_1000 / 1000 +
         static_cast<double>(u[Method::kDelete]) * p.delete_per_1000 / 1000 +
         static_cast<double>(u.bytes_down) / 1e9 * p.egress_per_gb +
         static_cast<double>(u.bytes_up) / 1e9 * p.ingress_per_gb;
}

namespace {

std::string FormatCost(double usd) {
  char out[32];
  std::snprintf(out, sizeof out, "%.6f", usd);
  return out;
}

}  // namespace

nlohmann::json StoreUsage::ToJson() const {
  nlohmann::json requests = nlohmann::json::object();
  for (std::size_t i = 0; i < kMethodCount; ++i) {
    requests[std::string(MethodName(static_cast<Method>(i)))] = usage.requests[i];
  }
  return {{"requests", std::move(requests)},
          {"requests_total", usage.total()},
          {"failed", usage.failed},
          {"bytes_up", usage.bytes_up},
          {"bytes_down", usage.bytes_down},
          {"estimated_cost_usd",
           estimated_cost_usd ? nlohmann::json(FormatCost(*estimated_cost_usd)) : nullptr},
          {"prices", estimated_cost_usd ? nlohmann::json(price_source) : nullptr}};
}

std::string HumanBytes(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  char out[32];
  if (unit == 0) {
    std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(out, sizeof out, "%.1f %s", value, kUnits[unit]);
  }
  return out;
}

std::string StoreUsage::ToHuman() const {
  std::ostringstream out;
  out << "store: " << usage.total() << (usage.total() == 1 ? " request" : " requests");
  std::string by_method;
  for (std::size_t i = 0; i < kMethodCount; ++i) {
    if (usage.requests[i] == 0) continue;
    if (!by_method.empty()) by_method += ", ";
    by_method += std::string(MethodName(static_cast<Method>(i))) + " " +
                 std::to_string(usage.requests[i]);
  }
  if (!by_method.empty()) out << " (" << by_method << ")";
  out << ", " << HumanBytes(usage.bytes_up) << " up, " << HumanBytes(usage.bytes_down) << " down";
  if (estimated_cost_usd) {
    out << ", ~$" << FormatCost(*estimated_cost_usd)
        << (price_source == "custom" ? " at the given prices" : " at AWS list prices");
  }
  out << "\n";
  return out.str();
}

}  // namespace hx::obs
