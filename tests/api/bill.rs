//! The printed bill, as the handheld fetches it: ESC/POS for its thermal printer (read back
//! command by command), a 1-bit PNG and an A6 PDF, in Chinese with English on request, for 58 and
//! 80 mm paper; its QR code holds exactly `pay_url`, and a bill printed once the code can no longer
//! be paid is the bank bill.

use crate::helpers::{TestApp, error_of, motor_fine, pedestrian_fine, spawn_app, spawn_app_with};
use finepay::bill::escpos::reader::{self, Command};
use serde_json::Value;
use std::io::Cursor;

/// The response's bytes, after checking its status and content type.
async fn fetch(app: &TestApp, token: &str, path: &str, content_type: &str) -> Vec<u8> {
    let response = app.get(token, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let got = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(got, content_type, "{path}");
    response.bytes().await.expect("body").to_vec()
}

/// Width, height and grey values (0 black) of a 1-bit PNG.
fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    assert_eq!(reader.info().bit_depth, png::BitDepth::One, "a 1-bit image: a thermal head has no grey");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let frame = reader.next_frame(&mut buffer).expect("a frame");
    buffer.truncate(frame.buffer_size());
    (frame.width as usize, frame.height as usize, buffer)
}

/// Every QR code in the image: (version, content).
fn scan(width: usize, height: usize, grey: &[u8]) -> Vec<(usize, String)> {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    image.detect_grids().iter().filter_map(|g| g.decode().ok().map(|(meta, text)| (meta.version.0, text))).collect()
}

fn escpos_lines(bytes: &[u8]) -> (Vec<Command>, String) {
    let commands = reader::read(bytes).expect("every byte is a command a printer knows");
    let text = reader::lines(&commands).join("\n");
    (commands, text)
}

fn stored_qr(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .filter_map(|c| if let Command::QrStore(p) = c { Some(String::from_utf8_lossy(p).into_owned()) } else { None })
        .collect()
}

async fn issued(app: &TestApp, token: &str, body: &Value) -> (String, Value) {
    let fine = app.issue_ok(token, &format!("bill-{}", body["violation_code"]), body).await;
    (fine["decision_no"].as_str().expect("decision_no").to_owned(), fine)
}

#[actix_web::test]
async fn the_handheld_gets_the_bill_in_three_forms_for_both_papers() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let (no, fine) = issued(&app, &token, &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url").to_owned();
    let links = &fine["links"];
    assert_eq!(links["bill_escpos"], format!("/api/v1/fines/{no}/bill.escpos"));
    assert_eq!(links["bill_pdf"], format!("/api/v1/fines/{no}/bill.pdf"));

    for (width, cells) in [("58", 32), ("80", 48)] {
        let bytes =
            fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.escpos?width={width}"), "application/octet-stream")
                .await;
        let (commands, text) = escpos_lines(&bytes);
        assert_eq!(commands[..2], [Command::Init, Command::ChineseMode], "reset, then Chinese mode");
        assert_eq!(commands.last(), Some(&Command::Cut));
        assert_eq!(stored_qr(&commands), [pay_url.as_str()], "the printer's QR holds exactly pay_url");
        for needle in
            [no.as_str(), "京A12345", "1625", "驾驶机动车", "朝阳区", "￥200.00", "北京市公安局公安交通管理局"]
        {
            assert!(text.replace('\n', "").contains(needle), "{needle} on the {width} mm bill:\n{text}");
        }
        assert!(!text.contains("Violation"), "Chinese only unless English is asked for");
        let widest = reader::lines(&commands)
            .iter()
            .map(|l| l.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum::<usize>())
            .max();
        assert!(widest <= Some(cells), "{width} mm: a line of {widest:?} cells");

        for lang in ["zh", "zh-en"] {
            let path = format!("/api/v1/fines/{no}/bill.png?width={width}&lang={lang}");
            let png = fetch(&app, &token, &path, "image/png").await;
            let (w, h, grey) = decode_png(&png);
            assert_eq!(w, if width == "58" { 384 } else { 576 });
            assert_eq!(scan(w, h, &grey), [(3, pay_url.clone())], "a version-3 code holding pay_url");
            // The documentation's pictures of the bill (see docs/testing.md).
            if let Some(dir) = std::env::var_os("FINEPAY_SCREENSHOTS") {
                std::fs::write(std::path::Path::new(&dir).join(format!("bill-{width}-{lang}.png")), &png)
                    .expect("saved");
            }
        }
    }

    let english =
        fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.escpos?lang=zh-en"), "application/octet-stream").await;
    let (_, text) = escpos_lines(&english);
    assert!(text.contains("违法行为 Violation") && text.contains("Bank reference"), "{text}");

    let raster =
        fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.escpos?qr=raster"), "application/octet-stream").await;
    let (commands, _) = escpos_lines(&raster);
    assert!(stored_qr(&commands).is_empty(), "no QR commands for a printer without them");
    let dots = reader::raster_dots(&commands);
    let grey: Vec<u8> = dots.iter().flat_map(|row| row.iter().map(|&d| if d { 0 } else { 255 })).collect();
    assert_eq!(scan(dots[0].len(), dots.len(), &grey), [(3, pay_url.clone())]);

    let pdf = fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.pdf?lang=zh-en"), "application/pdf").await;
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        for needle in [no.as_str(), "决定书编号", "Decisionno.", "京A12345", "￥200.00"] {
            assert!(text.contains(needle), "{needle} is searchable in the PDF:\n{text}");
        }
    }
}

