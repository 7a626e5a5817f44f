//! What holds on every page a driver may reach (issue 19, "Everywhere"): finepay's own address
//! leads to the lookup; HEAD answers like GET; a path with no page gets a 404 page in the pages'
//! frame and language (JSON only for programs: the APIs, or `Accept: application/json`).

use crate::helpers::{error_of, motor_fine, spawn_app};

#[actix_web::test]
async fn finepays_own_address_leads_to_the_lookup_in_the_language_asked_for() {
    let app = spawn_app().await;
    for (path, location) in [("/", "/lookup"), ("/?lang=en", "/lookup?lang=en"), ("/?x=1&lang=zh", "/lookup?lang=zh")] {
        let response = app.http.get(format!("{}{path}", app.address)).send().await.expect("sent");
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], location, "{path}");
    }
}

#[actix_web::test]
async fn head_answers_as_get_does_without_the_body() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let page = app.public_path(fine["pay_url"].as_str().expect("pay_url"));
    for path in [
        page.clone(),
        format!("{}/lookup", app.address),
        format!("{}/officer/", app.address),
        format!("{}/healthz", app.address),
    ] {
        let get = app.http.get(&path).send().await.expect("GET sent");
        let head = app.http.head(&path).send().await.expect("HEAD sent");
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(head.headers().get("content-type"), get.headers().get("content-type"), "{path}");
        assert!(head.bytes().await.expect("no body").is_empty(), "{path}");
    }
    let unknown = app.http.head(format!("{}/no-such-page", app.address)).send().await.expect("sent");
    assert_eq!(unknown.status(), 404);
}

#[actix_web::test]
async fn a_path_without_a_page_gets_the_pages_404_in_the_browsers_language() {
    let app = spawn_app().await;
    for (lang, title, text) in
        [("zh-CN,zh;q=0.9", "未找到", "此网址没有页面"), ("en-GB,en", "Not found", "There is no page at this address")]
    {
        let response = app
            .http
            .get(format!("{}/no-such-page", app.address))
            .header("Accept-Language", lang)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 404);
        assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/html"));
        let html = response.text().await.expect("the page");
        assert!(html.contains(&format!("<title>{title}</title>")), "{html}");
        assert!(
            html.contains(text) && html.contains("<main>") && html.contains("<header>"),
            "the pages' frame: {html}"
        );
        assert!(html.contains("id=\"lookup-link\"") && html.contains("id=\"lang-switch\""), "{html}");
        let other = if title == "未找到" { "en" } else { "zh" };
        assert!(
            html.contains(&format!("lang=\"{other}\" hreflang=\"{other}\"")),
            "the switch names its language: {html}"
        );
    }
    // Programs get JSON: the APIs' paths, and whoever asks for it.
    for path in ["/api/v1/nothing", "/API/v1/fines/x", "/bank/v1/nothing", "/admin/api/nothing"] {
        let response = app.http.get(format!("{}{path}", app.address)).send().await.expect("sent");
        assert_eq!(error_of(response).await, (404, "not_found".to_owned()), "{path}");
    }
    let asked = app.http.get(format!("{}/no-such-page", app.address)).header("Accept", "application/json").send().await;
    assert_eq!(error_of(asked.expect("sent")).await, (404, "not_found".to_owned()));
}
