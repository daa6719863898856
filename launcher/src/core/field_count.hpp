#pragma once

#include <cstddef>

namespace launcher {

namespace detail {
// Converts to any member type, so T{AnyField{}, ...} compiles for as many as T has members.
struct AnyField {
  template <class T> operator T() const; // NOLINT(google-explicit-constructor): only ever used unevaluated
};
} // namespace detail

// The number of members of the aggregate T. With a static_assert next to code that must name
// every member (a serialiser, a hash), adding a member fails the build until that code is updated.
template <class T, class... Fields> consteval std::size_t field_count() {
  if constexpr (requires { T{Fields{}..., detail::AnyField{}}; })
    return field_count<T, Fields..., detail::AnyField>();
  else
    return sizeof...(Fields);
}

} // namespace launcher
