//! The pay page from pre-rendered pieces. Rendering `pay.html` through minijinja costs more than
//! everything else a QR scan does (token check, read, HTTP) put together. The page's structure
//! depends on only a few things — its language, the fine's state, the channels offered, whether
//! the fine has a plate, which channel paid it — so each such [`Shape`] is rendered once, with a
//! marker in place of every per-fine value, and cut at the markers; a page is then its shape's
//! pieces with the fine's values, HTML-escaped, in between. The template stays the one source of
//! the page: the test below renders every shape both ways and compares.

use super::i18n::{Lang, Texts};
use super::pages::templates;
use minijinja::{HtmlEscape, context};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// Everything the template tests or loops over. A value the template branches on must be here,
/// never a [`Field`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Shape {
    pub lang: Lang,
    /// `pending`, `expired`, `bank`, `paid` or `void`.
    pub state: &'static str,
    /// The channels offered, in order (only a pending fine offers any).
    pub channels: Vec<&'static str>,
    pub has_plate: bool,
    /// The channel that paid, when the page shows a receipt.
    pub receipt_channel: Option<String>,
    /// `confirming` (back from a channel), or what "I have paid" found: `checked` (the channels
    /// confirm nothing yet), `checked_none` (nothing to ask about), `checked_failed` (no channel
    /// answered).
    pub notice: Option<&'static str>,
    /// At a bank: whether today's amount includes a late surcharge.
    pub surcharged: bool,
    /// At a bank: whether the surcharge-free days are over.
    pub overdue: bool,
}

/// The per-fine values the page prints, by position in [`Values`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Field {
    DecisionNo,
    Violation,
    MaskedPlate,
    Amount,
    AmountDueAtBank,
    Location,
    OccurredLocal,
    ExpiresLocal,
    /// Whole seconds until the window ends, from which the page's script counts down (the
    /// phone's own clock may be wrong).
    SecondsLeft,
    Countdown,
    PayAction,
    /// The page's own path, which its script polls.
    PagePath,
    ReceiptNo,
    ReceiptUrl,
    ReceiptAmount,
    ReceiptPaidLocal,
    /// When the payer's "I have paid" asked the channels.
    CheckedLocal,
    /// Today in Beijing, for the amount due at a bank.
    Today,
    Surcharge,
    /// The last day without surcharge.
    DueDate,
    /// The daily surcharge in percent.
    DailyRate,
    /// The district's agent banks, in the page's language.
    Banks,
    RfReference,
}

const FIELDS: usize = Field::RfReference as usize + 1;

/// One page's values; a field the shape does not show may stay empty.
pub(super) type Values = [String; FIELDS];

/// Marks where a field goes in a shape's rendering; private-use characters, which neither the
/// template nor HTML escaping produce.
const MARK_OPEN: char = '\u{E000}';
const MARK_CLOSE: char = '\u{E001}';

#[derive(Debug)]
enum Piece {
    Text(String),
    Value(usize),
}

/// A shape's rendering, cut at its fields.
#[derive(Debug)]
struct Pieces {
    pieces: Vec<Piece>,
    text_len: usize,
}

/// The page of `shape` showing `values`.
pub(super) fn render(shape: &Shape, values: &Values) -> Result<String, minijinja::Error> {
    let pieces = pieces_of(shape)?;
    let mut page = String::with_capacity(pieces.text_len + values.iter().map(|v| v.len() + 16).sum::<usize>());
    for piece in &pieces.pieces {
        match piece {
            Piece::Text(text) => page.push_str(text),
            Piece::Value(field) => {
                // Writing to a String cannot fail.
                let _ = write!(page, "{}", HtmlEscape(&values[*field]));
            }
        }
    }
    Ok(page)
}

fn pieces_of(shape: &Shape) -> Result<Arc<Pieces>, minijinja::Error> {
    static SHAPES: OnceLock<RwLock<HashMap<Shape, Arc<Pieces>>>> = OnceLock::new();
    let shapes = SHAPES.get_or_init(RwLock::default);
    if let Some(pieces) = shapes.read().unwrap_or_else(PoisonError::into_inner).get(shape) {
        return Ok(pieces.clone());
    }
    let marked = render_template(shape, |field| format!("{MARK_OPEN}{}{MARK_CLOSE}", field as usize))?;
    let pieces = Arc::new(cut(&marked));
    shapes.write().unwrap_or_else(PoisonError::into_inner).insert(shape.clone(), pieces.clone());
    Ok(pieces)
}

