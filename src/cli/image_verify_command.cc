// `aloft image verify`: checks an image's Secure Boot v2 signature sector as a device would
// (core/signature/signature_verifier.h): a block counts only if its own embedded key's digest is
// among the given keys. Registered under `aloft image` by image_command.cc.

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/image_identity.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "cli/release_key_io.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {
namespace {

struct VerifyOptions {
  std::string input;
  std::vector<std::string> keys;
  std::vector<std::string> key_digests;
  bool json = false;
};

boost::json::object BlockJson(size_t index, const core::BlockVerdict& block) {
  boost::json::object out;
  out["index"] = index;
  out["scheme"] = block.scheme.has_value() ? boost::json::value(core::SchemeName(*block.scheme))
                                           : boost::json::value(nullptr);
  out["key_digest"] = block.key_digest.has_value()
                          ? boost::json::value(DigestHex(*block.key_digest))
                          : boost::json::value(nullptr);
  out["crc_ok"] = block.crc_ok();
  out["trusted"] = block.trusted;
  out["verified"] = block.verified();
  out["outcome"] = core::BlockOutcomeName(block.outcome);
  return out;
}

std::string BlockText(size_t index, const core::BlockVerdict& block) {
  std::string text = "block " + std::to_string(index) + ": ";
  if (!block.scheme.has_value()) {
    return text + "invalid (" + block.validity.reason() + ")";
  }
  text += std::string(core::SchemeName(*block.scheme)) + ", key " + DigestHex(*block.key_digest) +
          ", crc " + (block.crc_ok() ? "ok" : "mismatch") + ", " +
          core::BlockOutcomeName(block.outcome);
  return text;
}

int RunVerify(const VerifyOptions& options) {
  int exit_code = kExitOk;
  const std::optional<std::vector<core::TrustedKey>> keys =
      TrustedKeysOrReport("image verify", options.keys, options.key_digests, &exit_code);
  if (!keys.has_value()) {
    return exit_code;
  }
  const std::optional<std::vector<std::byte>> image = ReadFileOrReport(options.input);
  if (!image.has_value()) {
    return kExitFailure;
  }
  host::OpensslCrypto crypto;
  const Result<ImageIdentity> identity = ReadImageIdentity(*image, crypto);
  if (!identity.ok()) {
    return ReportFailure(options.input, identity.status());
  }
  const core::SignatureVerdict verdict =
      core::VerifySignedImage(crypto, *image, identity->image_len, {*keys, std::nullopt, false});

  if (options.json) {
    boost::json::object out;
    out["file"] = options.input;
    out["valid"] = verdict.ok();
    out["error"] =
        verdict.ok() ? boost::json::value(nullptr) : boost::json::value(verdict.status.reason());
    boost::json::array blocks;
    for (size_t i = 0; i < verdict.block_count; ++i) {
      blocks.push_back(BlockJson(i, verdict.blocks[i]));
    }
    out["blocks"] = std::move(blocks);
    PrintJson(out);
    return verdict.ok() ? kExitOk : ExitCodeFor(verdict.status);
  }
  for (size_t i = 0; i < verdict.block_count; ++i) {
    std::printf("%s\n", BlockText(i, verdict.blocks[i]).c_str());
  }
  if (!verdict.ok()) {
    return ReportFailure(options.input, verdict.status);
  }
  std::printf("%s: signature valid (block %d)\n", options.input.c_str(),
              static_cast<int>(*verdict.accepted_block));
  return kExitOk;
}

}  // namespace

void AddImageVerifyCommand(CLI::App& image_group, CommandResult& result) {
  auto options = std::make_shared<VerifyOptions>();
  CLI::App* verify = image_group.add_subcommand(
      "verify",
      "Verify a signed image's Secure Boot v2 signature with device semantics (the block's own "
      "key must be one of the given keys)");
  verify->add_option("image", options->input, "Signed app image")->required();
  verify->add_option("--key", options->keys, "Trusted key: a private or public PEM (repeatable)")
      ->allow_extra_args(false);
  verify
      ->add_option("--key-digest", options->key_digests,
                   "Trusted key digest: 64 hex digits, as `aloft key digest` prints (repeatable)")
      ->allow_extra_args(false);
  verify->add_flag("--json", options->json, "Print the verdict as JSON");
  verify->callback([options, &result] { result.exit_code = RunVerify(*options); });
}

}  // namespace aloft::cli
