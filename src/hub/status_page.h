// The hub's status page: plain HTML, a stylesheet and a little JavaScript,
// embedded in the binary and served at "/" and "/status.js" (exact paths).
//
// The page asks for an admin token (`hx serve admin-token`) in a login
// form and keeps it in the tab's sessionStorage (gone when the tab closes;
// never in a URL, a cookie or a log: it is sent only in the Authorization
// header of GET /v1/_admin/status, hub/admin_routes.h). It then shows, per
// vault, the devices (name, platform, role, last seen, last head
// acknowledged), the recent pushes this hub saw, the conflict note, and the
// hub's recent error replies; it polls the status every 2 s (EventSource
// cannot send an Authorization header, and a cookie would need CSRF care;
// the SSE feed is for devices and apps).
//
// Every value reaches the page through textContent, never as markup, and
// the Content-Security-Policy allows only this hub's own script: a device
// named "<script>..." is shown as text.
//
// Thread-safety: the handlers are pure.
#pragma once

#include "hub/router.h"

namespace hx::hub {

// Registers GET "/" and GET "/status.js".
void RegisterStatusPage(Router& router);

// The page's HTML and script, for tests.
std::string_view StatusPageHtml();
std::string_view StatusPageScript();

}  // namespace hx::hub