/// The PDF's text by poppler's pdftotext, without spaces and breaks; `None` where it is not
/// installed (unless FINEPAY_REQUIRE_PDF_TOOLS is set).
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("bill.pdf");
    std::fs::write(&file, pdf).expect("written");
    match std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&file).arg("-").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8(out.stdout).expect("UTF-8").replace([' ', '\n'], "")),
        Ok(out) => panic!("pdftotext: {}", String::from_utf8_lossy(&out.stderr)),
        Err(_) if std::env::var_os("FINEPAY_REQUIRE_PDF_TOOLS").is_some() => panic!("pdftotext is required"),
        Err(_) => None,
    }
}

#[actix_web::test]
async fn a_bill_without_a_payable_code_is_the_bank_bill() {
    let app = spawn_app().await;
    // A district that has not switched QR payment on.
    let mentougou = app.officer("110109");
    let (no, _) = issued(&app, &mentougou, &pedestrian_fine(&app)).await;
    let (commands, text) = escpos_lines(
        &fetch(&app, &mentougou, &format!("/api/v1/fines/{no}/bill.escpos"), "application/octet-stream").await,
    );
    assert!(stored_qr(&commands).is_empty());
    assert!(text.contains("行人") && text.contains("代理银行") && text.contains("门头沟区"), "{text}");

    // Past the window the code is dead, even before the expiry job has handed the fine over.
    let chaoyang = app.officer("110105");
    let (no, _) = issued(&app, &chaoyang, &motor_fine(&app)).await;
    let path = format!("/api/v1/fines/{no}/bill.escpos");
    assert_eq!(stored_qr(&escpos_lines(&fetch(&app, &chaoyang, &path, "application/octet-stream").await).0).len(), 1);
    app.clock.advance(chrono::Duration::hours(4) + chrono::Duration::seconds(1));
    let (commands, text) = escpos_lines(&fetch(&app, &chaoyang, &path, "application/octet-stream").await);
    assert!(stored_qr(&commands).is_empty(), "no code once the window is over");
    assert!(text.contains("代理银行"), "{text}");
    let png = fetch(&app, &chaoyang, &format!("/api/v1/fines/{no}/bill.png"), "image/png").await;
    let (w, h, grey) = decode_png(&png);
    assert!(scan(w, h, &grey).is_empty());
}

#[actix_web::test]
async fn bad_options_and_dead_fines_get_clear_errors() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let (no, _) = issued(&app, &token, &motor_fine(&app)).await;
    for (query, field) in [
        ("bill.png?width=70", "width"),
        ("bill.png?width=58&width=80", "width"),
        ("bill.pdf?lang=fr", "lang"),
        ("bill.escpos?qr=laser", "qr"),
        ("bill.escpos?lang=", "lang"),
    ] {
        let response = app.get(&token, &format!("/api/v1/fines/{no}/{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(
            (body["error"]["code"].as_str(), body["error"]["details"]["field"].as_str()),
            (Some("invalid_request"), Some(field)),
            "{query}"
        );
    }
    // The credential is checked before the options.
    let response =
        app.http.get(format!("{}/api/v1/fines/{no}/bill.png?width=70", app.address)).send().await.expect("sent");
    assert_eq!(error_of(response).await, (401, "unauthorized".to_owned()));

    app.void_ok(&token, &no, "wrong plate").await;
    for form in ["bill.png", "bill.escpos", "bill.pdf"] {
        assert_eq!(
            error_of(app.get(&token, &format!("/api/v1/fines/{no}/{form}")).await).await,
            (409, "fine_void".to_owned()),
            "{form}"
        );
    }
}

#[actix_web::test]
async fn a_forty_character_public_address_makes_a_version_4_code_that_scans() {
    let base = "https://jtgl.gaj.beijing.gov.cn/jtfk/pay";
    assert_eq!(base.len(), 40);
    // Away from loopback the development QR key is refused: a key of the test's own.
    let key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let app = spawn_app_with(&[("server.public_base_url", base), ("qr.keys.1", key)]).await;
    let token = app.officer("110105");
    let (no, fine) = issued(&app, &token, &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    assert!(pay_url.starts_with("HTTPS://JTGL.GAJ.BEIJING.GOV.CN/JTFK/PAY/P/"), "{pay_url}");
    for width in ["58", "80"] {
        let png = fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.png?width={width}"), "image/png").await;
        let (w, h, grey) = decode_png(&png);
        assert_eq!(scan(w, h, &grey), [(4, pay_url.to_owned())], "{width} mm");
    }
    let (commands, text) = escpos_lines(
        &fetch(&app, &token, &format!("/api/v1/fines/{no}/bill.escpos"), "application/octet-stream").await,
    );
    assert_eq!(stored_qr(&commands), [pay_url.to_owned()]);
    assert!(text.replace('\n', "").contains(&format!("{base}/lookup")), "the lookup address, typed by hand:\n{text}");
}
