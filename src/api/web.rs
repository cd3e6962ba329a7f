//! The browser UI: files from `web/`, embedded in the binary so the server needs no
//! separate build step or asset directory.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    ),
    (
        "softphone.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/softphone.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
    (
        "widget.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/widget.js"),
    ),
    (
        "dialplans.html",
        "text/html; charset=utf-8",
        include_str!("../../web/dialplans.html"),
    ),
    (
        "dialplans.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/dialplans.js"),
    ),
    (
        "page.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/page.js"),
    ),
    (
        "supervisor.html",
        "text/html; charset=utf-8",
        include_str!("../../web/supervisor.html"),
    ),
    (
        "supervisor.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/supervisor.js"),
    ),
    (
        "monitor.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/monitor.js"),
    ),
    (
        "call.html",
        "text/html; charset=utf-8",
        include_str!("../../web/call.html"),
    ),
    (
        "call.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/call.js"),
    ),
    (
        "sipws.js",
        "text/javascript; charset=utf-8",
        include_str!("../../web/sipws.js"),
    ),
    (
        "demo-chat.html",
        "text/html; charset=utf-8",
        include_str!("../../web/demo-chat.html"),
    ),
];

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => (
            [(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "no-cache"),
             (header::CONTENT_SECURITY_POLICY, "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; media-src 'self' blob:")],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub async fn index() -> Response {
    file("index.html")
}

/// The click-to-call page for customers.
pub async fn call_page() -> Response {
    file("call.html")
}

/// The embeddable chat widget; served without the UI's CSP so any site can load it.
pub async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        include_str!("../../web/widget.js"),
    )
        .into_response()
}

pub async fn asset(Path(name): Path<String>) -> Response {
    file(&name)
}
