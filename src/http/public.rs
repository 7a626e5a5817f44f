//! The public page a bill's QR code opens: no credential, the token is the capability. It shows
//! the fine's state in Chinese or English (HTML) or as JSON, decides whether the code is still
//! active to the second, and reveals nothing about tokens that are forged or unknown.

use super::edge::read_conn;
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::{accepts_json, not_found, page_headers, problem};
use super::prerendered::{self, Field, Shape, Values};
use super::receipt::ReceiptJson;
use crate::channels::ChannelKind;
use crate::db::channel_orders::ChannelOrderRow;
use crate::db::pay_page::{self, PageFine};
use crate::db::payments::{self, PaymentRow};
use crate::domain::decision_no::DecisionNo;
use crate::domain::district::chinese_and_english;
use crate::domain::money::format_yuan;
use crate::domain::plate::mask_plate;
use crate::domain::qr_window::qr_active;
use crate::domain::rf_reference::{rf_for_decision, spaced_in_fours};
use crate::domain::surcharge::{Quote, SurchargeRule, percent};
use crate::domain::time::{rfc3339, shanghai_date, shanghai_wall_clock, utc};
use crate::domain::{Fen, FineStatus};
use crate::http::AppState;
use crate::payments::{Recorded, Settled, settle_open_orders};
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The page as JSON (`Accept: application/json`).
#[derive(Debug, Serialize)]
pub(super) struct PageJson {
    pub decision_no: String,
    pub status: String,
    pub qr_active: bool,
    pub amount_fen: i64,
    pub amount_due_at_bank_fen: i64,
    pub issued_at: String,
    pub qr_expires_at: Option<String>,
    pub masked_plate: Option<String>,
    pub violation: PageViolation,
    /// Payment channels offered on this page.
    pub channels: Vec<String>,
    pub receipt: Option<ReceiptJson>,
}

#[derive(Debug, Serialize)]
pub(super) struct PageViolation {
    pub code: String,
    pub description_zh: String,
    pub description_en: String,
}

/// What the page says about the fine right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageState {
    Pending,
    Expired,
    Bank,
    Paid,
    Void,
}

impl PageState {
    fn of(fine: &PageFine, now: DateTime<Utc>) -> PageState {
        match FineStatus::parse(&fine.status) {
            Some(FineStatus::Paid) => PageState::Paid,
            Some(FineStatus::Void) | None => PageState::Void,
            Some(FineStatus::PayableAtBank) if fine.qr_expires_at.is_none() => PageState::Bank,
            Some(FineStatus::PayableAtBank) => PageState::Expired,
            Some(FineStatus::AwaitingPayment) => match fine.qr_expires_at {
                Some(expiry) if qr_active(utc(expiry), now) => PageState::Pending,
                Some(_) => PageState::Expired,
                None => PageState::Bank,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            PageState::Pending => "pending",
            PageState::Expired => "expired",
            PageState::Bank => "bank",
            PageState::Paid => "paid",
            PageState::Void => "void",
        }
    }
}

pub(super) async fn pay_page(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let wants_json = accepts_json(&req);
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let Some(no) = ctx.signer.verify(&path) else {
        return not_found(wants_json, lang);
    };
    let decision_no = no.as_str().to_owned();
    let mut page = match load(&ctx, &decision_no).await {
        Ok(Some(page)) => page,
        Ok(None) => return not_found(wants_json, lang),
        Err(e) => return problem(wants_json, lang, &e),
    };
    // A notification may have been lost: before showing an unpaid fine that has channel orders,
    // ask the channels (see payments::query).
    let mut settled = Settled::default();
    if page.open_orders.iter().any(|o| o.status == "open") {
        settled = settle_open_orders(&ctx.channels, &ctx.payments, &ctx.recent_queries, &page.open_orders).await;
        let recorded = &settled.recorded;
        if recorded.iter().any(|(_, r)| matches!(r, Recorded::Refunding { .. })) {
            ctx.refund_wake.notify_one();
        }
        for (paid, _) in recorded.iter().filter(|(_, r)| matches!(r, Recorded::Applied { others_open: true, .. })) {
            ctx.closer.close_others_in_background(paid);
        }
        if !recorded.is_empty() {
            match load(&ctx, &decision_no).await {
                Ok(Some(again)) => page = again,
                Ok(None) => return not_found(wants_json, lang),
                Err(e) => return problem(wants_json, lang, &e),
            }
        }
    }
    let (fine, receipt) = (&page.fine, page.receipt.as_ref().map(ReceiptJson::of));
    let now = ctx.clock.now();
    let state = PageState::of(fine, now);
    let quote = quote_at_bank(&ctx.bank.surcharge, fine, now);
    let channels: Vec<&'static str> = match state {
        PageState::Pending => ctx.channels.kinds().into_iter().map(ChannelKind::as_str).collect(),
        _ => Vec::new(),
    };
    if wants_json {
        return page_headers(HttpResponse::Ok()).json(page_json(&ctx, fine, state, quote.total_fen, channels, receipt));
    }
    let query = req.query_string();
    let notice = match () {
        _ if state != PageState::Pending => None,
        _ if came_back(query) => Some(Notice::Confirming),
        // "I have paid": the channels were asked above, and have confirmed nothing.
        _ if asks_to_check(query) && settled.asked + settled.failed == 0 => Some(Notice::NothingToCheck),
        _ if asks_to_check(query) && settled.asked == 0 => Some(Notice::ChannelsSilent),
        _ if asks_to_check(query) => Some(Notice::Checked),
        _ => None,
    };
    let view = PageView { state, quote, now, lang, channels, receipt, token: &path, notice };
    match render_page(&ctx, fine, &view) {
        Ok(html) => page_headers(HttpResponse::Ok()).content_type("text/html; charset=utf-8").body(html),
        Err(e) => problem(false, lang, &ApiError::internal(e)),
    }
}

