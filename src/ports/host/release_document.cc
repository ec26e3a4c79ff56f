#include "ports/host/release_document.h"

#include <openssl/evp.h>

#include <array>
#include <boost/json.hpp>
#include <optional>
#include <utility>

#include "core/format/app_image.h"
#include "core/signature/signature_block.h"
#include "core/try.h"

namespace aloft::host {
namespace {

namespace json = boost::json;

std::string HexOf(ConstByteSpan bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::byte b : bytes) {
    text.push_back(kDigits[static_cast<uint8_t>(b) >> 4]);
    text.push_back(kDigits[static_cast<uint8_t>(b) & 0xF]);
  }
  return text;
}

std::string Quoted(std::string_view text) { return json::serialize(json::string(text)); }

// The (scheme, key digest) of each block, for the informational "signed_by" list.
Result<json::array> SignedBy(ConstByteSpan blocks) {
  json::array list;
  for (size_t at = 0; at < blocks.size(); at += core::kSignatureBlockSize) {
    ALOFT_TRY_ASSIGN(const core::SignatureBlock block,
                     core::ParseSignatureBlock(blocks.subspan(at)));
    if (!block.scheme.has_value()) {
      return InvalidArgument("release: signature block has an unknown scheme");
    }
    const EVP_MD* md = EVP_sha256();
    std::array<std::byte, 32> digest{};
    unsigned int size = 0;
    EVP_Digest(block.key_fields.data(), block.key_fields.size(),
               reinterpret_cast<unsigned char*>(digest.data()), &size, md, nullptr);
    json::object entry;
    entry["scheme"] = core::SchemeName(*block.scheme);
    entry["key_digest"] = HexOf(digest);
    list.push_back(std::move(entry));
  }
  return list;
}

// A required member of the given kind; nullptr if absent or of another kind.
const json::value* Member(const json::object& object, std::string_view key, json::kind kind) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->kind() == kind ? value : nullptr;
}

std::optional<uint64_t> Unsigned(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (value->is_uint64()) {
    return value->get_uint64();
  }
  if (value->is_int64() && value->get_int64() >= 0) {
    return static_cast<uint64_t>(value->get_int64());
  }
  return std::nullopt;
}

std::optional<std::string_view> Text(const json::object& object, std::string_view key) {
  const json::value* value = Member(object, key, json::kind::string);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(value->get_string());
}

constexpr std::string_view kFields[] = {
    "format",  "project",        "chip",      "chip_id",
    "version", "secure_version", "size",      "min_running_version",
    "sha256",  "manifest",       "signature", "signed_by",
};

}  // namespace

std::string Base64Encode(ConstByteSpan bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(written));
  return text;
}

Result<std::vector<std::byte>> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return InvalidArgument("base64: length is not a multiple of 4");
  }
  std::vector<std::byte> bytes(text.size() / 4 * 3);
  const int decoded = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                      reinterpret_cast<const unsigned char*>(text.data()),
                                      static_cast<int>(text.size()));
  if (decoded < 0) {
    return InvalidArgument("base64: invalid character");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  }
  bytes.resize(static_cast<size_t>(decoded) - padding);
  // EVP_DecodeBlock tolerates whitespace and non-zero padding bits; only the one canonical
  // spelling of these bytes is accepted.
  if (Base64Encode(bytes) != text) {
    return InvalidArgument("base64: not the canonical encoding");
  }
  return bytes;
}

Result<std::string> MakeReleaseJson(const core::ReleaseManifest& manifest,
                                    std::span<const ReleaseKey* const> keys) {
  if (keys.empty()) {
    return InvalidArgument("release: no signing key");
  }
  if (keys.size() > core::kSignatureBlockCount) {
    return InvalidArgument("release: up to 3 signing keys", static_cast<uint32_t>(keys.size()));
  }
  std::array<std::byte, core::kMaxManifestSize> canonical_buffer;
  ALOFT_TRY_ASSIGN(const size_t size, core::SerializeManifest(manifest, canonical_buffer));
  const ConstByteSpan canonical = ConstByteSpan(canonical_buffer).first(size);
  std::vector<std::byte> signature;
  for (const ReleaseKey* key : keys) {
    ALOFT_TRY_ASSIGN(const auto block, key->SignBlock(canonical));
    signature.insert(signature.end(), block.begin(), block.end());
  }
  ALOFT_TRY_ASSIGN(const json::array signed_by, SignedBy(signature));

  // Written by hand, in a fixed order, so the file reads top-down like the manifest.
  std::string out = "{\n";
  auto field = [&](std::string_view key, const std::string& value, bool last = false) {
    out += "  " + Quoted(key) + ": " + value + (last ? "\n" : ",\n");
  };
  field("format", Quoted(kReleaseFormat));
  field("project", Quoted(manifest.project.view()));
  field("chip", Quoted(core::ChipName(manifest.chip_id)));
  field("chip_id", std::to_string(manifest.chip_id));
  field("version", Quoted(manifest.version.view()));
  field("secure_version", std::to_string(manifest.secure_version));
  field("size", std::to_string(manifest.size_bytes));
  field("sha256", Quoted(HexOf(manifest.sha256)));
  field("min_running_version", manifest.min_running_version.empty()
                                   ? std::string("null")
                                   : Quoted(manifest.min_running_version.view()));
  field("manifest", Quoted(Base64Encode(canonical)));
  field("signature", Quoted(Base64Encode(signature)));
  std::string list = "[";
  for (size_t i = 0; i < signed_by.size(); ++i) {
    list += (i == 0 ? "\n    " : ",\n    ") + json::serialize(signed_by[i]);
  }
  list += "\n  ]";
  field("signed_by", list, /*last=*/true);
  out += "}\n";
  return out;
}

