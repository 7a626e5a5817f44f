//! The QR code's images (the bill's are `bill.rs`'s): what a phone's scanner reads off them is exactly the pay URL, at
//! the documented sizes, for the callers allowed to print them.

use crate::helpers::{error_of, motor_fine, spawn_app};
use std::io::Cursor;

/// A decoded PNG: width, height and one grey value per pixel (0 black, 255 white).
struct Grey {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

fn decode_png(bytes: &[u8]) -> Grey {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("buffer size")];
    let frame = reader.next_frame(&mut buf).expect("a frame");
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    let samples = frame.color_type.samples();
    let (width, height) = (frame.width as usize, frame.height as usize);
    let pixels = (0..height)
        .flat_map(|y| (0..width).map(move |x| (y, x)))
        .map(|(y, x)| buf[y * frame.line_size + x * samples])
        .collect();
    Grey { width, height, pixels }
}

/// Every QR code rqrr finds in the image: (version, content).
fn scan(image: &Grey) -> Vec<(usize, String)> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(image.width, image.height, |x, y| {
        image.pixels[y * image.width + x]
    });
    prepared
        .detect_grids()
        .into_iter()
        .map(|grid| grid.decode().map(|(meta, text)| (meta.version.0, text)).expect("the code decodes"))
        .collect()
}

fn content_type(response: &reqwest::Response) -> String {
    response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[actix_web::test]
async fn the_png_holds_exactly_the_pay_url_in_a_version_3_symbol() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let pay_url = fine["pay_url"].as_str().expect("pay_url");
    let path = fine["links"]["qr_png"].as_str().expect("qr_png link");

    let response = app.get(&token, path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "image/png");
    let bytes = response.bytes().await.expect("body");
    let image = decode_png(&bytes);
    assert_eq!((image.width, image.height), (296, 296), "(29 + 8) modules of 8 px: version 3 with its quiet zone");
    assert_eq!(scan(&image), vec![(3, pay_url.to_owned())]);

    let again = app.get(&token, path).await.bytes().await.expect("body");
    assert_eq!(again, bytes, "the same image every time");

    let small = app.get(&token, &format!("{path}?px=4")).await;
    assert_eq!(small.status(), 200);
    let small = decode_png(&small.bytes().await.expect("body"));
    assert_eq!((small.width, small.height), (148, 148));
    assert_eq!(scan(&small), vec![(3, pay_url.to_owned())]);

    for bad in ["0", "33", "abc", "-1", ""] {
        let (status, code) = error_of(app.get(&token, &format!("{path}?px={bad}")).await).await;
        assert_eq!((status, code.as_str()), (400, "invalid_request"), "px={bad}");
    }
}

#[actix_web::test]
async fn the_svg_is_a_scalable_image() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let path = fine["links"]["qr_svg"].as_str().expect("qr_svg link");
    let response = app.get(&token, path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(content_type(&response), "image/svg+xml");
    let svg = response.text().await.expect("body");
    assert!(svg.contains("<svg") && svg.contains("viewBox=\"0 0 37 37\""), "29 + 8 modules: {svg:.200}");
    assert_eq!(app.get(&token, path).await.text().await.expect("body"), svg);
}

#[actix_web::test]
async fn a_fine_without_qr_payment_has_no_code_image() {
    let app = spawn_app().await;
    let token = app.officer("110109");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let no = fine["decision_no"].as_str().expect("no");
    assert!(fine["pay_url"].is_null());
    let (status, code) = error_of(app.get(&token, &format!("/api/v1/fines/{no}/qr.png")).await).await;
    assert_eq!((status, code.as_str()), (404, "no_qr_code"));
    let (status, code) = error_of(app.get(&token, &format!("/api/v1/fines/{no}/qr.svg")).await).await;
    assert_eq!((status, code.as_str()), (404, "no_qr_code"));
}

#[actix_web::test]
async fn images_are_for_the_issuing_district_only() {
    let app = spawn_app().await;
    let token = app.officer("110105");
    let fine = app.issue_ok(&token, "k", &motor_fine(&app)).await;
    let links = &fine["links"];
    let stranger = app.officer("110108");
    for link in ["qr_png", "qr_svg", "bill_png", "bill_escpos", "bill_pdf"] {
        let path = links[link].as_str().expect("link");
        let response = app.http.get(format!("{}{path}", app.address)).send().await.expect("request sent");
        let (status, code) = error_of(response).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{link} without a token");
        let (status, code) = error_of(app.get(&stranger, path).await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{link} for another district");
        assert_eq!(app.get(&token, path).await.status(), 200, "{link} for the issuing district");
    }
}
