// port::KeyValue on the host: one contract suite run on every implementation (FileKeyValue,
// MemoryKeyValue), then what only the file store has — durability across reopening, a power
// cut between each step of a Set, a process killed mid-write, corrupt files, key escaping.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ports/host/file_key_value.h"
#include "ports/host/memory_key_value.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::host {
namespace {

using testing::TempDir;

ConstByteSpan Bytes(const std::string& text) { return AsBytes(text); }

std::string Read(port::KeyValue& store, std::string_view key) {
  std::vector<std::byte> buffer(4096);
  Result<size_t> size = store.Get(key, buffer);
  if (!size.ok()) {
    return "<" + testing::DescribeStatus(size.status()) + ">";
  }
  return std::string(reinterpret_cast<const char*>(buffer.data()), *size);
}

// ---- the contract, on every implementation ----

struct Implementation {
  const char* name;
  std::function<std::unique_ptr<port::KeyValue>(const std::filesystem::path&)> open;
};

class KeyValueContract : public ::testing::TestWithParam<Implementation> {
 protected:
  void SetUp() override { store_ = GetParam().open(dir_ / "kv"); }
  TempDir dir_;
  std::unique_ptr<port::KeyValue> store_;
};

TEST_P(KeyValueContract, Get_Missing_NotFound) {
  std::array<std::byte, 8> out{};
  EXPECT_STATUS(store_->Get("aloft.agent", out).status(), NotFound("key value: no such record"));
}

TEST_P(KeyValueContract, Set_ThenGet_ReturnsTheValue) {
  ASSERT_TRUE(store_->Set("aloft.agent", Bytes("hello")).ok());
  EXPECT_EQ(Read(*store_, "aloft.agent"), "hello");
}

TEST_P(KeyValueContract, Set_Twice_TheSecondValueReplacesTheFirstWhole) {
  ASSERT_TRUE(store_->Set("k", Bytes("a long first value")).ok());
  ASSERT_TRUE(store_->Set("k", Bytes("short")).ok());
  EXPECT_EQ(Read(*store_, "k"), "short");
}

TEST_P(KeyValueContract, EmptyValue_IsARecordOfSizeZero) {
  ASSERT_TRUE(store_->Set("k", {}).ok());
  std::array<std::byte, 1> out{};
  Result<size_t> size = store_->Get("k", out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 0u);
}

TEST_P(KeyValueContract, Erase_RemovesTheRecordAndIsOkWhenThereIsNone) {
  ASSERT_TRUE(store_->Set("k", Bytes("v")).ok());
  ASSERT_TRUE(store_->Erase("k").ok());
  EXPECT_EQ(Read(*store_, "k"), "<not_found \"key value: no such record\">");
  EXPECT_TRUE(store_->Erase("k").ok());
}

TEST_P(KeyValueContract, BufferTooSmall_ResourceExhaustedWithTheRecordSize) {
  ASSERT_TRUE(store_->Set("k", Bytes("0123456789")).ok());
  std::array<std::byte, 4> out{};
  EXPECT_STATUS(store_->Get("k", out).status(),
                ResourceExhausted("key value: record larger than the buffer", 10));
}

TEST_P(KeyValueContract, BadKeys_InvalidArgument) {
  std::array<std::byte, 4> out{};
  for (const std::string& key :
       {std::string(), std::string(16, 'k'), std::string("with space"), std::string("\x7F")}) {
    SCOPED_TRACE(key);
    EXPECT_STATUS(store_->Set(key, Bytes("v")), InvalidArgument("key value: bad key"));
    EXPECT_STATUS(store_->Get(key, out).status(), InvalidArgument("key value: bad key"));
    EXPECT_STATUS(store_->Erase(key), InvalidArgument("key value: bad key"));
  }
}

TEST_P(KeyValueContract, Keys_AreIndependent) {
  const std::string keys[] = {"a", "A", "a.b", "a/b", ".a", "..", "%41", "~!@#$^&*()"};
  for (const std::string& key : keys) {
    ASSERT_TRUE(store_->Set(key, Bytes("value of " + key)).ok()) << key;
  }
  for (const std::string& key : keys) {
    EXPECT_EQ(Read(*store_, key), "value of " + key);
  }
}

INSTANTIATE_TEST_SUITE_P(Host, KeyValueContract,
                         ::testing::Values(Implementation{"File",
                                                          [](const std::filesystem::path& dir) {
                                                            return std::unique_ptr<port::KeyValue>(
                                                                FileKeyValue::Open(dir).value());
                                                          }},
                                           Implementation{"Memory",
                                                          [](const std::filesystem::path&) {
                                                            return std::unique_ptr<port::KeyValue>(
                                                                std::make_unique<MemoryKeyValue>());
                                                          }}),
                         [](const ::testing::TestParamInfo<Implementation>& param) {
                           return param.param.name;
                         });

// ---- the file store ----

TEST(FileKeyValue, Reopened_TheRecordIsStillThere) {
  TempDir dir;
  ASSERT_TRUE(FileKeyValue::Open(dir / "kv").value()->Set("aloft.agent", Bytes("v1")).ok());
  EXPECT_EQ(Read(*FileKeyValue::Open(dir / "kv").value(), "aloft.agent"), "v1");
}

TEST(FileKeyValue, KeyNames_AreEscapedInsideTheDirectory) {
  TempDir dir;
  auto store = FileKeyValue::Open(dir / "kv").value();
  EXPECT_EQ(store->RecordPath("aloft.agent"), dir / "kv" / "aloft.agent.rec");
  EXPECT_EQ(store->RecordPath("a/b"), dir / "kv" / "a%2Fb.rec");
  EXPECT_EQ(store->RecordPath(".."), dir / "kv" / "%2E..rec");
  EXPECT_EQ(EscapeKeyForFileName("%"), "%25");
}

// A power cut after each step of a Set, on a record that had a value and on a new one.
TEST(FileKeyValue, PowerCutBetweenSteps_RecordIsOldOrNewNeverMixed) {
  struct Case {
    FileKeyValueStep step;
    bool new_value_survives;
  };
  const Case cases[] = {{FileKeyValueStep::kTempWritten, false},
                        {FileKeyValueStep::kTempSynced, false},
                        {FileKeyValueStep::kRenamed, true}};
  for (const Case& c : cases) {
    for (bool existed : {true, false}) {
      SCOPED_TRACE(static_cast<int>(c.step) * 10 + existed);
      TempDir dir;
      auto store = FileKeyValue::Open(dir / "kv").value();
      if (existed) {
        ASSERT_TRUE(store->Set("aloft.agent", Bytes("old value")).ok());
      }
      store->CrashAfter(c.step);
      EXPECT_STATUS(store->Set("aloft.agent", Bytes("the new value")),
                    Aborted("key value: power lost"));
      // Dead until the power comes back.
      EXPECT_STATUS(store->Set("other", Bytes("x")), Aborted("key value: power lost"));
      std::array<std::byte, 4> out{};
      EXPECT_STATUS(store->Get("aloft.agent", out).status(), Aborted("key value: power lost"));

      auto reopened = FileKeyValue::Open(dir / "kv").value();
      const std::string expected =
          c.new_value_survives
              ? "the new value"
              : (existed ? "old value" : "<not_found \"key value: no such record\">");
      EXPECT_EQ(Read(*reopened, "aloft.agent"), expected);
      // Reopening cleared what the cut left behind.
      for (const auto& entry : std::filesystem::directory_iterator(dir / "kv")) {
        EXPECT_EQ(entry.path().extension(), ".rec") << entry.path();
      }
    }
  }
}

TEST(FileKeyValue, TornTemporaryFile_IsDiscardedAtOpen) {
  TempDir dir;
  auto store = FileKeyValue::Open(dir / "kv").value();
  ASSERT_TRUE(store->Set("k", Bytes("old")).ok());
  store->CrashAfter(FileKeyValueStep::kTempWritten);
  (void)store->Set("k", Bytes("new value, only half of it reached the disk"));
  std::filesystem::resize_file(dir / "kv" / "k.tmp", 17);
  EXPECT_EQ(Read(*FileKeyValue::Open(dir / "kv").value(), "k"), "old");
  EXPECT_FALSE(std::filesystem::exists(dir / "kv" / "k.tmp"));
}

TEST(FileKeyValue, CorruptRecordFiles_DataLoss) {
  TempDir dir;
  auto store = FileKeyValue::Open(dir / "kv").value();
  ASSERT_TRUE(store->Set("k", Bytes("a value with a crc")).ok());
  const std::filesystem::path path = store->RecordPath("k");
  const std::vector<std::byte> good = testing::ReadBinary(path);
  ASSERT_EQ(good.size(), FileKeyValue::kHeaderSize + 18);
  auto write = [&](const std::vector<std::byte>& bytes) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  };
  // Every single-byte corruption and every truncation is caught.
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<std::byte> bad = good;
    bad[i] ^= std::byte{0x01};
    write(bad);
    EXPECT_EQ(Read(*store, "k"), "<data_loss \"key value: record corrupt\">") << "byte " << i;
  }
  for (size_t size = 0; size < good.size(); ++size) {
    write(std::vector<std::byte>(good.begin(), good.begin() + static_cast<long>(size)));
    EXPECT_EQ(Read(*store, "k"), "<data_loss \"key value: record corrupt\">") << "size " << size;
  }
  write(good);
  EXPECT_EQ(Read(*store, "k"), "a value with a crc");
}