/// What the page shows, read in one go.
struct PageData {
    fine: PageFine,
    /// The fine's channel orders, while it can still be paid (empty otherwise).
    open_orders: Vec<ChannelOrderRow>,
    /// The payment that paid it, once paid.
    receipt: Option<PaymentRow>,
}

async fn load(ctx: &web::Data<AppState>, decision_no: &str) -> Result<Option<PageData>, ApiError> {
    let decision_no = decision_no.to_owned();
    read_conn(ctx, move |conn| {
        let Some((fine, orders)) = pay_page::for_page(conn, &decision_no)? else { return Ok(None) };
        let (open_orders, receipt) = match FineStatus::parse(&fine.status) {
            Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank) => (orders, None),
            Some(FineStatus::Paid) => {
                (Vec::new(), payments::for_fine(conn, &decision_no)?.into_iter().find(|p| p.outcome == "applied"))
            }
            _ => (Vec::new(), None),
        };
        Ok(Some(PageData { fine, open_orders, receipt }))
    })
    .await
}

/// What a bank would take for the fine today: the bank API's quote.
fn quote_at_bank(rule: &SurchargeRule, fine: &PageFine, now: DateTime<Utc>) -> Quote {
    rule.amount_due(fine.amount_fen, utc(fine.issued_at), shanghai_date(now))
}

fn page_json(
    ctx: &AppState,
    fine: &PageFine,
    state: PageState,
    due_at_bank_fen: i64,
    channels: Vec<&'static str>,
    receipt: Option<ReceiptJson>,
) -> PageJson {
    let violation = ctx.catalogue.get(&fine.violation_code);
    PageJson {
        decision_no: fine.decision_no.clone(),
        status: fine.status.clone(),
        qr_active: state == PageState::Pending,
        amount_fen: fine.amount_fen,
        amount_due_at_bank_fen: due_at_bank_fen,
        issued_at: rfc3339(utc(fine.issued_at)),
        qr_expires_at: fine.qr_expires_at.map(|t| rfc3339(utc(t))),
        masked_plate: fine.plate.as_deref().map(mask_plate),
        violation: PageViolation {
            code: fine.violation_code.clone(),
            description_zh: violation.map(|v| v.description_zh.clone()).unwrap_or_default(),
            description_en: violation.map(|v| v.description_en.clone()).unwrap_or_default(),
        },
        channels: channels.into_iter().map(str::to_owned).collect(),
        receipt,
    }
}

/// Everything the HTML page shows besides the fine.
struct PageView<'a> {
    state: PageState,
    /// What a bank takes today (asked once per scan, for the JSON or the page).
    quote: Quote,
    now: DateTime<Utc>,
    lang: Lang,
    channels: Vec<&'static str>,
    receipt: Option<ReceiptJson>,
    /// The token as the request spelled it (the form posts back to the same spelling).
    token: &'a str,
    notice: Option<Notice>,
}

/// What a pending page says above the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notice {
    /// Back from a channel: the page's script watches for the payment, and offers the buttons
    /// again after a minute.
    Confirming,
    /// The payer said "I have paid"; the channels, asked, confirm nothing yet.
    Checked,
    /// "I have paid", but no payment was started from this page: nothing to ask about.
    NothingToCheck,
    /// "I have paid", and no channel answered.
    ChannelsSilent,
}

