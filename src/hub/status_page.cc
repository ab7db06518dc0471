#include "hub/status_page.h"

#include <string>

namespace hx::hub {
namespace {

constexpr std::string_view kHtml = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>hx hub</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12px; }
.error { color: #a00; }
.note { color: #666; }
section.vault { border-top: 2px solid #ddd; padding-top: 0.5em; }
</style>
</head>
<body>
<h1>hx hub</h1>
<form id="login-form" hidden>
  <p>Sign in with an admin token (<code>hx serve admin-token --store &lt;target&gt;</code>).
  It is kept in this tab only.</p>
  <input id="token" type="password" autocomplete="off" size="60" placeholder="hxt1....">
  <button id="login" type="submit">Sign in</button>
  <p id="login-error" class="error"></p>
</form>
<div id="status" hidden>
  <p><span id="updated" class="note"></span> <button id="logout" type="button">Sign out</button></p>
  <div id="vaults"></div>
  <h2>Recent errors</h2>
  <table id="errors"><thead><tr><th>When</th><th>Status</th><th>Code</th><th>Method</th>
  <th>Route</th><th>Vault</th></tr></thead><tbody></tbody></table>
  <p id="conflicts-note" class="note"></p>
</div>
<script src="/status.js"></script>
</body>
</html>
)html";

constexpr std::string_view kScript = R"js('use strict';
// The hub's status page (src/hub/status_page.h). Every value goes in with
// textContent: nothing the hub returns is ever markup.
const KEY = 'hx-admin-token';
let timer = null;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}
function when(ms) { return ms > 0 ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-'; }
function row(cells, cls) {
  const tr = el('tr', null, cls);
  for (const c of cells) tr.appendChild(el('td', c));
  return tr;
}
function table(headers, rows, cls) {
  const t = el('table', null, cls);
  const head = el('tr');
  for (const h of headers) head.appendChild(el('th', h));
  t.appendChild(el('thead')).appendChild(head);
  const body = t.appendChild(el('tbody'));
  for (const r of rows) body.appendChild(r);
  return t;
}

function showLogin(message) {
  if (timer) { clearInterval(timer); timer = null; }
  document.getElementById('status').hidden = true;
  document.getElementById('login-form').hidden = false;
  document.getElementById('login-error').textContent = message || '';
}

function render(data) {
  const vaults = document.getElementById('vaults');
  vaults.replaceChildren();
  for (const v of data.vaults) {
    const s = el('section', null, 'vault');
    s.dataset.vault = v.name;
    s.appendChild(el('h2', 'Vault ' + v.name));
    s.appendChild(el('h3', 'Devices'));
    s.appendChild(table(['Name', 'Platform', 'Role', 'Last seen', 'Last head acknowledged',
                         'Revoked', 'Device id'],
      v.devices.map(d => {
        const tr = row([d.name, d.platform, d.role, when(d.last_seen_ms), d.acked_head || '-',
                        d.revoked ? when(d.revoked_ms) : 'no', d.device_id], 'device');
        tr.dataset.device = d.device_id;
        tr.firstChild.className = 'device-name';
        return tr;
      }), 'devices'));
    s.appendChild(el('h3', 'Recent pushes (seen by this hub)'));
    s.appendChild(table(['When', 'Head', 'Device'],
      v.pushes.map(p => row([when(p.at_ms), p.head, p.device_name || p.device_id || '-'], 'push')),
      'pushes'));
    s.appendChild(el('p', 'Conflict artifacts: not knowable by the hub (see below).', 'note'));
    vaults.appendChild(s);
  }
  if (data.vaults_truncated) vaults.appendChild(el('p', 'Only the first vaults are shown.', 'note'));
  const errors = document.querySelector('#errors tbody');
  errors.replaceChildren();
  for (const e of data.errors) {
    errors.appendChild(row([when(e.at_ms), e.status, e.code, e.method, e.route, e.vault], 'error-row'));
  }
  document.getElementById('conflicts-note').textContent = data.conflicts_note;
  document.getElementById('updated').textContent = 'Updated ' + when(data.now_ms);
  document.getElementById('updated').dataset.nowMs = String(data.now_ms);
}

async function refresh() {
  const token = sessionStorage.getItem(KEY);
  if (!token) return showLogin('');
  let reply;
  try {
    reply = await fetch('/v1/_admin/status', {
      headers: { 'Authorization': 'Bearer ' + token }, cache: 'no-store' });
  } catch (e) {
    document.getElementById('updated').textContent = 'The hub does not answer; retrying.';
    return;
  }
  if (reply.status === 401) {
    sessionStorage.removeItem(KEY);
    let message = 'The token was refused.';
    try { message = (await reply.json()).error.message; } catch (e) {}
    return showLogin(message);
  }
  if (!reply.ok) {
    document.getElementById('updated').textContent = 'The hub answered ' + reply.status + '; retrying.';
    return;
  }
  render(await reply.json());
  document.getElementById('login-form').hidden = true;
  document.getElementById('status').hidden = false;
  if (!timer) timer = setInterval(refresh, 2000);
}

document.getElementById('login-form').addEventListener('submit', ev => {
  ev.preventDefault();
  const input = document.getElementById('token');
  sessionStorage.setItem(KEY, input.value.trim());
  input.value = '';
  refresh();
});
document.getElementById('logout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  showLogin('');
});
refresh();
)js";

HubResponse Asset(std::string_view body, std::string content_type) {
  HubResponse response;
  response.content_type = std::move(content_type);
  response.body = std::string(body);
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; "
      "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'");
  return response;
}

}  // namespace

std::string_view StatusPageHtml() { return kHtml; }
std::string_view StatusPageScript() { return kScript; }

void RegisterStatusPage(Router& router) {
  router.HandleExact("GET", "/", [](const HubRequest&) {
    return Asset(kHtml, "text/html; charset=utf-8");
  });
  router.HandleExact("GET", "/status.js", [](const HubRequest&) {
    return Asset(kScript, "text/javascript; charset=utf-8");
  });
}

}  // namespace hx::hub
