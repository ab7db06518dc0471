// hx_sync_test runs the shared sync scenarios (sync_scenarios_test.cc) on
// the folder store.
#include "sync/sync_test_util.h"

namespace hx::testing {

std::vector<NamedStoreFixture> ScenarioStores() { return {{"folder", MakeFolderStoreFixture}}; }

}  // namespace hx::testing
