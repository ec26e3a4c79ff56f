// Installer throughput and heap: a 1.5 MiB app image streamed through StreamInstaller (Begin,
// Write in 4 KiB chunks, Finish with its verification read back from flash, the otadata switch)
// into the memory-backed NOR emulator, against a baseline of plain SHA-256 + memcpy over the
// same bytes. Prints MB/s of each (medians of interleaved rounds), their ratio, and the heap the
// installer uses: operator new calls (the core's own: must be zero) and the malloc high-water
// mark above the start (the OpenSSL port's hash contexts), sampled after every chunk.
// Run through bench/run.sh (release build).

#include <malloc.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "core/device/boot_device.h"
#include "core/install/stream_installer.h"
#include "ports/host/openssl_crypto.h"
#include "support/device_fixture.h"

namespace {

std::atomic<uint64_t> g_news{0};
std::atomic<uint64_t> g_new_bytes{0};

}  // namespace

void* operator new(size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  g_new_bytes.fetch_add(size, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  std::abort();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace aloft {
namespace {

constexpr uint32_t kImagePayload = 1536 * 1024 - 4096;  // a ~1.5 MiB image
constexpr size_t kChunk = 4096;
constexpr int kRounds = 15;

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

size_t HeapInUse() { return mallinfo2().uordblks; }

struct InstallRun {
  double seconds = 0;
  double write_seconds = 0;
  uint64_t news = 0;
  uint64_t new_bytes = 0;
  size_t malloc_peak = 0;  // above the heap in use at Begin
};

int Main() {
  host::OpensslCrypto crypto;
  Result<testing::EmulatedDevice> made = testing::MakeEmulatedDevice(crypto, testing::kTutorialCsv);
  if (!made.ok()) {
    std::fprintf(stderr, "installer_bench: cannot build the device\n");
    return 1;
  }
  testing::EmulatedDevice device = std::move(*made);
  core::DeviceConfig config;
  config.chip_id = core::kChipIdEsp32;
  const std::vector<std::byte> old_image = testing::MakeImage(crypto, testing::Recipe("1.0.0"));
  const std::vector<std::byte> image =
      testing::MakeImage(crypto, testing::Recipe("2.0.0", kImagePayload, core::kChipIdEsp32, 7));
  std::array<std::byte, 4096> work{};
  if (image.empty() || !testing::WriteImage(device, 0, old_image).ok() ||
      !core::BootDevice(*device.flash, crypto, device.layout, config, work).ok()) {
    std::fprintf(stderr, "installer_bench: cannot prepare the device\n");
    return 1;
  }
  device.flash->SetCheckpoint();

  const auto install = [&]() {
    InstallRun run;
    if (!device.flash->RestoreCheckpoint().ok()) {
      std::abort();
    }
    core::StreamInstallerBuffer<> installer(*device.flash, crypto, device.layout, config);
    const uint64_t news = g_news.load();
    const uint64_t new_bytes = g_new_bytes.load();
    const size_t heap = HeapInUse();
    size_t peak = heap;
    const Clock::time_point start = Clock::now();
    bool ok = installer.Begin(0, static_cast<uint32_t>(image.size())).ok();
    for (size_t done = 0; ok && done < image.size(); done += kChunk) {
      ok =
          installer.Write(ConstByteSpan(image).subspan(done, std::min(kChunk, image.size() - done)))
              .ok();
      peak = std::max(peak, HeapInUse());
    }
    const Clock::time_point written = Clock::now();
    ok = ok && installer.Finish().ok();
    const Clock::time_point end = Clock::now();
    peak = std::max(peak, HeapInUse());
    if (!ok) {
      std::fprintf(stderr, "installer_bench: the install failed\n");
      std::abort();
    }
    run.seconds = std::chrono::duration<double>(end - start).count();
    run.write_seconds = std::chrono::duration<double>(written - start).count();
    run.news = g_news.load() - news;
    run.new_bytes = g_new_bytes.load() - new_bytes;
    run.malloc_peak = peak - heap;
    return run;
  };

  std::vector<std::byte> destination(image.size());
  const auto baseline = [&]() {
    const Clock::time_point start = Clock::now();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    for (size_t done = 0; done < image.size(); done += kChunk) {
      const size_t n = std::min(kChunk, image.size() - done);
      EVP_DigestUpdate(ctx, image.data() + done, n);
      std::copy_n(image.data() + done, n, destination.data() + done);
    }
    unsigned char digest[32];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx, digest, &length);
    EVP_MD_CTX_free(ctx);
    volatile unsigned char sink = digest[0] ^ static_cast<unsigned char>(destination.back());
    (void)sink;
    return std::chrono::duration<double>(Clock::now() - start).count();
  };

  // Warm up, then interleave the two so drift affects both alike.
  install();
  baseline();
  std::vector<double> install_s;
  std::vector<double> write_s;
  std::vector<double> baseline_s;
  InstallRun worst;
  for (int round = 0; round < kRounds; ++round) {
    const InstallRun run = install();
    install_s.push_back(run.seconds);
    write_s.push_back(run.write_seconds);
    worst.news = std::max(worst.news, run.news);
    worst.new_bytes = std::max(worst.new_bytes, run.new_bytes);
    worst.malloc_peak = std::max(worst.malloc_peak, run.malloc_peak);
    baseline_s.push_back(baseline());
  }
  const double mb = static_cast<double>(image.size()) / 1e6;
  const double install_mbs = mb / Median(install_s);
  const double write_mbs = mb / Median(write_s);
  const double baseline_mbs = mb / Median(baseline_s);
  std::printf(
      "installer_bench: %.2f MiB image, %zu-byte chunks, %zu-byte work buffer, "
      "median of %d rounds\n",
      static_cast<double>(image.size()) / (1024 * 1024), kChunk, work.size(), kRounds);
  std::printf("  install (begin + write + finish, memory flash)  %8.1f MB/s\n", install_mbs);
  std::printf("    of which the streaming writes                 %8.1f MB/s\n", write_mbs);
  std::printf("  baseline (SHA-256 + memcpy)                     %8.1f MB/s\n", baseline_mbs);
  std::printf("  ratio install / baseline                        %8.2f\n",
              install_mbs / baseline_mbs);
  std::printf("  heap, operator new during an install            %8llu calls, %llu bytes\n",
              static_cast<unsigned long long>(worst.news),
              static_cast<unsigned long long>(worst.new_bytes));
  std::printf(
      "  heap, malloc high-water above Begin             %8zu bytes (OpenSSL hash "
      "contexts; none per chunk)\n",
      worst.malloc_peak);
  std::printf("  installer object (incl. 4 KiB work buffer)      %8zu bytes, on the stack\n",
              sizeof(core::StreamInstallerBuffer<>));
  return worst.news == 0 ? 0 : 1;
}

}  // namespace
}  // namespace aloft

int main() { return aloft::Main(); }
