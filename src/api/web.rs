//! The browser UI: files from `web/`, embedded in the binary so the server needs no
//! separate build step or asset directory.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &str)] = &[
    ("index.html", "text/html; charset=utf-8", include_str!("../../web/index.html")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../web/app.js")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../web/style.css")),
];

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, mime, body)) => (
            [(header::CONTENT_TYPE, *mime), (header::CACHE_CONTROL, "no-cache"),
             (header::CONTENT_SECURITY_POLICY, "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:")],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

pub async fn index() -> Response {
    file("index.html")
}

pub async fn asset(Path(name): Path<String>) -> Response {
    file(&name)
}
