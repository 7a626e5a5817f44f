//! The credentials at the desk, in the browser's session: the list (roles and bindings, never a
//! token or its hash), making a credential (its token shown once, and working at once), revoking
//! one (its next request refused) — each with the session's CSRF token, audited under the admin's
//! name, and refused as a page without changing anything otherwise.

use crate::admin::admin;
use crate::admin_page::{csrf_of, signed_in};
use crate::helpers::{TestApp, spawn_app, unescape_html};
use diesel::prelude::*;
use finepay::credentials::{self, Binding};
use finepay::db::credentials::CredentialRow;
use finepay::db::schema::audit_log;

/// A form's field: its name and value.
type Field<'a> = (&'a str, &'a str);

async fn page(app: &TestApp, cookie: &str, query: &str) -> (u16, String) {
    let url = format!("{}/admin/credentials{query}", app.address);
    let response = app.http.get(url).header("Cookie", cookie).send().await.expect("sent");
    let status = response.status().as_u16();
    (status, unescape_html(&response.text().await.expect("html")))
}

async fn post(app: &TestApp, cookie: Option<&str>, path: &str, form: &[Field<'_>]) -> reqwest::Response {
    let mut request = app.http.post(format!("{}{path}", app.address)).form(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.expect("sent")
}

fn rows(app: &TestApp) -> Vec<CredentialRow> {
    let mut conn = app.ctx.pool.get().expect("connection");
    credentials::list(&mut conn, &Default::default()).expect("credentials")
}

fn id_of(app: &TestApp, role: &str, bound: &str) -> String {
    let row = rows(app).into_iter().find(|row| {
        row.role == role
            && [&row.officer_id, &row.device_id, &row.bank_code, &row.name].iter().any(|v| v.as_deref() == Some(bound))
    });
    row.expect("the credential").id
}

/// `(action, details)` of the audit entries `actor` made about credentials.
fn audited(app: &TestApp, actor: &str) -> Vec<(String, serde_json::Value)> {
    let mut conn = app.ctx.pool.get().expect("connection");
    let entries: Vec<(String, String)> = audit_log::table
        .filter(audit_log::actor.eq(actor))
        .filter(audit_log::action.like("credential.%"))
        .order(audit_log::id.asc())
        .select((audit_log::action, audit_log::details))
        .load(&mut *conn)
        .expect("audit");
    entries.into_iter().map(|(action, details)| (action, serde_json::from_str(&details).expect("JSON"))).collect()
}

/// The text of the element that opens with `tag` (`<code id="new-token">`, say).
fn shown_in(html: &str, tag: &str) -> String {
    let start = html.find(tag).unwrap_or_else(|| panic!("{tag} in {html}")) + tag.len();
    html[start..start + html[start..].find('<').expect("its end")].to_owned()
}

async fn status_with(app: &TestApp, token: &str, path: &str) -> u16 {
    app.get(token, path).await.status().as_u16()
}

#[actix_web::test]
async fn the_list_shows_roles_and_bindings_in_chinese_or_english_and_never_a_token() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let officer = app.officer("110105");
    let bank = app.credential(&Binding::Bank { bank_code: "ICBC".into() });
    let cookie = signed_in(&app, &token).await;
    let own = id_of(&app, "admin", "finance");
    let officer_id = id_of(&app, "officer", "0042");

    let (status, zh) = page(&app, &cookie, "").await;
    assert_eq!(status, 200);
    assert!(zh.contains("<h1>凭证管理</h1>") && zh.contains(r#"aria-current="page">凭证管理</a>"#), "{zh}");
    assert!(zh.contains("<td>警员</td><td>警号 0042 · 终端 hh-110105 · 辖区 110105 朝阳区 Chaoyang</td>"), "{zh}");
    assert!(
        zh.contains("<td>银行</td><td>银行代码 ICBC</td>") && zh.contains("<td>管理员</td><td>finance</td>"),
        "{zh}"
    );
    assert!(zh.contains(r#"<th scope="col">编号</th>"#) && zh.contains("<td>有效</td>"), "{zh}");
    for row in rows(&app) {
        assert!(zh.contains(&format!(r#"<tr id="credential-{}">"#, row.id)), "{} is listed", row.id);
        assert!(!zh.contains(&row.token_hash), "never a token's hash");
    }
    for secret in [&token, &officer, &bank] {
        assert!(!zh.contains(secret.as_str()) && !zh.contains(&secret[4..]), "never a token");
    }
    assert!(zh.contains(&format!(r#"id="revoke-{officer_id}""#)), "a live credential can be revoked");
    assert!(!zh.contains(&format!(r#"id="revoke-{own}""#)) && zh.contains("您当前登录所用"), "not this session's");

    let (_, en) = page(&app, &cookie, "?lang=en").await;
    assert!(en.contains("<h1>Credentials</h1>"), "{en}");
    assert!(
        en.contains("<td>Officer</td><td>officer 0042 · handheld hh-110105 · district 110105 朝阳区 Chaoyang</td>")
    );
    assert!(en.contains("<td>Bank</td><td>bank code ICBC</td>") && en.contains("Yours: this session's"), "{en}");

    // The filters: by role, and by state.
    let (_, banks) = page(&app, &cookie, "?role=bank&lang=en").await;
    assert!(banks.contains("bank code ICBC") && !banks.contains("hh-110105") && !banks.contains("<td>finance</td>"));
    assert!(banks.contains(r#"<option value="bank" selected>"#), "{banks}");
    let (_, revoked) = page(&app, &cookie, "?status=revoked").await;
    assert!(revoked.contains(r#"id="no-credentials""#), "{revoked}");
    let (_, active) = page(&app, &cookie, "?status=active&role=officer").await;
    assert!(
        active.contains(&format!(r#"id="credential-{officer_id}""#)) && !active.contains("银行代码 ICBC"),
        "{active}"
    );
    for bad in ["?role=police", "?status=gone", "?role=Officer"] {
        let (status, html) = page(&app, &cookie, &format!("{bad}&lang=en")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(html.contains("No such role or state."), "{bad}: {html}");
    }

    // A bearer token reads the list but gets no forms; another role's is refused; nobody gets the
    // sign-in form.
    let curl = app.get(&token, "/admin/credentials").await;
    assert_eq!(curl.status(), 200);
    let curl = curl.text().await.expect("html");
    assert!(curl.contains("hh-110105") && !curl.contains(r#"name="csrf""#), "{curl}");
    assert_eq!(status_with(&app, &officer, "/admin/credentials").await, 403);
    let anonymous = app.http.get(format!("{}/admin/credentials", app.address)).send().await.expect("sent");
    assert!(anonymous.text().await.expect("html").contains(r#"id="sign-in""#));
}

#[actix_web::test]
async fn a_new_credentials_token_is_shown_once_works_at_once_and_is_audited_under_the_admin() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let (_, list) = page(&app, &cookie, "?lang=en").await;
    let csrf = csrf_of(&list);

    let officer_form = [
        ("csrf", csrf.as_str()),
        ("role", "officer"),
        ("officer_id", " 0077 "),
        ("device_id", "hh-77"),
        ("district", "110108"),
    ];
    let bank_form = [("csrf", csrf.as_str()), ("role", "bank"), ("bank_code", "CCB")];
    let admin_form = [("csrf", csrf.as_str()), ("role", "admin"), ("name", "审计 王")];
    // (form, the binding as listed, where its token is let in)
    let cases: [(&[Field], &str, &str); 3] = [
        (&officer_form, "officer 0077 · handheld hh-77 · district 110108 海淀区 Haidian", "/api/v1/violations"),
        (&bank_form, "bank code CCB", "/bank/v1/outstanding"),
        (&admin_form, "审计 王", "/admin/api/jobs"),
    ];
    let mut made = Vec::new();
    for (form, bound, path) in cases {
        let response = post(&app, Some(&cookie), "/admin/credentials?lang=en", form).await;
        assert_eq!(response.status(), 201, "{bound}");
        assert_eq!(response.headers()["cache-control"], "no-store", "the page with the token is never stored");
        let html = unescape_html(&response.text().await.expect("html"));
        assert!(html.contains("It will not be shown again"), "{html}");
        assert!(html.contains(&format!("<dd>{bound}</dd>")), "{bound}: {html}");
        let new = shown_in(&html, r#"<code id="new-token">"#);
        assert!(credentials::plausible_token(&new), "{new}");
        assert_eq!(status_with(&app, &new, path).await, 200, "{bound}: its token works at once");
        let (_, listed) = page(&app, &cookie, "?lang=en").await;
        assert!(listed.contains(bound) && !listed.contains(&new), "listed, its token not shown again");
        made.push(shown_in(&html, r#"<dd id="new-id">"#));
    }

    let entries = audited(&app, &actor);
    let expected: Vec<_> = made
        .iter()
        .zip(["officer", "bank", "admin"])
        .map(|(id, role)| ("credential.create".to_owned(), serde_json::json!({"credential_id": id, "role": role})))
        .collect();
    assert_eq!(entries, expected, "each audited under the admin's name");

    // In Chinese by default.
    let form = [("csrf", csrf.as_str()), ("role", "bank"), ("bank_code", "BOC")];
    let response = post(&app, Some(&cookie), "/admin/credentials", &form).await;
    assert_eq!(response.status(), 201);
    let html = response.text().await.expect("html");
    assert!(html.contains("<h1>凭证已创建</h1>") && html.contains("它不会再显示"), "{html}");
}

#[actix_web::test]
async fn a_form_that_breaks_the_rules_or_is_not_the_sessions_own_makes_nothing() {
    let app = spawn_app().await;
    let (_, token) = admin(&app);
    let cookie = signed_in(&app, &token).await;
    let (_, list) = page(&app, &cookie, "?lang=en").await;
    let csrf = csrf_of(&list);
    let long = "x".repeat(65);
    let officer = |officer: &'static str, device: &'static str, district: &'static str| {
        vec![("role", "officer"), ("officer_id", officer), ("device_id", device), ("district", district)]
    };
    let before = rows(&app).len();

    // (what, the form without its CSRF token, what the page says)
    let cases: Vec<(&str, Vec<Field>, &str)> = vec![
        ("no role", vec![("name", "x")], "Choose a role and fill in what it needs."),
        ("an unknown role", vec![("role", "police"), ("name", "x")], "Choose a role"),
        ("an unknown district", officer("0042", "hh-1", "999999"), "Choose a district from the list."),
        ("no district", officer("0042", "hh-1", ""), "Choose a district"),
        ("no officer", officer(" ", "hh-1", "110105"), "Officer id must be 1 to 64 characters"),
        ("no device", officer("0042", "", "110105"), "Handheld id must be 1 to 64 characters"),
        ("a control character", officer("0042", "hh\u{1b}1", "110105"), "Handheld id must be"),
        ("a dash in a bank code", vec![("role", "bank"), ("bank_code", "IC-BC")], "A bank code is 1 to 16"),
        ("no bank code", vec![("role", "bank")], "A bank code is 1 to 16 letters or digits: nothing was created."),
        ("a blank name", vec![("role", "admin"), ("name", "  ")], "Admin's name must be 1 to 64"),
        ("a long name", vec![("role", "admin"), ("name", &long)], "Admin's name must be 1 to 64"),
    ];
    for (what, form, says) in cases {
        let mut with_csrf = form.clone();
        with_csrf.push(("csrf", &csrf));
        let response = post(&app, Some(&cookie), "/admin/credentials?lang=en", &with_csrf).await;
        assert_eq!(response.status(), 400, "{what}");
        let html = unescape_html(&response.text().await.expect("html"));
        assert!(html.contains(says), "{what}: {html}");
        assert_eq!(rows(&app).len(), before, "{what}: nothing made");
    }

    // Not the session's own form: no CSRF token, another one, no session, a bearer token.
    let good = [("role", "bank"), ("bank_code", "ICBC")];
    let forged = "A".repeat(32);
    for (what, cookie, extra, status) in [
        ("no CSRF token", Some(cookie.as_str()), None, 403),
        ("another CSRF token", Some(cookie.as_str()), Some(forged.as_str()), 403),
        ("no session", None, Some(csrf.as_str()), 401),
    ] {
        let mut form = good.to_vec();
        if let Some(csrf) = extra {
            form.push(("csrf", csrf));
        }
        assert_eq!(post(&app, cookie, "/admin/credentials", &form).await.status(), status, "{what}");
        assert_eq!(rows(&app).len(), before, "{what}: nothing made");
    }
    let bearer = app
        .http
        .post(format!("{}/admin/credentials", app.address))
        .bearer_auth(&token)
        .form(&[("csrf", ""), ("role", "bank"), ("bank_code", "ICBC")])
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), 401, "the form needs the session");
    let huge = "x".repeat(9 * 1024);
    let too_big = [("csrf", csrf.as_str()), ("role", "admin"), ("name", &huge)];
    assert_eq!(post(&app, Some(&cookie), "/admin/credentials", &too_big).await.status(), 413);
    assert_eq!(rows(&app).len(), before, "nothing made");
}

#[actix_web::test]
async fn a_revoked_credentials_next_request_is_refused_and_revoking_again_or_ones_own_is_not() {
    let app = spawn_app().await;
    let (actor, token) = admin(&app);
    let officer = app.officer("110105");
    let cookie = signed_in(&app, &token).await;
    let own = id_of(&app, "admin", "finance");
    let officer_id = id_of(&app, "officer", "0042");
    let (_, list) = page(&app, &cookie, "?lang=en").await;
    let csrf = csrf_of(&list);
    let revoke = |id: &str, query: &str| format!("/admin/credentials/{id}/revoke{query}");

    // Not the session's own form: nothing changes.
    let forged = "B".repeat(32);
    for (what, form) in [("no CSRF token", vec![]), ("another CSRF token", vec![("csrf", forged.as_str())])] {
        let response = post(&app, Some(&cookie), &revoke(&officer_id, "?lang=en"), &form).await;
        assert_eq!(response.status(), 403, "{what}");
        assert!(response.text().await.expect("html").contains("nothing was done"), "{what}");
        assert_eq!(status_with(&app, &officer, "/api/v1/violations").await, 200, "{what}: still live");
    }
    assert_eq!(post(&app, None, &revoke(&officer_id, ""), &[("csrf", &csrf)]).await.status(), 401);
    assert_eq!(status_with(&app, &officer, "/api/v1/violations").await, 200);

    // Revoked from a filtered page: back to the list as the admin had it, saying so.
    let response =
        post(&app, Some(&cookie), &revoke(&officer_id, "?role=officer&done=x&lang=en"), &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), 303);
    let back = response.headers()["location"].to_str().expect("location").to_owned();
    assert_eq!(back, format!("/admin/credentials?role=officer&lang=en&done={officer_id}"));
    let (_, done) = page(&app, &cookie, &back["/admin/credentials".len()..]).await;
    assert!(done.contains(&format!("Credential {officer_id} is revoked: its token no longer works.")), "{done}");
    assert!(done.contains(&format!(r#"<tr id="credential-{officer_id}" class="revoked">"#)), "{done}");
    assert!(!done.contains(&format!(r#"id="revoke-{officer_id}""#)), "no second button");
    assert_eq!(status_with(&app, &officer, "/api/v1/violations").await, 401, "its next request is refused");

    // Again: nothing changes, and the page says when it was.
    let again = post(&app, Some(&cookie), &revoke(&officer_id, "?lang=en"), &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), 409);
    let when = finepay::domain::time::shanghai_wall_clock(app.now());
    assert!(again.text().await.expect("html").contains(&format!("was revoked at {when} (Beijing time)")));
    // One's own session's credential, and no credential at all.
    let mine = post(&app, Some(&cookie), &revoke(&own, "?lang=en"), &[("csrf", &csrf)]).await;
    assert_eq!(mine.status(), 409);
    assert!(mine.text().await.expect("html").contains("the credential you are signed in with"));
    assert_eq!(page(&app, &cookie, "").await.0, 200, "still signed in");
    let unknown = post(&app, Some(&cookie), &revoke("cred_0000000000000000", "?lang=en"), &[("csrf", &csrf)]).await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.expect("html").contains("No credential has this id."));

    // Another admin's credential: their session ends with it.
    let other = app.credential(&Binding::Admin { name: "night shift".into() });
    let other_cookie = signed_in(&app, &other).await;
    assert_eq!(page(&app, &other_cookie, "").await.0, 200);
    let other_id = id_of(&app, "admin", "night shift");
    assert_eq!(post(&app, Some(&cookie), &revoke(&other_id, ""), &[("csrf", &csrf)]).await.status(), 303);
    let (status, ended) = page(&app, &other_cookie, "?lang=en").await;
    assert_eq!(status, 401);
    assert!(ended.contains("Your session has ended"), "{ended}");
    assert_eq!(status_with(&app, &other, "/admin/api/jobs").await, 401);

    let entries = audited(&app, &actor);
    let revoked: Vec<_> = [(&officer_id, "officer"), (&other_id, "admin")]
        .iter()
        .map(|(id, role)| ("credential.revoke".to_owned(), serde_json::json!({"credential_id": id, "role": role})))
        .collect();
    assert_eq!(entries, revoked, "each revocation audited once, under the admin's name");
}
