// Test images carry their self-test behaviour in a marker after esp_app_desc_t, stay valid ESP
// app images of the size asked for, and ImageSelfTest does what the running image says.

#include "emulator/test_image.h"

#include <gtest/gtest.h>

#include "core/format/app_image.h"
#include "emulator/device_runtime.h"
#include "ports/host/openssl_crypto.h"
#include "support/device_fixture.h"
#include "support/status_testing.h"

namespace aloft::emulator {
namespace {

TEST(TestImage, Modes_RoundTripThroughNamesAndMarkers) {
  for (SelfTestMode mode : {SelfTestMode::kPass, SelfTestMode::kFail, SelfTestMode::kCrash}) {
    EXPECT_EQ(ParseSelfTestMode(SelfTestModeName(mode)), mode);
    const std::string marker = SelfTestMarker(mode);
    EXPECT_LE(marker.size(), kSelfTestMarkerMaxSize);
    EXPECT_EQ(ParseSelfTestMarker(AsBytes(marker)), mode);
  }
  EXPECT_EQ(SelfTestMarker(SelfTestMode::kFail), std::string("aloft-self-test:fail\0", 21));
  EXPECT_EQ(ParseSelfTestMode("maybe"), std::nullopt);
  EXPECT_EQ(ParseSelfTestMarker(AsBytes(std::string("aloft-self-test:fai"))), std::nullopt);
  EXPECT_EQ(ParseSelfTestMarker(AsBytes(std::string("aloft-self-test:failure"))), std::nullopt);
}

TEST(TestImage, Sizes_ValidImagesOfTheSizeAskedFor) {
  host::OpensslCrypto crypto;
  for (uint32_t size : {1024u, 4096u, 65536u, 100'001u, 1'572'864u}) {
    SCOPED_TRACE(size);
    TestImageSpec spec;
    spec.size_bytes = size;
    spec.version = "2.1.0";
    spec.project = "thermo";
    spec.chip_id = uint16_t{5};
    spec.secure_version = 3;
    spec.self_test = SelfTestMode::kCrash;
    Result<std::vector<std::byte>> image = MakeTestImage(crypto, spec);
    ASSERT_TRUE(image.ok()) << testing::DescribeStatus(image.status());
    EXPECT_GE(image->size(), size);
    EXPECT_LT(image->size(), size + 48);
    Result<core::AppImageInfo> info = core::InspectAppImage(*image, crypto);
    ASSERT_TRUE(info.ok()) << testing::DescribeStatus(info.status());
    EXPECT_TRUE(info->checksum_ok());
    EXPECT_TRUE(info->sha256_ok());
    EXPECT_EQ(info->header.chip_id, 5);  // esp32c3
    EXPECT_EQ(ParseSelfTestMarker(ConstByteSpan(*image).subspan(kSelfTestMarkerOffset)),
              SelfTestMode::kCrash);
  }
}

TEST(TestImage, BadSpecs_Refused) {
  host::OpensslCrypto crypto;
  TestImageSpec spec;
  spec.size_bytes = 1000;
  EXPECT_STATUS(MakeTestImage(crypto, spec).status(),
                InvalidArgument("test image: size below 1024 bytes"));
  spec.size_bytes = 4096;
  spec.version = std::string(40, '1');
  EXPECT_EQ(MakeTestImage(crypto, spec).status().code(), Status::Code::kInvalidArgument);
}

TEST(ImageSelfTest, DoesWhatTheRunningImageSays_OrTheOverride) {
  host::OpensslCrypto crypto;
  testing::EmulatedDevice device =
      testing::MakeEmulatedDevice(crypto, testing::kTutorialCsv).value();
  EmulatedSystem system(true, 1);
  system.set_running(1);
  struct Case {
    std::optional<SelfTestMode> image;  // nullopt: an image without a marker
    std::optional<SelfTestMode> override_mode;
    Status expected;
  };
  const Case cases[] = {
      {SelfTestMode::kPass, std::nullopt, OkStatus()},
      {SelfTestMode::kFail, std::nullopt, Internal("self-test: the test image's self-test fails")},
      {SelfTestMode::kCrash, std::nullopt, Aborted("self-test: crashed")},
      {std::nullopt, std::nullopt, OkStatus()},
      {SelfTestMode::kFail, SelfTestMode::kPass, OkStatus()},
      {SelfTestMode::kPass, SelfTestMode::kFail,
       Internal("self-test: the test image's self-test fails")},
  };
  for (const Case& c : cases) {
    std::vector<std::byte> image;
    if (c.image) {
      TestImageSpec spec;
      spec.self_test = *c.image;
      image = MakeTestImage(crypto, spec).value();
    } else {
      image = testing::MakeImage(crypto, testing::Recipe("1.0.0"));
    }
    ASSERT_TRUE(testing::WriteImage(device, 1, image).ok());
    ImageSelfTest self_test(*device.flash, device.layout, system, c.override_mode);
    EXPECT_STATUS(self_test.Run(), c.expected);
    EXPECT_EQ(self_test.runs(), 1u);
  }
}

}  // namespace
}  // namespace aloft::emulator
