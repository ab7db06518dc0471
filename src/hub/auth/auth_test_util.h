// What the hub auth tests share: a fixed time, the stores they run on (the
// memory store and a folder store, as a parameter), and bytes of a string.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "store/memory_store.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace hx::hub::auth_testing {

inline constexpr std::int64_t kT0 = 1'700'000'000'000;
inline constexpr std::int64_t kDay = 24LL * 3600 * 1000;

inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct StoreKind {
  std::string name;
  std::function<std::unique_ptr<Store>()> make;
};

// The memory store and a fresh folder store, named for the test's name.
inline auto StoreKinds() {
  return ::testing::Values(
      StoreKind{"memory", [] { return std::unique_ptr<Store>(new MemoryStore()); }},
      StoreKind{"folder", [] { return store_testing::MakeTempFolderStore(); }});
}
inline std::string StoreKindName(const ::testing::TestParamInfo<StoreKind>& param) {
  return param.param.name;
}

}  // namespace hx::hub::auth_testing
