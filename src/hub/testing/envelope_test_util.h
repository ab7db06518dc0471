// Envelopes for the hub's envelope tests: items with correct (or, on
// request, wrong) content hashes, as seed 003's apps would send them.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "envelope/envelope.h"

namespace hx::hub::testing {

inline EnvelopeItem FileItem(std::string id, const std::string& data,
                             std::string updated_utc = "2026-02-12T07:55:00Z") {
  EnvelopeItem item;
  item.item_type = "file";
  item.item_id = std::move(id);
  item.updated_utc = std::move(updated_utc);
  item.content = {{"data", EncodeBase64(data)}, {"executable", false}};
  item.content_hash = *ContentHash(item.content);
  return item;
}

inline EnvelopeItem DirectoryItem(std::string id) {
  EnvelopeItem item;
  item.item_type = "directory";
  item.item_id = std::move(id);
  item.updated_utc = "2026-02-12T07:55:00Z";
  item.content = nlohmann::json::object();
  item.content_hash = *ContentHash(item.content);
  return item;
}

// An item whose content_hash names other bytes than its content (a
// damaged or hand-edited export): valid in shape, so the envelope parses,
// but the item must fail alone.
inline EnvelopeItem DamagedFileItem(std::string id) {
  EnvelopeItem item = FileItem(std::move(id), "what the app holds");
  item.content_hash = FileItem("x", "something else").content_hash;
  return item;
}

inline Envelope MakeEnvelope(std::vector<EnvelopeItem> items) {
  Envelope envelope;
  envelope.source = {"basaltos_main_local", "v0.1.0", "local-machine-fingerprint"};
  envelope.exported_utc = "2026-02-12T08:00:00Z";
  envelope.items = std::move(items);
  return envelope;
}

inline std::string EnvelopeBytes(std::vector<EnvelopeItem> items) {
  return *EncodeEnvelope(MakeEnvelope(std::move(items)));
}

}  // namespace hx::hub::testing
