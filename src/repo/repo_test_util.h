// Test helpers of the repo module: fixed vault contexts and rapidcheck
// generators of version vectors, entries, trees and entry maps.
//
// Thread-safety: test-only values.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "base/hex.h"
#include "crypto/keys.h"
#include "repo/tree.h"
#include "repo/vault_context.h"

namespace hx::testing {

inline std::vector<std::uint8_t> ToBytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// The master key whose byte i is first + i (the crypto tests' key, whose
// subkeys are pinned in crypto/keys_test.cc).
inline SecretKey CountingKey(std::uint8_t first) {
  SecretKey key;
  for (std::size_t i = 0; i < kSecretKeySize; ++i) {
    key.mutable_bytes()[i] = static_cast<std::uint8_t>(first + i);
  }
  return key;
}

// A vault context with master key CountingKey(first) and the given id.
inline VaultContext TestContext(std::uint8_t first = 0,
                                std::string vault_id = "000102030405060708090a0b0c0d0e0f") {
  VaultContext context;
  context.vault_id = std::move(vault_id);
  const auto id_bytes = FromHex(context.vault_id);
  for (std::size_t i = 0; i < context.vault_id_bytes.size() && i < id_bytes->size(); ++i) {
    context.vault_id_bytes[i] = (*id_bytes)[i];
  }
  const SecretKey master = CountingKey(first);
  context.keys = VaultKeys::Derive(master);
  context.key_fingerprint = KeyFingerprint(master);
  return context;
}

// Three fixed node ids, so that random vectors share nodes.
inline const std::vector<std::string>& TestNodes() {
  static const std::vector<std::string> nodes = {"0123456789abcdef0123456789abcdef",
                                                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                                 "fedcba9876543210fedcba9876543210"};
  return nodes;
}

inline rc::Gen<VersionVector> GenVv(bool allow_empty = true) {
  return rc::gen::map(
      rc::gen::container<std::vector<std::pair<std::size_t, std::uint64_t>>>(
          rc::gen::pair(rc::gen::inRange<std::size_t>(0, TestNodes().size()),
                        rc::gen::inRange<std::uint64_t>(1, 8))),
      [allow_empty](const std::vector<std::pair<std::size_t, std::uint64_t>>& pairs) {
        std::map<std::string, std::uint64_t> counters;
        for (const auto& [node, counter] : pairs) counters[TestNodes()[node]] = counter;
        if (counters.empty() && !allow_empty) counters[TestNodes()[0]] = 1;
        return VersionVector(std::move(counters));
      });
}

inline rc::Gen<ObjectId> GenId() {
  return rc::gen::map(rc::gen::container<std::vector<std::uint8_t>>(32, rc::gen::arbitrary<std::uint8_t>()),
                      [](const std::vector<std::uint8_t>& bytes) {
                        ObjectId id{};
                        std::copy(bytes.begin(), bytes.end(), id.begin());
                        return id;
                      });
}

// Valid entry names: short strings over an alphabet with separators-like
// ASCII, a control character, and multi-byte UTF-8.
inline rc::Gen<std::string> GenName() {
  static const std::vector<std::string> pieces = {"a", "b", "c", ".", "-", " ", "\t", "\"",
                                                  "\\", "\xc3\xa9", "\xe2\x82\xac",
                                                  "\xf0\x9f\x98\x80"};
  return rc::gen::suchThat(
      rc::gen::map(rc::gen::container<std::vector<std::string>>(
                       rc::gen::elementOf(pieces)),
                   [](const std::vector<std::string>& parts) {
                     std::string name;
                     for (const std::string& part : parts) name += part;
                     return name;
                   }),
      [](const std::string& name) { return IsValidEntryName(name) && name.size() <= 24; });
}

// An entry of `kind` with random content valid for that kind.
inline rc::Gen<Entry> GenEntryOfKind(EntryKind kind) {
  return rc::gen::exec([kind] {
    Entry entry;
    entry.kind = kind;
    entry.vv = *GenVv(/*allow_empty=*/false);
    if (kind == EntryKind::kFile) {
      const auto sizes = *rc::gen::container<std::vector<std::uint64_t>>(
          rc::gen::inRange<std::uint64_t>(1, kMaxChunkSize + 1));
      for (std::uint64_t size : sizes) {
        entry.chunks.push_back(ChunkRef{*GenId(), size});
        entry.size += size;
      }
      entry.executable = *rc::gen::arbitrary<bool>();
      entry.mtime_ns = *rc::gen::arbitrary<std::int64_t>();
    }
    if (kind == EntryKind::kSymlink) entry.symlink_target = *GenName() + "/" + *GenName();
    return entry;
  });
}

inline rc::Gen<EntryKind> GenKind() {
  return rc::gen::element(EntryKind::kFile, EntryKind::kDir, EntryKind::kSymlink,
                          EntryKind::kTombstone);
}

// A tree whose entries are valid for EncodeTree.
inline rc::Gen<Tree> GenTree() {
  return rc::gen::exec([] {
    const auto names = *rc::gen::container<std::set<std::string>>(GenName());
    Tree tree;
    for (const std::string& name : names) {
      TreeEntry& entry = tree.entries.emplace_back();
      entry.name = name;
      entry.entry = *GenEntryOfKind(*GenKind());
      const bool tombstone = entry.entry.kind == EntryKind::kTombstone;
      if (entry.entry.kind == EntryKind::kDir || (tombstone && *rc::gen::arbitrary<bool>())) {
        entry.subtree = *GenId();
      }
    }
    return tree;
  });
}

// A consistent EntryMap: every parent is a dir or tombstone entry; children
// of tombstones are tombstones (what a deletion produces).
inline rc::Gen<EntryMap> GenEntryMap(int max_depth = 3) {
  return rc::gen::exec([max_depth] {
    EntryMap entries;
    // Directories to fill, breadth first: (path, is tombstone, depth).
    std::vector<std::tuple<std::string, bool, int>> dirs = {{"", false, 0}};
    for (std::size_t d = 0; d < dirs.size(); ++d) {
      const auto [dir, dead, depth] = dirs[d];
      const auto names = *rc::gen::resize(
          std::max(0, 8 - 2 * depth), rc::gen::container<std::set<std::string>>(GenName()));
      for (const std::string& name : names) {
        const std::string path = dir.empty() ? name : dir + "/" + name;
        const EntryKind kind = dead ? EntryKind::kTombstone : *GenKind();
        entries[path] = *GenEntryOfKind(kind);
        const bool may_have_children = kind == EntryKind::kDir || kind == EntryKind::kTombstone;
        if (may_have_children && depth + 1 < max_depth) {
          dirs.emplace_back(path, kind == EntryKind::kTombstone, depth + 1);
        }
      }
    }
    return entries;
  });
}

}  // namespace hx::testing
