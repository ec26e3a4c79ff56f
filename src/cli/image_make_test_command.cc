// `aloft image make-test`: a test firmware image — a valid ESP app image (what esptool's
// elf2image would make of a small app: header, DROM segment with esp_app_desc_t, RAM segments,
// checksum, appended SHA-256) that tells the emulated device how its self-test will go. Sign
// it with `aloft sign` and publish it like any release. Registered under `aloft image` by
// image_command.cc. The self-test marker is described in emulator/test_image.h and
// docs/device.md.
//
//   aloft image make-test --version V --project P --chip C [--secure-version N] [--size BYTES]
//                         [--self-test pass|fail|crash] [--seed N] -o APP.bin [--json]

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/format/app_image.h"
#include "emulator/test_image.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {
namespace {

struct MakeTestOptions {
  std::string version;
  std::string project;
  std::string chip;
  uint32_t secure_version = 0;
  uint32_t size = 64 * 1024;
  std::string self_test = "pass";
  uint32_t seed = 1;
  std::string output;
  bool json = false;
};

int RunMakeTest(const MakeTestOptions& options) {
  emulator::TestImageSpec spec;
  spec.version = options.version;
  spec.project = options.project;
  spec.chip_id = *core::ChipIdFromName(options.chip);  // the validator checked it
  spec.secure_version = options.secure_version;
  spec.size_bytes = options.size;
  spec.self_test = *emulator::ParseSelfTestMode(options.self_test);
  spec.fill_seed = options.seed;
  host::OpensslCrypto crypto;
  Result<std::vector<std::byte>> image = emulator::MakeTestImage(crypto, spec);
  if (!image.ok()) {
    return ReportFailure("image make-test", image.status());
  }
  if (!WriteFileOrReport(options.output, *image)) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(boost::json::object{{"path", options.output},
                                  {"size", image->size()},
                                  {"version", options.version},
                                  {"project", options.project},
                                  {"chip", options.chip},
                                  {"secure_version", options.secure_version},
                                  {"self_test", options.self_test}});
  } else {
    std::printf("%s: %s %s for %s, %zu bytes, secure_version %u, self-test %s\n",
                options.output.c_str(), options.project.c_str(), options.version.c_str(),
                options.chip.c_str(), image->size(), options.secure_version,
                options.self_test.c_str());
  }
  return kExitOk;
}

}  // namespace

void AddImageMakeTestCommand(CLI::App& image_group, CommandResult& result) {
  auto options = std::make_shared<MakeTestOptions>();
  CLI::App* make_test = image_group.add_subcommand(
      "make-test",
      "Make a test firmware image: a valid ESP app image that tells an emulated device how its "
      "self-test goes (docs/device.md)");
  make_test->add_option("--version", options->version, "esp_app_desc_t.version (up to 31 chars)")
      ->required();
  make_test
      ->add_option("--project", options->project, "esp_app_desc_t.project_name (up to 31 chars)")
      ->required();
  make_test->add_option("--chip", options->chip, "The chip (esp32, esp32c3, esp32s3, ...)")
      ->required()
      ->check([](const std::string& name) {
        return core::ChipIdFromName(name).has_value() ? std::string() : "unknown chip: " + name;
      });
  make_test->add_option("--secure-version", options->secure_version,
                        "esp_app_desc_t.secure_version, the anti-rollback counter (default 0)");
  make_test
      ->add_option("--size", options->size,
                   "Image size in bytes, at least 1024 (default 65536; rounded up to 16)")
      ->check(CLI::Range(uint32_t{1024}, uint32_t{64} << 20));
  make_test
      ->add_option("--self-test", options->self_test,
                   "What the firmware's self-test does after an update: pass (default), fail, "
                   "crash")
      ->check(CLI::IsMember({"pass", "fail", "crash"}));
  make_test->add_option("--seed", options->seed,
                        "Seed of the payload bytes (default 1): different seeds, different images");
  make_test->add_option("-o,--output", options->output, "The image file to write")->required();
  make_test->add_flag("--json", options->json, "Print JSON");
  make_test->callback([options, &result] { result.exit_code = RunMakeTest(*options); });
}

}  // namespace aloft::cli
