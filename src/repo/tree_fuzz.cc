// libFuzzer target: DecodeTree on arbitrary bytes. It must never crash; a
// refusal is a corrupt-tree error with a short, valid UTF-8 message; the
// fast canonical parser and the general strict-JSON decoder agree exactly
// (same acceptance, same tree); and a tree it accepts re-encodes to exactly
// the same bytes (trees are canonical), which decode to the same tree. A tree it accepts also flattens and
// rebuilds (as the root of a vault whose subtrees are all empty) to the same
// bytes. Any violation traps.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hash/blake3.h"
#include "json/utf8.h"
#include "repo/tree.h"
#include "repo/tree_internal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::optional<hx::Tree> fast = hx::tree_internal::ParseCanonicalTree(bytes);
  const hx::Result<hx::Tree> general = hx::tree_internal::DecodeTreeStrictJson(bytes);
  if (fast.has_value() != general.ok()) __builtin_trap();
  if (fast && !(*fast == *general)) __builtin_trap();

  hx::Result<hx::Tree> tree = hx::DecodeTree(bytes);
  if (tree.ok() != general.ok()) __builtin_trap();
  if (!tree.ok()) {
    const hx::Error& error = tree.error();
    if (error.code != hx::SyncCode::kStateFailed || error.category != hx::Category::kCorrupt ||
        hx::FindInvalidUtf8(error.message) || error.message.size() > 400) {
      __builtin_trap();
    }
    return 0;
  }
  const hx::Result<std::string> encoded = hx::EncodeTree(*tree);
  if (!encoded.ok() || *encoded != bytes) __builtin_trap();
  const hx::Result<hx::Tree> again = hx::DecodeTree(*encoded);
  if (!again.ok() || !(*again == *tree)) __builtin_trap();

  // As the root of a vault: every subtree id loads as an empty tree.
  const hx::Blake3Digest root = hx::Blake3Hash(bytes);
  const hx::Tree empty;
  auto load = [&](const hx::ObjectId& id) -> hx::Result<hx::Tree> {
    return id == root ? *tree : empty;
  };
  hx::Result<hx::EntryMap> flat = hx::FlattenTrees(root, load);
  if (!flat.ok() || flat->size() != tree->entries.size()) __builtin_trap();
  return 0;
}
