#include "accounts.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "error.hpp"

namespace launcher_init {
namespace {

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    auto colon = line.find(':');
    fields.push_back(line.substr(0, colon));
    if (colon == std::string_view::npos) return fields;
    line.remove_prefix(colon + 1);
  }
}

std::optional<unsigned long> parse_id(std::string_view text) {
  unsigned long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Calls visit(fields, line_start, line_length) for every non-empty line; stops when it returns true.
template <typename Visitor> void for_each_entry(std::string_view text, Visitor visit) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(start, end - start);
    if (!line.empty() && visit(split_fields(line), start, line.size())) return;
    start = end + 1;
  }
}

struct Entry {
  std::vector<std::string> fields;
  std::size_t offset = 0;
  std::size_t length = 0;
};

template <typename Predicate> std::optional<Entry> find_entry(std::string_view text, Predicate matches) {
  std::optional<Entry> found;
  for_each_entry(text, [&](const std::vector<std::string_view>& fields, std::size_t offset, std::size_t length) {
    if (!matches(fields)) return false;
    found = Entry{{fields.begin(), fields.end()}, offset, length};
    return true;
  });
  return found;
}

std::optional<Entry> find_by_name(std::string_view text, std::string_view name) {
  return find_entry(text, [&](const auto& fields) { return fields[0] == name; });
}

std::optional<Entry> find_by_id(std::string_view text, unsigned long id) {
  return find_entry(text, [&](const auto& fields) { return fields.size() > 2 && parse_id(fields[2]) == id; });
}

std::string join_fields(const std::vector<std::string>& fields) {
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ':';
    line += fields[i];
  }
  return line;
}

std::string append_line(std::string text, std::string_view line) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  text.append(line).append("\n");
  return text;
}

std::string replace_line(std::string text, const Entry& entry, std::string_view line) {
  text.replace(entry.offset, entry.length, line);
  return text;
}

Account account_from(const Entry& entry) {
  const auto& fields = entry.fields;
  Account account;
  account.name = fields[0];
  account.uid = static_cast<uid_t>(parse_id(fields.size() > 2 ? fields[2] : "").value_or(0));
  account.gid = static_cast<gid_t>(parse_id(fields.size() > 3 ? fields[3] : "").value_or(0));
  account.home = fields.size() > 5 ? fields[5] : "";
  account.shell = fields.size() > 6 ? fields[6] : "";
  return account;
}

std::string describe(std::string_view name, std::string_view kind, unsigned long id) {
  return std::string(name) + " (" + std::string(kind) + " " + std::to_string(id) + ")";
}

AccountFiles ensure_group(AccountFiles files, const Account& account) {
  if (find_by_id(files.group, account.gid)) return files;
  if (auto taken = find_by_name(files.group, account.name)) {
    throw failure("create group", describe(account.name, "gid", account.gid),
                  "the name belongs to gid " + taken->fields[2]);
  }
  files.group = append_line(std::move(files.group), account.name + ":x:" + std::to_string(account.gid) + ":");
  if (files.gshadow) files.gshadow = append_line(std::move(*files.gshadow), account.name + ":!::");
  return files;
}

std::string set_password_field(std::string shadow, std::string_view name, std::string_view field,
                               long days_since_epoch) {
  if (auto entry = find_by_name(shadow, name)) {
    auto fields = entry->fields;
    fields.resize(std::max<std::size_t>(fields.size(), 9));
    fields[1] = field;
    return replace_line(std::move(shadow), *entry, join_fields(fields));
  }
  return append_line(std::move(shadow), std::string(name) + ":" + std::string(field) + ":" +
                                            std::to_string(days_since_epoch) + ":0:99999:7:::");
}

} // namespace

std::optional<Account> find_account(std::string_view passwd, std::string_view name) {
  if (auto entry = find_by_name(passwd, name)) return account_from(*entry);
  return std::nullopt;
}

AccountChange add_account(const AccountFiles& files, const AccountRequest& request) {
  const auto& wanted = request.account;
  auto by_name = find_by_name(files.passwd, wanted.name);
  auto by_uid = find_by_id(files.passwd, wanted.uid);
  if (by_uid && by_uid->fields[0] != wanted.name) {
    throw failure("create user", describe(wanted.name, "uid", wanted.uid), "the uid belongs to " + by_uid->fields[0]);
  }
  if (by_name && !by_uid) {
    throw failure("create user", describe(wanted.name, "uid", wanted.uid),
                  "the name belongs to uid " + by_name->fields[2]);
  }
  AccountChange change{files, wanted};
  if (by_name) {
    change.account = account_from(*by_name);
  } else {
    change.files = ensure_group(files, wanted);
    change.files.passwd = append_line(std::move(change.files.passwd),
                                      join_fields({wanted.name, "x", std::to_string(wanted.uid),
                                                   std::to_string(wanted.gid), "", wanted.home, wanted.shell}));
  }
  change.files.shadow =
      set_password_field(std::move(change.files.shadow), wanted.name, request.password_field, request.days_since_epoch);
  return change;
}

std::string password_hash_problem(std::string_view hash) {
  if (hash.size() < 4 || hash.front() != '$') return "expected a crypt(3) hash starting with '$'";
  bool fits_a_shadow_field =
      std::all_of(hash.begin(), hash.end(), [](char c) { return c > ' ' && c < 0x7f && c != ':'; });
  if (!fits_a_shadow_field) return "contains a character that a crypt(3) hash never has";
  return "";
}

} // namespace launcher_init