impl Notice {
    fn name(self) -> &'static str {
        match self {
            Notice::Confirming => "confirming",
            Notice::Checked => "checked",
            Notice::NothingToCheck => "checked_none",
            Notice::ChannelsSilent => "checked_failed",
        }
    }
}

/// `back=1` in the query: the payer came back from a channel.
fn came_back(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .any(|(key, value)| key == "back" && value.parse::<u32>().is_ok_and(|n| n >= 1))
}

/// `check=1`: the payer tapped "I have paid".
fn asks_to_check(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(key, value)| key == "check" && value == "1")
}

fn render_page(ctx: &AppState, fine: &PageFine, view: &PageView<'_>) -> Result<String, minijinja::Error> {
    let PageView { state, quote, now, lang, .. } = *view;
    let today = shanghai_date(now);
    let violation = ctx.catalogue.get(&fine.violation_code);
    let description =
        violation.map(|v| if lang == Lang::En { v.description_en.as_str() } else { v.description_zh.as_str() });
    let expires = fine.qr_expires_at.map(utc);
    let seconds_left = expires.map(|e| (e - now).num_seconds().max(0)).unwrap_or(0);
    let at_bank = matches!(state, PageState::Expired | PageState::Bank);
    let shape = Shape {
        lang,
        state: state.name(),
        channels: view.channels.clone(),
        has_plate: fine.plate.is_some(),
        receipt_channel: view.receipt.as_ref().map(|r| r.channel.clone()),
        notice: view.notice.map(Notice::name),
        surcharged: at_bank && quote.surcharge_fen > 0,
        overdue: at_bank && today > quote.due_date,
    };
    let mut values = Values::default();
    let mut set = |field: Field, value: String| values[field as usize] = value;
    set(Field::DecisionNo, fine.decision_no.clone());
    set(Field::Violation, format!("{} {}", fine.violation_code, description.unwrap_or_default()));
    set(Field::MaskedPlate, fine.plate.as_deref().map(mask_plate).unwrap_or_default());
    set(Field::Location, fine.location.clone());
    set(Field::OccurredLocal, shanghai_wall_clock(utc(fine.occurred_at)));
    set(Field::Amount, format_yuan(Fen(fine.amount_fen)));
    set(Field::ExpiresLocal, expires.map(shanghai_wall_clock).unwrap_or_default());
    set(Field::SecondsLeft, seconds_left.to_string());
    set(Field::Countdown, format!("{:02}:{:02}:{:02}", seconds_left / 3600, seconds_left / 60 % 60, seconds_left % 60));
    set(Field::PayAction, format!("/p/{}/pay?lang={}", view.token, lang.code()));
    set(Field::PagePath, format!("/p/{}", view.token));
    if view.notice == Some(Notice::Checked) {
        set(Field::CheckedLocal, shanghai_wall_clock(now));
    }
    if let Some(receipt) = &view.receipt {
        set(Field::ReceiptNo, receipt.receipt_no.clone());
        set(Field::ReceiptUrl, receipt.url.clone());
        set(Field::ReceiptAmount, format_yuan(Fen(receipt.amount_fen)));
        set(Field::ReceiptPaidLocal, receipt.paid_local());
    }
    if at_bank {
        set(Field::AmountDueAtBank, format_yuan(Fen(quote.total_fen)));
        set(Field::Surcharge, format_yuan(Fen(quote.surcharge_fen)));
        set(Field::Today, today.to_string());
        set(Field::DueDate, quote.due_date.to_string());
        set(Field::DailyRate, percent(ctx.bank.surcharge.daily_rate_bp));
        set(Field::Banks, banks_of(ctx, &fine.district_code, lang));
        let rf = DecisionNo::parse(&fine.decision_no).map(|no| spaced_in_fours(&rf_for_decision(&no)));
        set(Field::RfReference, rf.unwrap_or_default());
    }
    prerendered::render(&shape, &values)
}

/// The district's agent banks in the page's language: the Chinese names joined by 、, or the
/// English names (the Chinese where a bank has none) by commas.
fn banks_of(ctx: &AppState, district_code: &str, lang: Lang) -> String {
    let banks = ctx.districts.get(district_code).map(|d| d.banks.as_slice()).unwrap_or_default();
    let names = banks.iter().map(|bank| match chinese_and_english(bank) {
        (_, en) if lang == Lang::En && !en.is_empty() => en,
        (zh, _) => zh,
    });
    names.collect::<Vec<_>>().join(if lang == Lang::En { ", " } else { "、" })
}
