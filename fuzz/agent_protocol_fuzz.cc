// Fuzzes the device agent's protocol readers (src/agent/protocol.h) with hostile server answers:
// the check-in answer (in place: jsmn tokens, the structure check, unescaping and base64
// decoding inside the buffer) and the events answer. Either may fail, never crash, read out of
// bounds or hand back views outside the buffer.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "agent/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aloft::agent::JsonWorkspace workspace;
  std::vector<char> body(data, data + size);
  const char* begin = body.data();
  const char* end = body.data() + body.size();
  auto inside = [&](const void* pointer, size_t length) {
    const char* p = static_cast<const char*>(pointer);
    return length == 0 || (p >= begin && p + length <= end);
  };
  aloft::Result<aloft::agent::CheckinAnswer> answer =
      aloft::agent::ParseCheckinAnswer(body, workspace);
  if (answer.ok() && answer->update) {
    const aloft::agent::UpdateOffer& offer = *answer->update;
    if (!inside(offer.manifest.data(), offer.manifest.size()) ||
        !inside(offer.signature.data(), offer.signature.size()) ||
        !inside(offer.artifact_path.data(), offer.artifact_path.size()) ||
        offer.signature.empty() || offer.signature.size() % 1216 != 0 ||
        offer.artifact_path.empty() || offer.artifact_path[0] != '/') {
      std::abort();
    }
  }
  std::vector<char> again(data, data + size);
  const std::string_view ids[] = {"e-1", "e-2"};
  bool acknowledged[2] = {false, false};
  (void)aloft::agent::ParseEventsAnswer(again, workspace, ids, acknowledged);
  return 0;
}
