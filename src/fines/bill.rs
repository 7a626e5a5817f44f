//! What a fine's bill says, gathered from the fine, the catalogue, its district and the
//! configuration; how it reads and how it is drawn is `bill`'s.

use crate::bill::{BillSettings, Facts, QrPayment};
use crate::db::fines::FineRow;
use crate::domain::catalogue::SubjectKind;
use crate::domain::rf_reference::rf_for_decision;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{shanghai_date, utc};
use crate::domain::{Catalogue, DecisionNo, Districts, Fen, FineStatus};
use chrono::{DateTime, Utc};

/// What a bill is made from besides the fine itself.
pub(crate) struct BillSources<'a> {
    pub catalogue: &'a Catalogue,
    pub districts: &'a Districts,
    pub bill: &'a BillSettings,
    pub surcharge: &'a SurchargeRule,
    pub public_base_url: &'a str,
}

/// The facts on `fine`'s bill at `now`. `pay_url` is the fine's QR payload; the code is printed
/// only while it can still be paid (awaiting payment, inside its window): a bill printed again
/// after the window is the bank bill.
pub(crate) fn facts(fine: &FineRow, sources: &BillSources<'_>, pay_url: Option<String>, now: DateTime<Utc>) -> Facts {
    let violation = sources.catalogue.get(&fine.violation_code);
    let (district_zh, district_en) = match sources.districts.get(&fine.district_code) {
        Some(district) => {
            let (zh, en) = district.names();
            (zh.to_owned(), en.to_owned())
        }
        None => (fine.district_code.clone(), String::new()),
    };
    let payable_by_code = FineStatus::parse(&fine.status) == Some(FineStatus::AwaitingPayment);
    let qr = match (pay_url, fine.qr_expires_at) {
        (Some(pay_url), Some(until)) if payable_by_code && utc(until) > now => {
            Some(QrPayment { pay_url, until: minutes(utc(until)) })
        }
        _ => None,
    };
    let due = sources.surcharge.due_date(shanghai_date(utc(fine.issued_at)));
    Facts {
        authority_zh: sources.bill.authority_zh.clone(),
        authority_en: sources.bill.authority_en.clone(),
        district_zh,
        district_en,
        decision_no: fine.decision_no.clone(),
        violation_code: fine.violation_code.clone(),
        violation_zh: violation.map(|v| v.description_zh.clone()).unwrap_or_default(),
        violation_en: violation.map(|v| v.description_en.clone()).unwrap_or_default(),
        points: fine.points,
        subject: SubjectKind::parse(&fine.subject_kind).unwrap_or(SubjectKind::MotorVehicle),
        plate: fine.plate.clone(),
        plate_type: fine.plate_type.clone(),
        location: fine.location.clone(),
        occurred_at: minutes(utc(fine.occurred_at)),
        amount: Fen(fine.amount_fen),
        qr,
        verification_code: fine.verification_code.clone(),
        lookup_url: format!("{}/lookup", sources.public_base_url.trim_end_matches('/')),
        due_date: due.format("%Y-%m-%d").to_string(),
        daily_rate_bp: sources.surcharge.daily_rate_bp,
        rf_reference: DecisionNo::parse(&fine.decision_no).map(|no| rf_for_decision(&no)).unwrap_or_default(),
    }
}

/// Beijing wall-clock time to the minute, as a bill prints it.
fn minutes(at: DateTime<Utc>) -> String {
    crate::domain::time::shanghai_wall_clock(at).chars().take(16).collect()
}
