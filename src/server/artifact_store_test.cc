#include "server/artifact_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "server/credentials.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::server {
namespace {

TEST(ArtifactStore, Put_StoresUnderTheDigest_AndReadsBack) {
  testing::TempDir temp;
  ArtifactStore store = ArtifactStore::Open(temp / "artifacts").value();
  const std::string bytes = "firmware bytes";
  const std::string sha = Sha256Hex(AsBytes(bytes));
  ASSERT_TRUE(store.Put(sha, AsBytes(bytes)).ok());
  EXPECT_TRUE(store.Put(sha, AsBytes(bytes)).ok());  // again: harmless
  EXPECT_EQ(testing::ReadText(temp / "artifacts" / (sha + ".bin")), bytes);
  const std::vector<std::byte> read = store.Read(sha).value();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(read.data()), read.size()), bytes);
  const FileBody body = store.OpenForReading(sha).value();
  EXPECT_EQ(body.total_size, bytes.size());
  EXPECT_TRUE(body.fd.valid());
}

TEST(ArtifactStore, WrongDigestOrName_StoresNothing) {
  testing::TempDir temp;
  ArtifactStore store = ArtifactStore::Open(temp / "artifacts").value();
  const std::string wrong(64, 'a');
  EXPECT_STATUS(store.Put(wrong, AsBytes(std::string("x"))),
                DataLoss("artifacts: content does not match its sha256"));
  EXPECT_STATUS(store.Put("../x", AsBytes(std::string("x"))),
                InvalidArgument("artifacts: invalid sha256"));
  EXPECT_STATUS(store.Put(Sha256Hex({}), {}), InvalidArgument("artifacts: empty artifact"));
  EXPECT_STATUS(store.OpenForReading(wrong).status(), NotFound("artifacts: no such artifact"));
  EXPECT_STATUS(store.OpenForReading(std::string(64, 'A')).status(),
                InvalidArgument("artifacts: invalid sha256"));
  EXPECT_TRUE(std::filesystem::is_empty(temp / "artifacts"));
}

TEST(ArtifactStore, Open_RemovesCrashLeftovers) {
  testing::TempDir temp;
  std::filesystem::create_directories(temp / "artifacts");
  std::ofstream(temp / "artifacts" / ".upload-1-0-abc") << "half";
  ASSERT_TRUE(ArtifactStore::Open(temp / "artifacts").ok());
  EXPECT_TRUE(std::filesystem::is_empty(temp / "artifacts"));
}

}  // namespace
}  // namespace aloft::server
