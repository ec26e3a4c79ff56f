#include "ports/host/fault_plan.h"

#include <cstdio>

namespace aloft::host {
namespace {

std::string HexU64(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// SplitMix64's output function (Steele, Lea, Flood 2014): a bijection that spreads every input
// bit over the whole word.
uint64_t Finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::string Describe(const PowerCut& cut) {
  switch (cut.kind) {
    case PowerCutKind::kBefore:
      return "power cut before op " + std::to_string(cut.op);
    case PowerCutKind::kDuring:
      return "power cut during op " + std::to_string(cut.op) + " (seed " + HexU64(cut.seed) + ")";
  }
  return "power cut of unknown kind";
}

std::string Describe(const FaultPlan& plan) {
  if (plan.empty()) {
    return "no faults";
  }
  std::string text;
  auto append = [&text](const std::string& part) {
    if (!text.empty()) {
      text += "; ";
    }
    text += part;
  };
  if (plan.cut) {
    append(Describe(*plan.cut));
  }
  for (const InjectedFailure& failure : plan.failures) {
    const char* target =
        failure.target == InjectedFailure::Target::kRead ? "fail read " : "fail op ";
    append(target + std::to_string(failure.index) + " with " + CodeName(failure.code));
  }
  for (const BitFlip& flip : plan.flips) {
    append("flip bit " + std::to_string(flip.bit) + " of " + HexU64(flip.offset) +
           (flip.after_op == 0 ? std::string(" at start")
                               : " after op " + std::to_string(flip.after_op)));
  }
  return text;
}

uint64_t MixSeed(uint64_t seed, uint64_t index) {
  return Finalize(seed + 0x9E3779B97F4A7C15ull * (Finalize(index) + 1));
}

}  // namespace aloft::host
