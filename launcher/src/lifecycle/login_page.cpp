#include "lifecycle/login_page.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/fd_output.hpp"
#include "secrets/state.hpp"

namespace launcher::lifecycle {

namespace fs = std::filesystem;

namespace {

// For an attribute value between double quotes.
std::string html_escape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
    case '&':
      escaped += "&amp;";
      break;
    case '"':
      escaped += "&quot;";
      break;
    case '\'':
      escaped += "&#39;";
      break;
    case '<':
      escaped += "&lt;";
      break;
    case '>':
      escaped += "&gt;";
      break;
    default:
      escaped += c;
    }
  }
  return escaped;
}

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw Error(ExitCode::failed, "failed to " + what + " " + path.string() + ": " + std::strerror(errno));
}

// An absolute directory, not a link, of this user, closed to everyone else: as XDG requires of
// $XDG_RUNTIME_DIR, checked because the variable may name anything.
bool is_private_runtime_dir(const char* runtime_dir) {
  if (!runtime_dir || !*runtime_dir || !fs::path(runtime_dir).is_absolute()) return false;
  struct stat info {};
  return lstat(runtime_dir, &info) == 0 && S_ISDIR(info.st_mode) && info.st_uid == geteuid() &&
         (info.st_mode & 077) == 0;
}

} // namespace

std::string login_page(const std::string& url) {
  std::string target = html_escape(url);
  return "<!DOCTYPE html>\n"
         "<html>\n"
         "<head>\n"
         "<meta charset=\"utf-8\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n"
         "<meta http-equiv=\"refresh\" content=\"0;url=" +
         target +
         "\">\n"
         "<title>Jupyter</title>\n"
         "</head>\n"
         "<body>\n"
         "<p>This page opens Jupyter. If it does not, <a href=\"" +
         target +
         "\">open Jupyter</a>.</p>\n"
         "</body>\n"
         "</html>\n";
}

std::string file_url(const fs::path& path) {
  static const char hex[] = "0123456789ABCDEF";
  std::string url = "file://";
  for (unsigned char c : path.native()) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                 c == '_' || c == '~' || c == '/';
    if (plain) {
      url += static_cast<char>(c);
    } else {
      url += '%';
      url += hex[c >> 4];
      url += hex[c & 0xF];
    }
  }
  return url;
}

fs::path login_page_path(const host::StateLayout& layout, const char* runtime_dir) {
  if (is_private_runtime_dir(runtime_dir))
    return fs::path(runtime_dir) / "launcher" / (layout.env_dir.filename().string() + "-open.html");
  return layout.inside(layout.open_page());
}

void write_login_page(const fs::path& path, const std::string& url) {
  secrets::ensure_private_dir(path.parent_path());
  if (unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove the old login page", path);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) fail("create the login page", path);
  std::string page = login_page(url);
  if (int error = write_fully(fd, page); error != 0) {
    close(fd);
    unlink(path.c_str());
    errno = error;
    fail("write the login page", path);
  }
  if (close(fd) != 0) fail("write the login page", path);
}

} // namespace launcher::lifecycle