// A process killed at a random moment of a stream of Sets (as `aloft device run` may be): the
// record reads as one of the values written, whole.
TEST(FileKeyValue, ProcessKilledWhileWriting_RecordIsOneWholeValue) {
  for (int round = 0; round < 3; ++round) {
    TempDir dir;
    int progress[2];
    ASSERT_EQ(pipe(progress), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(progress[0]);
      auto store = FileKeyValue::Open(dir / "kv").value();
      for (int i = 0;; ++i) {
        // Values of varying size, so a mix of two would show.
        const std::string value = "value-" + std::to_string(i) + std::string(i % 300, '#');
        if (!store->Set("aloft.agent", Bytes(value)).ok()) {
          _exit(2);
        }
        const char byte = 1;
        (void)!write(progress[1], &byte, 1);
      }
    }
    close(progress[1]);
    char buffer[64];
    size_t seen = 0;
    while (seen < static_cast<size_t>(40 + 25 * round)) {
      const ssize_t n = read(progress[0], buffer, sizeof(buffer));
      ASSERT_GT(n, 0);
      seen += static_cast<size_t>(n);
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(progress[0]);
    const std::string value = Read(*FileKeyValue::Open(dir / "kv").value(), "aloft.agent");
    ASSERT_TRUE(value.starts_with("value-")) << value;
    const int i = std::stoi(value.substr(6));
    EXPECT_GE(i, static_cast<int>(seen) - 1);
    EXPECT_EQ(value, "value-" + std::to_string(i) + std::string(i % 300, '#'));
  }
}

}  // namespace
}  // namespace aloft::host