fn cut(marked: &str) -> Pieces {
    let mut pieces = Vec::new();
    let mut rest = marked;
    // Every marker was written by `pieces_of` from a field number.
    while let Some((text, after)) = rest.split_once(MARK_OPEN)
        && let Some((field, after)) = after.split_once(MARK_CLOSE)
        && let Ok(field) = field.parse::<usize>()
        && field < FIELDS
    {
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_owned()));
        }
        pieces.push(Piece::Value(field));
        rest = after;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    let text_len = pieces.iter().map(|p| if let Piece::Text(t) = p { t.len() } else { 0 }).sum();
    Pieces { pieces, text_len }
}

/// `pay.html` for `shape`, with `value` giving what each field shows.
fn render_template(shape: &Shape, value: impl Fn(Field) -> String) -> Result<String, minijinja::Error> {
    templates().get_template("pay.html")?.render(context! {
        t => Texts::value(shape.lang),
        lang => shape.lang.code(),
        state => shape.state,
        notice => shape.notice,
        page_path => value(Field::PagePath),
        channels => shape.channels,
        decision_no => value(Field::DecisionNo),
        violation => value(Field::Violation),
        masked_plate => shape.has_plate.then(|| value(Field::MaskedPlate)),
        amount => value(Field::Amount),
        amount_due_at_bank => value(Field::AmountDueAtBank),
        location => value(Field::Location),
        occurred_local => value(Field::OccurredLocal),
        checked_local => value(Field::CheckedLocal),
        today => value(Field::Today),
        surcharge => value(Field::Surcharge),
        due_date => value(Field::DueDate),
        daily_rate => value(Field::DailyRate),
        banks => value(Field::Banks),
        rf_reference => value(Field::RfReference),
        surcharged => shape.surcharged,
        overdue => shape.overdue,
        expires_local => value(Field::ExpiresLocal),
        seconds_left => value(Field::SecondsLeft),
        countdown => value(Field::Countdown),
        pay_action => value(Field::PayAction),
        receipt => shape.receipt_channel.as_ref().map(|channel| context! {
            channel => channel,
            receipt_no => value(Field::ReceiptNo),
            url => value(Field::ReceiptUrl),
            amount => value(Field::ReceiptAmount),
            paid_local => value(Field::ReceiptPaidLocal),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_renders_as_the_template_does() {
        // Values with everything HTML escaping must handle, different per field.
        let values: Values = std::array::from_fn(|i| format!("<v{i} a=\"&'\">/x"));
        let mut shapes = 0;
        for lang in [Lang::Zh, Lang::En] {
            for state in ["pending", "expired", "bank", "paid", "void"] {
                for channels in [vec![], vec!["wechat", "alipay", "unionpay"], vec!["unionpay"]] {
                    for has_plate in [false, true] {
                        for receipt_channel in [None, Some("wechat"), Some("alipay"), Some("unionpay")] {
                            for notice in [
                                None,
                                Some("confirming"),
                                Some("checked"),
                                Some("checked_none"),
                                Some("checked_failed"),
                            ] {
                                for (surcharged, overdue) in [(false, false), (false, true), (true, true)] {
                                    let receipt_channel = receipt_channel.map(str::to_owned);
                                    let channels = channels.clone();
                                    let shape = Shape {
                                        lang,
                                        state,
                                        channels,
                                        has_plate,
                                        receipt_channel,
                                        notice,
                                        surcharged,
                                        overdue,
                                    };
                                    let direct =
                                        render_template(&shape, |f| values[f as usize].clone()).expect("renders");
                                    assert_eq!(render(&shape, &values).expect("renders"), direct, "{shape:?}");
                                    // From the remembered pieces, the same again.
                                    assert_eq!(render(&shape, &values).expect("renders"), direct, "{shape:?}");
                                    shapes += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(shapes, 3600);
        // The values were really printed, escaped.
        let page = render(
            &Shape {
                lang: Lang::En,
                state: "pending",
                channels: vec!["wechat"],
                has_plate: true,
                receipt_channel: None,
                notice: None,
                surcharged: false,
                overdue: false,
            },
            &values,
        )
        .expect("renders");
        assert!(page.contains("&lt;v0 a=&quot;&amp;&#x27;&quot;&gt;&#x2f;x"), "{page}");
        assert!(!page.contains(MARK_OPEN) && !page.contains("<v0"));
    }
}
