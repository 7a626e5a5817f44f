//! The fine as the officer API shows it (`POST` and `GET /api/v1/fines/…`). One shape for the
//! issue response, its idempotent replays and later reads.

use crate::db::fines::{FineRow, NewFine};
use crate::domain::DecisionNo;
use crate::domain::time::{rfc3339, utc};
use crate::qr::QrSigner;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct FineView {
    pub decision_no: String,
    pub verification_code: String,
    pub status: String,
    pub district_code: String,
    pub violation: ViolationView,
    pub subject: SubjectView,
    pub location: String,
    pub occurred_at: String,
    pub delivery: String,
    pub amount_fen: i64,
    pub issued_at: String,
    pub qr_expires_at: Option<String>,
    pub pay_url: Option<String>,
    pub links: Links,
    pub paid_at: Option<String>,
    pub paid_channel: Option<String>,
    /// Every payment recorded for the fine (read with the fine; empty in an issue's answer).
    pub payments: Vec<super::PaymentView>,
    pub voided_at: Option<String>,
    pub void_reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ViolationView {
    pub code: String,
    pub description: String,
    pub description_en: String,
    pub points: i32,
}

#[derive(Debug, Serialize)]
pub(crate) struct SubjectView {
    pub kind: String,
    pub plate: Option<String>,
    pub plate_type: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Links {
    pub qr_svg: Option<String>,
    pub qr_png: Option<String>,
    pub bill_png: String,
    pub bill_escpos: String,
    pub bill_pdf: String,
}

/// What building a view needs from the application.
pub struct ViewContext<'a> {
    pub signer: &'a QrSigner,
    pub public_base_url: &'a str,
    pub catalogue: &'a crate::domain::Catalogue,
}

impl<'a> ViewContext<'a> {
    pub fn new(signer: &'a QrSigner, public_base_url: &'a str, catalogue: &'a crate::domain::Catalogue) -> Self {
        ViewContext { signer, public_base_url, catalogue }
    }

    /// The URL the QR code holds: upper case, so the whole of it encodes in alphanumeric mode.
    pub fn pay_url(&self, no: &DecisionNo, key_id: Option<i32>) -> Option<String> {
        let key_id = u8::try_from(key_id?).ok()?;
        let token = self.signer.sign_with(no, key_id)?;
        Some(format!("{}/P/{}", self.public_base_url.to_ascii_uppercase(), token))
    }
}

impl FineView {
    pub(crate) fn from_row(ctx: &ViewContext<'_>, row: &FineRow) -> FineView {
        let no = DecisionNo::parse(&row.decision_no).ok();
        let pay_url = no.as_ref().and_then(|no| ctx.pay_url(no, row.qr_key_id));
        build(
            ctx,
            Parts {
                decision_no: &row.decision_no,
                verification_code: &row.verification_code,
                status: &row.status,
                district_code: &row.district_code,
                violation_code: &row.violation_code,
                points: row.points,
                kind: &row.subject_kind,
                plate: row.plate.as_deref(),
                plate_type: row.plate_type.as_deref(),
                location: &row.location,
                occurred_at: rfc3339(utc(row.occurred_at)),
                delivery: &row.delivery,
                amount_fen: row.amount_fen,
                issued_at: rfc3339(utc(row.issued_at)),
                qr_expires_at: row.qr_expires_at.map(|t| rfc3339(utc(t))),
                pay_url,
                paid_at: row.paid_at.map(|t| rfc3339(utc(t))),
                paid_channel: row.paid_channel.clone(),
                voided_at: row.voided_at.map(|t| rfc3339(utc(t))),
                void_reason: row.void_reason.clone(),
            },
        )
    }

    pub(crate) fn from_new(ctx: &ViewContext<'_>, row: &NewFine<'_>, no: &DecisionNo) -> FineView {
        build(
            ctx,
            Parts {
                decision_no: row.decision_no,
                verification_code: row.verification_code,
                status: row.status,
                district_code: row.district_code,
                violation_code: row.violation_code,
                points: row.points,
                kind: row.subject_kind,
                plate: row.plate,
                plate_type: row.plate_type,
                location: row.location,
                occurred_at: rfc3339(utc(row.occurred_at)),
                delivery: row.delivery,
                amount_fen: row.amount_fen,
                issued_at: rfc3339(utc(row.issued_at)),
                qr_expires_at: row.qr_expires_at.map(|t| rfc3339(utc(t))),
                pay_url: ctx.pay_url(no, row.qr_key_id),
                paid_at: None,
                paid_channel: None,
                voided_at: None,
                void_reason: None,
            },
        )
    }
}

/// The fields both constructors share; keeps one place that lays the view out.
struct Parts<'a> {
    decision_no: &'a str,
    verification_code: &'a str,
    status: &'a str,
    district_code: &'a str,
    violation_code: &'a str,
    points: i32,
    kind: &'a str,
    plate: Option<&'a str>,
    plate_type: Option<&'a str>,
    location: &'a str,
    occurred_at: String,
    delivery: &'a str,
    amount_fen: i64,
    issued_at: String,
    qr_expires_at: Option<String>,
    pay_url: Option<String>,
    paid_at: Option<String>,
    paid_channel: Option<String>,
    voided_at: Option<String>,
    void_reason: Option<String>,
}

fn build(ctx: &ViewContext<'_>, p: Parts<'_>) -> FineView {
    let violation = ctx.catalogue.get(p.violation_code);
    let base = format!("/api/v1/fines/{}", p.decision_no);
    let has_qr = p.pay_url.is_some();
    FineView {
        decision_no: p.decision_no.to_owned(),
        verification_code: p.verification_code.to_owned(),
        status: p.status.to_owned(),
        district_code: p.district_code.to_owned(),
        violation: ViolationView {
            code: p.violation_code.to_owned(),
            description: violation.map(|v| v.description_zh.clone()).unwrap_or_default(),
            description_en: violation.map(|v| v.description_en.clone()).unwrap_or_default(),
            points: p.points,
        },
        subject: SubjectView {
            kind: p.kind.to_owned(),
            plate: p.plate.map(str::to_owned),
            plate_type: p.plate_type.map(str::to_owned),
        },
        location: p.location.to_owned(),
        occurred_at: p.occurred_at,
        delivery: p.delivery.to_owned(),
        amount_fen: p.amount_fen,
        issued_at: p.issued_at,
        qr_expires_at: p.qr_expires_at,
        pay_url: p.pay_url,
        links: Links {
            qr_svg: has_qr.then(|| format!("{base}/qr.svg")),
            qr_png: has_qr.then(|| format!("{base}/qr.png")),
            bill_png: format!("{base}/bill.png"),
            bill_escpos: format!("{base}/bill.escpos"),
            bill_pdf: format!("{base}/bill.pdf"),
        },
        paid_at: p.paid_at,
        paid_channel: p.paid_channel,
        payments: Vec::new(),
        voided_at: p.voided_at,
        void_reason: p.void_reason,
    }
}