Result<ReleaseDocument> ParseReleaseJson(std::string_view text) {
  boost::system::error_code error;
  const json::value root = json::parse(text, error);
  if (error) {
    return InvalidArgument("release: not JSON");
  }
  if (!root.is_object()) {
    return InvalidArgument("release: not a JSON object");
  }
  const json::object& object = root.get_object();
  for (const auto& member : object) {
    if (std::find(std::begin(kFields), std::end(kFields), std::string_view(member.key())) ==
        std::end(kFields)) {
      return InvalidArgument("release: unknown field");
    }
  }
  if (Text(object, "format") != kReleaseFormat) {
    return InvalidArgument("release: format is not aloft-release-v1");
  }
  const std::optional<std::string_view> manifest_text = Text(object, "manifest");
  if (!manifest_text.has_value()) {
    return InvalidArgument("release: field manifest is missing or has the wrong type");
  }
  const std::optional<std::string_view> signature_text = Text(object, "signature");
  if (!signature_text.has_value()) {
    return InvalidArgument("release: field signature is missing or has the wrong type");
  }
  Result<std::vector<std::byte>> canonical = Base64Decode(*manifest_text);
  if (!canonical.ok()) {
    return InvalidArgument("release: manifest is not base64");
  }
  Result<std::vector<std::byte>> signature = Base64Decode(*signature_text);
  if (!signature.ok()) {
    return InvalidArgument("release: signature is not base64");
  }
  if (signature->empty() || signature->size() % core::kSignatureBlockSize != 0 ||
      signature->size() / core::kSignatureBlockSize > core::kSignatureBlockCount) {
    return InvalidArgument("release: signature is not 1 to 3 blocks",
                           static_cast<uint32_t>(signature->size()));
  }
  ReleaseDocument document;
  ALOFT_TRY_ASSIGN(document.manifest, core::ParseManifest(*canonical));
  const core::ReleaseManifest& m = document.manifest;

  if (Text(object, "project") != m.project.view()) {
    return InvalidArgument("release: field project does not match the signed manifest");
  }
  if (Text(object, "chip") != core::ChipName(m.chip_id)) {
    return InvalidArgument("release: field chip does not match the signed manifest");
  }
  if (Unsigned(object, "chip_id") != m.chip_id) {
    return InvalidArgument("release: field chip_id does not match the signed manifest");
  }
  if (Text(object, "version") != m.version.view()) {
    return InvalidArgument("release: field version does not match the signed manifest");
  }
  if (Unsigned(object, "secure_version") != m.secure_version) {
    return InvalidArgument("release: field secure_version does not match the signed manifest");
  }
  if (Unsigned(object, "size") != m.size_bytes) {
    return InvalidArgument("release: field size does not match the signed manifest");
  }
  if (Text(object, "sha256") != HexOf(m.sha256)) {
    return InvalidArgument("release: field sha256 does not match the signed manifest");
  }
  const json::value* min_running = object.if_contains("min_running_version");
  const bool min_matches =
      min_running != nullptr &&
      (m.min_running_version.empty()
           ? min_running->is_null()
           : (min_running->is_string() &&
              std::string_view(min_running->get_string()) == m.min_running_version.view()));
  if (!min_matches) {
    return InvalidArgument("release: field min_running_version does not match the signed manifest");
  }
  ALOFT_TRY_ASSIGN(const json::array signed_by, SignedBy(*signature));
  const json::value* given = object.if_contains("signed_by");
  if (given == nullptr || !given->is_array() || given->get_array() != signed_by) {
    return InvalidArgument("release: field signed_by does not match the signature blocks");
  }
  document.canonical = std::move(canonical).value();
  document.signature = std::move(signature).value();
  return document;
}

Result<ReleaseDocument> VerifyReleaseJson(port::Crypto& crypto, std::string_view json_text,
                                          const core::TrustPolicy& policy) {
  ALOFT_TRY_ASSIGN(ReleaseDocument document, ParseReleaseJson(json_text));
  ALOFT_TRY(core::VerifyManifest(crypto, document.canonical, document.signature, policy));
  return document;
}

}  // namespace aloft::host
