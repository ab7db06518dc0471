// libFuzzer target: the merge preview's JSON readers (change sets, contexts
// and reports arrive from RPC params and files) on arbitrary bytes. Whatever
// they accept must write back canonically and read back equal; a parsed
// report re-previewed from its change sets must not crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "json/canonical_json.h"
#include "merge/preview.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hx::JsonReadOptions options;
  options.max_input_bytes = 1 << 20;
  const hx::Result<nlohmann::json> value = hx::ParseJson(text, options);
  if (!value.ok()) return 0;

  if (const auto set = hx::ChangeSetFromJson(*value); set.ok()) {
    const auto back = hx::ChangeSetFromJson(hx::ToJson(*set));
    if (!back.ok() || !(*back == *set)) __builtin_trap();
    const auto report = hx::MergePreviewConservative(*set, *set, 1);
    if (!report.ok()) __builtin_trap();
    // A set overlaps itself entirely: never safe unless empty.
    if (report->safe != set->empty()) __builtin_trap();
  }
  if (const auto context = hx::ContextFromJson(*value); context.ok()) {
    const auto back = hx::ContextFromJson(hx::ToJson(*context));
    if (!back.ok() || !(*back == *context)) __builtin_trap();
    for (const hx::MergePolicy policy : hx::kAllMergePolicies) {
      if (!hx::MergePreviewWithPolicyV2({}, {}, *context, policy, 0).ok()) __builtin_trap();
    }
  }
  if (const auto v1 = hx::ReportV1FromJson(*value); v1.ok()) {
    const auto back = hx::ReportV1FromJson(hx::ToJson(*v1));
    if (!back.ok() || !(*back == *v1)) __builtin_trap();
    (void)hx::EnsureConservativeMergeSafe(*v1);
  }
  if (const auto v2 = hx::ReportV2FromJson(*value); v2.ok()) {
    const auto back = hx::ReportV2FromJson(hx::ToJson(*v2));
    if (!back.ok() || !(*back == *v2)) __builtin_trap();
    (void)hx::EnsureMergeSafe(*v2);
  }
  return 0;
}
