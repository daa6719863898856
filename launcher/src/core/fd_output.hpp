#pragma once

#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>

namespace launcher {

// Writes all of `data` to `fd`, going on after a short write or EINTR. Returns 0, or the errno of
// the write that failed (EIO for one that wrote nothing).
int write_fully(int fd, std::string_view data);

// A stream buffer that writes to a file descriptor and remembers why the first write failed.
// std::cout does not tell a full disk (ENOSPC), a reader that went away (EPIPE) or a closed
// descriptor (EBADF) from success unless every caller checks; this one keeps the errno, refuses
// every later byte (the stream turns bad) and leaves the report to whoever finishes the output.
class FdOutputBuffer : public std::streambuf {
public:
  // `fd` < 0: a descriptor that was closed when the program started; every write fails with EBADF.
  explicit FdOutputBuffer(int fd);
  ~FdOutputBuffer() override;
  FdOutputBuffer(const FdOutputBuffer&) = delete;
  FdOutputBuffer& operator=(const FdOutputBuffer&) = delete;

  // The errno of the first failed write; 0 while every write succeeded.
  int error() const { return error_; }

  // Flushes, then closes the descriptor (a file on NFS reports a lost write only here). Returns
  // the errno of the first failure of a write, the flush or the close; 0 when all succeeded.
  int close();

protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* data, std::streamsize size) override;
  int sync() override;

private:
  bool write_all(const char* data, std::size_t size);
  bool flush_buffer();

  int fd_;
  bool line_buffered_; // a terminal sees each line as it is written, as stdio shows it
  int error_ = 0;
  char buffer_[8192];
};

// "cannot write to <what>: <reason>"; `error` 0: no reason known (a stream that only says it failed).
std::string describe_output_failure(const std::string& what, int error);

} // namespace launcher
