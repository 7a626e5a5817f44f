//! Prometheus metrics and the access log, from one middleware: requests by route and status, a
//! latency histogram by route, and the fines issued. Routes are labelled by their pattern
//! (`/api/v1/fines/{decision_no}`), never by the raw path, so the label set stays small.

use super::error::ApiError;
use crate::http::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    by_route: Mutex<BTreeMap<&'static str, RouteStats>>,
    fines_issued: AtomicU64,
}

#[derive(Default)]
struct RouteStats {
    by_method_status: BTreeMap<(&'static str, u16), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Metrics {
    pub fn fine_issued(&self) {
        self.fines_issued.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record(&self, route: &'static str, method: &'static str, status: u16, seconds: f64) {
        let mut routes = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        let stats = routes.entry(route).or_default();
        *stats.by_method_status.entry((method, status)).or_default() += 1;
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            stats.buckets[i] += 1;
        }
        stats.count += 1;
        stats.sum_seconds += seconds;
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let routes = self.by_route.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP finepay_http_requests_total HTTP requests by route pattern, method and status.\n");
        out.push_str("# TYPE finepay_http_requests_total counter\n");
        for (route, stats) in routes.iter() {
            for ((method, status), n) in &stats.by_method_status {
                let _ = writeln!(
                    out,
                    "finepay_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP finepay_http_request_duration_seconds Time from request to response, by route pattern.\n");
        out.push_str("# TYPE finepay_http_request_duration_seconds histogram\n");
        for (route, stats) in routes.iter() {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(stats.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "finepay_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "finepay_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                stats.count
            );
            let _ =
                writeln!(out, "finepay_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", stats.sum_seconds);
            let _ = writeln!(out, "finepay_http_request_duration_seconds_count{{route=\"{route}\"}} {}", stats.count);
        }
        out.push_str("# HELP finepay_fines_issued_total Fines issued by this process.\n");
        out.push_str("# TYPE finepay_fines_issued_total counter\n");
        let _ = writeln!(out, "finepay_fines_issued_total {}", self.fines_issued.load(Ordering::Relaxed));
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Times every request, counts it, and writes the one access-log line.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    // Anyone can send any method: only known ones become labels, so the series stay bounded.
    let method = match req.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let ctx = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let seconds = started.elapsed().as_secs_f64();
    let route = route_label(response.request().path());
    let status = response.status().as_u16();
    if let Some(ctx) = ctx {
        ctx.metrics.record(route, method, status, seconds);
    }
    let millis = seconds * 1000.0;
    match response.response().error().and_then(|e| e.as_error::<ApiError>()) {
        Some(e) if e.status.is_server_error() => log::error!("{method} {route} {status} {millis:.2}ms: {e}"),
        Some(e) => log::info!("{method} {route} {status} {millis:.2}ms: {e}"),
        None => log::info!("{method} {route} {status} {millis:.2}ms"),
    }
    Ok(response)
}

/// The route pattern a path belongs to, from [`super::ROUTES`], by comparing segments: cheaper
/// than asking actix again (its router matches each pattern with a regular expression).
fn route_label(path: &str) -> &'static str {
    super::ROUTES
        .iter()
        .filter(|route| !route.alias)
        .map(|route| route.path)
        .find(|pattern| super::matches_pattern(pattern, path))
        .unwrap_or("unmatched")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_labelled_by_their_route_pattern() {
        assert_eq!(route_label("/p/ABC"), "/p/{token}");
        assert_eq!(route_label("/P/ABC"), "/p/{token}");
        assert_eq!(route_label("/p/ABC/pay"), "/p/{token}/pay");
        assert_eq!(route_label("/api/v1/fines"), "/api/v1/fines");
        assert_eq!(route_label("/api/v1/fines/123/qr.png"), "/api/v1/fines/{decision_no}/qr.png");
        assert_eq!(route_label("/healthz"), "/healthz");
        assert_eq!(route_label("/lookup"), "/lookup");
        assert_eq!(route_label("/"), "/");
        assert_eq!(route_label("//"), "unmatched");
        assert_eq!(route_label("/api/v1/fines/1/2/3/4/5/6/7/8"), "unmatched");
        assert_eq!(route_label("/nothing/here"), "unmatched");
    }

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record("/healthz", "GET", 200, 0.0001);
        m.record("/healthz", "GET", 200, 0.003);
        m.record("/healthz", "GET", 503, 9.0);
        m.fine_issued();
        let text = m.render();
        assert!(text.contains("finepay_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"));
        assert!(text.contains("finepay_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"503\"} 1"));
        assert!(text.contains("finepay_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0005\"} 1"));
        assert!(text.contains("finepay_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 2"));
        assert!(text.contains("finepay_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3"));
        assert!(text.contains("finepay_fines_issued_total 1"));
    }
}
