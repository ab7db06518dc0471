#include "base/os_error.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace hx {
namespace {

TEST(OsErrorTest, FullDisksArePermissionsAndTheRestIsIo) {
  EXPECT_EQ(CategoryOfErrno(ENOSPC), Category::kNoSpace);
  EXPECT_EQ(CategoryOfErrno(EDQUOT), Category::kNoSpace);
  for (const int err : {EACCES, EPERM, EROFS}) EXPECT_EQ(CategoryOfErrno(err), Category::kAuth);
  for (const int err : {EIO, ENOENT, EISDIR, 0}) EXPECT_EQ(CategoryOfErrno(err), Category::kIo);
}

TEST(OsErrorTest, TheMessageNamesWhatWhereWhyAndTheNextStep) {
  const Error e = OsError(SyncCode::kApplyFailed, "cannot write", "/v/a.txt", ENOSPC,
                          "free space and sync again");
  EXPECT_EQ(e.code, SyncCode::kApplyFailed);
  EXPECT_EQ(e.category, Category::kNoSpace);
  EXPECT_EQ(e.message, "cannot write /v/a.txt: No space left on device; free space and sync again");
  EXPECT_EQ(e.details.at("path"), "/v/a.txt");
}

}  // namespace
}  // namespace hx
