// The store conformance suite: the promises of store.h, written once as
// tests, and run against every Store (folder, memory, S3, and the wrappers
// around them), so that the layers above can rely on them whatever the
// backend (after restic's backend/test and Arrow's GenericFileSystemTest).
//
// A backend runs the suite by instantiating it in its own test file with a
// factory for fresh, empty stores:
//
//   INSTANTIATE_TEST_SUITE_P(Folder, StoreConformanceTest,
//       ::testing::Values(StoreFactory{"Folder", [] { return MakeStore(); }}),
//       StoreFactoryName);
//
// store_conformance.cc must be compiled into the same test binary (it holds
// TEST_Ps, which a static library would drop at link time).
//
// Thread-safety: the factory is called from the test's main thread; the
// stores it makes must be thread-safe (the suite races writers).
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "store/store.h"

namespace hx::store_testing {

struct StoreFactory {
  // A test-name-safe identifier: letters, digits and '_'.
  std::string name;
  // Makes a fresh, empty store; called once per test. The store may own
  // what it needs (a temporary folder) and free it when destroyed.
  std::function<std::unique_ptr<Store>()> make;
};

// For gtest's messages (otherwise it would print the factory's bytes).
void PrintTo(const StoreFactory& factory, std::ostream* os);

// The test name suffix for INSTANTIATE_TEST_SUITE_P.
std::string StoreFactoryName(const ::testing::TestParamInfo<StoreFactory>& info);

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;

  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace hx::store_testing
