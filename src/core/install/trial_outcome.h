#pragma once
// The end of a new firmware's trial run, as the app decides it after its self-test:
// ConfirmRunningApp (esp_ota_mark_app_valid_cancel_rollback) and RejectRunningApp
// (esp_ota_mark_app_invalid_rollback; the caller then resets). The apply layer of
// core/boot/ota_ops.h over port::Flash; spec ../shared/spec/esp-idf-ota.md §3.4, §4.3.
// Like ESP-IDF, both act on the active otadata entry, which is the running slot's after a
// normal boot. No heap; not thread-safe with respect to the flash.

#include <cstdint>

#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// Marks the active entry VALID (nothing is written when it already is), so the next reset keeps
// booting this firmware. With anti-rollback, then raises the eFuse secure version to the running
// app's secure_version, as ESP-IDF does; returns the eFuse value after the call (the caller owns
// the eFuse). Errors: MarkAppValidCancelRollback's (kOtaNoOtadata, kOtaNoActiveEntry — e.g.
// running from factory —, and the anti-rollback ones, which come after the otadata write); the
// flash's errors.
Result<uint32_t> ConfirmRunningApp(port::Flash& flash, const DeviceLayout& layout,
                                   const DeviceConfig& config, int running);

// Marks the active entry INVALID, so the next reset boots the previous firmware. Refused with
// kOtaRollbackFailed (nothing written) unless the previous image (the other entry's slot, or the
// factory app) verifies from flash — the device must never be left with nothing to boot.
// Errors: MarkAppInvalidRollback's; the flash's errors; kInvalidArgument "flash image: work
// buffer smaller than 4 KiB". REQUIRES: `work` outlives the call.
Status RejectRunningApp(port::Flash& flash, port::Crypto& crypto, const DeviceLayout& layout,
                        const DeviceConfig& config, ByteSpan work);

}  // namespace aloft::core
