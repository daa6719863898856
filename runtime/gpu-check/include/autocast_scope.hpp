#pragma once

// Mixed precision for LibTorch C++, the counterpart of Python's `with torch.autocast(...)`:
// while an AutocastScope lives, eligible ops on its device type run in the given lower
// precision. Shared by gpu-check and the libtorch-train example.

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// LibTorch 2.4 replaced the per-device functions (set_enabled, set_cpu_enabled, ...) with
// functions taking the device type, and deprecated the old ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define AUTOCAST_SCOPE_DEVICE_TYPE_API 1
#else
#define AUTOCAST_SCOPE_DEVICE_TYPE_API 0
#endif

class AutocastScope {
public:
  AutocastScope(c10::DeviceType device_type, at::ScalarType lower_precision)
      : device_type_(device_type), previously_enabled_(enabled()), previous_dtype_(dtype()) {
    at::autocast::increment_nesting();
    set(true, lower_precision);
  }

  ~AutocastScope() {
    set(previously_enabled_, previous_dtype_);
    // As Python's autocast does: drop the cached low-precision weight copies when the
    // outermost scope ends.
    if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
  }

  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

private:
#if AUTOCAST_SCOPE_DEVICE_TYPE_API
  [[nodiscard]] bool enabled() const { return at::autocast::is_autocast_enabled(device_type_); }
  [[nodiscard]] at::ScalarType dtype() const { return at::autocast::get_autocast_dtype(device_type_); }
  void set(bool enable, at::ScalarType precision) const {
    at::autocast::set_autocast_enabled(device_type_, enable);
    at::autocast::set_autocast_dtype(device_type_, precision);
  }
#else
  [[nodiscard]] bool on_cpu() const { return device_type_ == c10::DeviceType::CPU; }
  [[nodiscard]] bool enabled() const { return on_cpu() ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled(); }
  [[nodiscard]] at::ScalarType dtype() const {
    return on_cpu() ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
  }
  void set(bool enable, at::ScalarType precision) const {
    if (on_cpu()) {
      at::autocast::set_cpu_enabled(enable);
      at::autocast::set_autocast_cpu_dtype(precision);
    } else {
      at::autocast::set_enabled(enable);
      at::autocast::set_autocast_gpu_dtype(precision);
    }
  }
#endif

  c10::DeviceType device_type_;
  bool previously_enabled_;
  at::ScalarType previous_dtype_;
};
