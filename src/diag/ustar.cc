#include "diag/ustar.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace hx::diag {
namespace {

constexpr std::size_t kBlock = 512;

void PutOctal(char* field, std::size_t width, std::uint64_t value) {
  // width - 1 octal digits, zero-padded, and a NUL, as ustar wants (the
  // callers keep values within the digits).
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

std::uint64_t Checksum(const char* header) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    // The checksum field counts as spaces.
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

Error Corrupt(std::string message) {
  return Error(SyncCode::kStateFailed, Category::kCorrupt, "not a valid archive: " + message);
}

bool ParseOctal(const char* field, std::size_t width, std::uint64_t& out) {
  out = 0;
  std::size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (out > (UINT64_MAX >> 3)) return false;
    out = out * 8 + static_cast<std::uint64_t>(field[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != '\0' && field[i] != ' ') return false;
  }
  return any;
}

}  // namespace

Result<std::string> WriteUstar(const std::vector<TarMember>& members) {
  std::string out;
  for (const TarMember& m : members) {
    if (m.name.empty() || m.name.size() > 100 || m.name.front() == '/' ||
        m.name.find('\0') != std::string::npos || m.name == ".." || m.name.starts_with("../") ||
        m.name.find("/../") != std::string::npos || m.name.ends_with("/..")) {
      return InvalidInput(SyncCode::kInputInvalid, "invalid archive member name " + m.name);
    }
    if (m.bytes.size() >= (std::uint64_t{1} << 33)) {
      return InvalidInput(SyncCode::kInputInvalid, "archive member too large: " + m.name);
    }
    char h[kBlock] = {};
    std::memcpy(h, m.name.data(), m.name.size());
    PutOctal(h + 100, 8, static_cast<std::uint64_t>(m.mode) & 07777);
    PutOctal(h + 108, 8, 0);  // uid
    PutOctal(h + 116, 8, 0);  // gid
    PutOctal(h + 124, 12, m.bytes.size());
    PutOctal(h + 136, 12, static_cast<std::uint64_t>(m.mtime_s < 0 ? 0 : m.mtime_s));
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);  // with its NUL
    std::memcpy(h + 263, "00", 2);
    std::memcpy(h + 265, "hx", 2);
    std::memcpy(h + 297, "hx", 2);
    PutOctal(h + 148, 7, Checksum(h));  // six digits, a NUL, then a space
    h[155] = ' ';
    out.append(h, kBlock);
    out.append(m.bytes);
    out.append((kBlock - m.bytes.size() % kBlock) % kBlock, '\0');
  }
  out.append(2 * kBlock, '\0');
  return out;
}

Result<std::vector<TarMember>> ReadUstar(std::string_view archive, std::size_t max_members) {
  std::vector<TarMember> members;
  std::size_t at = 0;
  while (true) {
    if (archive.size() - at < kBlock) return Corrupt("it ends inside a header");
    const char* h = archive.data() + at;
    if (std::all_of(h, h + kBlock, [](char c) { return c == '\0'; })) break;
    std::uint64_t sum = 0;
    std::uint64_t size = 0;
    if (!ParseOctal(h + 148, 8, sum) || sum != Checksum(h)) return Corrupt("a header checksum");
    if (std::memcmp(h + 257, "ustar", 5) != 0) return Corrupt("a header without the ustar magic");
    if (h[156] != '0' && h[156] != '\0') return Corrupt("a member that is not a regular file");
    if (!ParseOctal(h + 124, 12, size)) return Corrupt("a size field");
    if (members.size() == max_members) return Corrupt("more than the expected members");
    at += kBlock;
    const std::uint64_t padded = size + (kBlock - size % kBlock) % kBlock;
    if (padded > archive.size() - at) return Corrupt("a member cut short");
    TarMember m;
    m.name.assign(h, strnlen(h, 100));
    m.bytes.assign(archive.substr(at, size));
    std::uint64_t mtime = 0;
    if (ParseOctal(h + 136, 12, mtime)) m.mtime_s = static_cast<std::int64_t>(mtime);
    members.push_back(std::move(m));
    at += padded;  // within the archive: checked above
  }
  return members;
}

}  // namespace hx::diag
