// Fuzzes the hub's request handling before any store is touched: arbitrary
// bytes through Beast's HTTP request parser under the server's bounds, the
// parsed request through the query and token accessors and the store
// protocol's parser (ParseStoreRequest), and a listen address through
// ParseListenAddress. Contract checked: nothing crashes; an accepted store
// request names a valid vault and a valid key (or prefix) whose backing key
// stays inside the vault (never the hub's own "_hub/" prefix); every refusal is KC_SYNC_INPUT_INVALID and renders as
// JSON.
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include "hub/health.h"
#include "hub/protocol.h"
#include "hub/router.h"
#include "hub/server.h"

namespace {

namespace http = boost::beast::http;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string listen = provider.ConsumeRandomLengthString(64);
  const hx::Result<hx::hub::ListenAddress> address = hx::hub::ParseListenAddress(listen);
  if (!address.ok()) Check(address.error().code == hx::SyncCode::kInputInvalid);

  const std::string bytes = provider.ConsumeRemainingBytesAsString();
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !parser.is_done()) return 0;
  const auto& message = parser.get();
  hx::hub::HubRequest request;
  request.method = std::string(message.method_string());
  const std::string target(message.target());
  const std::size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  for (const auto& field : message) {
    request.headers.emplace(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  (void)request.Bearer();
  (void)request.Query("prefix");
  if (!request.path.starts_with("/v1/")) return 0;
  request.rest = request.path.substr(4);
  const hx::Result<hx::hub::StoreRequest> parsed =
      hx::hub::ParseStoreRequest(request, std::uint64_t{128} << 20);
  if (!parsed.ok()) {
    Check(parsed.error().code == hx::SyncCode::kInputInvalid);
    Check(!parsed.error().ToJson().empty());
    return 0;
  }
  Check(hx::hub::ValidateVaultName(parsed->vault).ok());
  const std::string backing = parsed->BackingKey();
  Check(!backing.starts_with(hx::hub::kHubStatePrefix));
  if (parsed->op == hx::hub::StoreOp::kList) {
    Check(hx::ValidateStorePrefix(parsed->key).ok());
  } else if (parsed->op != hx::hub::StoreOp::kFeed &&
             parsed->op != hx::hub::StoreOp::kFeedStream) {
    Check(hx::IsValidStoreKey(parsed->key));
  }
  return 0;
}
