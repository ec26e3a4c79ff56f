#include "cli/image_identity.h"

#include "core/format/app_image.h"
#include "core/release/version_policy.h"
#include "core/try.h"

namespace aloft::cli {

Result<ImageIdentity> ReadImageIdentity(ConstByteSpan image, port::Crypto& crypto) {
  ALOFT_TRY_ASSIGN(const core::AppImageInfo info, core::InspectAppImage(image, crypto));
  ALOFT_TRY_ASSIGN(const core::ImageFacts facts, core::ImageFactsOf(info));
  return ImageIdentity{facts.chip_id, info.image_len, std::string(facts.project),
                       std::string(facts.version), facts.secure_version};
}

}  // namespace aloft::cli
