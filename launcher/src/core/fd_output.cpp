#include "core/fd_output.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace launcher {

FdOutputBuffer::FdOutputBuffer(int fd) : fd_(fd), line_buffered_(fd >= 0 && isatty(fd) == 1) {
  setp(buffer_, buffer_ + sizeof buffer_);
}

FdOutputBuffer::~FdOutputBuffer() { flush_buffer(); }

int write_fully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t count = ::write(fd, data.data(), data.size());
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return count < 0 ? errno : EIO;
    data.remove_prefix(static_cast<std::size_t>(count));
  }
  return 0;
}

bool FdOutputBuffer::write_all(const char* data, std::size_t size) {
  if (error_ != 0) return false;
  error_ = fd_ < 0 ? EBADF : write_fully(fd_, std::string_view(data, size));
  return error_ == 0;
}

bool FdOutputBuffer::flush_buffer() {
  std::size_t pending = static_cast<std::size_t>(pptr() - pbase());
  setp(buffer_, buffer_ + sizeof buffer_);
  return pending == 0 || write_all(buffer_, pending);
}

FdOutputBuffer::int_type FdOutputBuffer::overflow(int_type c) {
  if (!flush_buffer()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  if (line_buffered_ && traits_type::to_char_type(c) == '\n' && !flush_buffer()) return traits_type::eof();
  return c;
}

std::streamsize FdOutputBuffer::xsputn(const char* data, std::streamsize size) {
  if (error_ != 0) return 0;
  auto room = epptr() - pptr();
  if (size <= room) {
    std::memcpy(pptr(), data, static_cast<std::size_t>(size));
    pbump(static_cast<int>(size));
    if (line_buffered_ && std::memchr(data, '\n', static_cast<std::size_t>(size)) && !flush_buffer()) return 0;
    return size;
  }
  // Larger than what is left: what is buffered goes first, then the data itself, unbuffered.
  if (!flush_buffer() || !write_all(data, static_cast<std::size_t>(size))) return 0;
  return size;
}

int FdOutputBuffer::sync() { return flush_buffer() ? 0 : -1; }

int FdOutputBuffer::close() {
  flush_buffer();
  if (fd_ >= 0) {
    if (::close(fd_) != 0 && error_ == 0 && errno != EINTR) error_ = errno;
    fd_ = -1;
  }
  return error_;
}

std::string describe_output_failure(const std::string& what, int error) {
  std::string message = "cannot write to " + what;
  if (error == EBADF) return message + ": it is closed (" + std::strerror(error) + ")";
  if (error != 0) return message + ": " + std::strerror(error);
  return message;
}

} // namespace launcher
