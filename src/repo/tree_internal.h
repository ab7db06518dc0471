// Internal to the repo module: the two tree decoders behind DecodeTree and
// the entry rules they share with EncodeTree.
//
// DecodeTree first tries ParseCanonicalTree, a parser for exactly the bytes
// EncodeTree writes (fixed member order, no whitespace, canonical escapes and
// integers), several times faster than general JSON parsing. Anything it
// does not accept goes to DecodeTreeStrictJson (the json module's strict
// reader, typed field access, then a re-encoding check), which accepts
// exactly the same trees and explains what is wrong with the others. The
// fuzz target checks that the two agree on every input.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/hex.h"
#include "repo/tree.h"

namespace hx::tree_internal {

inline constexpr std::uint64_t kMaxJsonInt = (std::uint64_t{1} << 63) - 1;

inline bool IsValidNodeId(std::string_view node) { return IsLowerHex(node, 32); }

// The rules DecodeTree enforces on one entry, other than its name and order;
// nullopt if the entry is valid, else a phrase such as "has an empty version
// vector".
std::optional<std::string> EntryProblem(const TreeEntry& tree_entry);
std::optional<std::string> EntryProblem(const Entry& entry, bool has_subtree);

// One entry of a tree to encode, borrowed (BuildTrees encodes straight from
// the EntryMap without copying entries into a Tree).
struct EntryView {
  std::string_view name;
  const Entry* entry = nullptr;
  const ObjectId* subtree = nullptr;  // null: no "tree" member
};

// EncodeTree over views, with the same rules and errors.
Result<std::string> EncodeTreeEntries(std::span<const EntryView> entries);

// The tree, if `bytes` is exactly EncodeTree's output for a valid tree;
// nullopt otherwise (for any reason).
std::optional<Tree> ParseCanonicalTree(std::string_view bytes);

// DecodeTree's strict general path (see above).
Result<Tree> DecodeTreeStrictJson(std::string_view bytes);

}  // namespace hx::tree_internal
