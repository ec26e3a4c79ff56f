// `aloft sign`: append a Secure Boot v2 signature sector to an app image, byte-compatible with
// `espsecure sign-data --version 2` (docs/formats/signature-block.md).

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/release_key_io.h"
#include "core/signature/signature_block.h"
#include "ports/host/release_key.h"

namespace aloft::cli {
namespace {

struct SignOptions {
  std::vector<std::string> keys;
  std::string input;
  std::string output;
  bool append = false;
};

int RunSign(const SignOptions& options) {
  std::optional<std::vector<host::ReleaseKey>> loaded = LoadSigningKeysOrReport(options.keys);
  if (!loaded.has_value()) {
    return kExitFailure;
  }
  std::vector<host::ReleaseKey> keys = std::move(*loaded);
  std::vector<const host::ReleaseKey*> key_pointers;
  for (const host::ReleaseKey& key : keys) {
    key_pointers.push_back(&key);
  }
  const std::optional<std::vector<std::byte>> input = ReadFileOrReport(options.input);
  if (!input.has_value()) {
    return kExitFailure;
  }
  Result<std::vector<std::byte>> signed_image =
      host::SignImage(*input, key_pointers, options.append);
  if (!signed_image.ok()) {
    if (signed_image.status().code() == Status::Code::kResourceExhausted) {
      return ReportError(options.input + ": " + signed_image.status().reason() + " (" +
                         std::to_string(signed_image.status().context()) + " requested)");
    }
    return ReportFailure(options.input, signed_image.status());
  }
  if (!WriteFileOrReport(options.output, *signed_image)) {
    return kExitFailure;
  }
  const size_t region = signed_image->size() - core::kSignatureSectorSize;
  size_t blocks = 0;
  while (blocks < core::kSignatureBlockCount &&
         static_cast<uint8_t>((*signed_image)[region + blocks * core::kSignatureBlockSize]) ==
             core::kSignatureBlockMagic) {
    ++blocks;
  }
  std::printf("%s: signed %zu bytes of %s; the signature sector has %zu block(s)\n",
              options.output.c_str(), region, options.input.c_str(), blocks);
  return kExitOk;
}

}  // namespace

void AddSignCommands(CLI::App& app, CommandResult& result) {
  auto options = std::make_shared<SignOptions>();
  CLI::App* sign = app.add_subcommand(
      "sign",
      "Sign an app image for Secure Boot v2: pad to 4 KiB with 0xFF and append the signature "
      "sector, one block per key (espsecure sign-data --version 2)");
  sign->add_option("--key", options->keys, "Private key PEM (repeat for up to 3 keys)")
      ->required()
      ->allow_extra_args(false);
  sign->add_option("image", options->input, "App image to sign")->required();
  sign->add_option("-o,--output", options->output, "Where to write the signed image")->required();
  sign->add_flag("--append", options->append,
                 "Keep the valid signature blocks of an already signed image and add new ones");
  sign->callback([options, &result] { result.exit_code = RunSign(*options); });
}

}  // namespace aloft::cli
