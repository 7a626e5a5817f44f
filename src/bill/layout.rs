//! What the bill says, in what order, wrapped how: the one place its wording lives. The layout is
//! a column of blocks measured in the printers' own unit, the cell — half a Chinese character,
//! one ASCII character (12 × 24 dots in the printers' standard font) — so the ESC/POS renderer
//! sends lines exactly as wrapped here, and the PNG and PDF renderers draw the same lines.
//!
//! Chinese first; `Language::ZhEn` puts each label's English beside it and each Chinese value's
//! English below it. Text wraps at character boundaries (a run of ASCII letters and digits moves
//! to the next line whole where it fits there), and nothing is ever cut off.

use crate::domain::Fen;
use crate::domain::catalogue::SubjectKind;
use crate::domain::rf_reference::spaced_in_fours;
use crate::domain::surcharge::percent;

/// The paper the bill is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Paper {
    /// 58 mm: 384 dots, 32 cells a line.
    Mm58,
    /// 80 mm: 576 dots, 48 cells a line.
    Mm80,
}

impl Paper {
    /// `58` or `80`, as `?width=` gives it.
    pub fn parse(raw: &str) -> Option<Paper> {
        match raw {
            "58" => Some(Paper::Mm58),
            "80" => Some(Paper::Mm80),
            _ => None,
        }
    }

    /// Dots across the printable width at 8 dots a millimetre.
    pub const fn dots(self) -> usize {
        match self {
            Paper::Mm58 => 384,
            Paper::Mm80 => 576,
        }
    }

    /// Cells a line holds at normal size.
    pub const fn cells(self) -> usize {
        self.dots() / CELL_DOTS
    }
}

/// Dots across one cell of the printers' standard font (a Chinese character is two).
pub const CELL_DOTS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Zh,
    ZhEn,
}

impl Language {
    /// `zh` or `zh-en`, as `?lang=` gives it.
    pub fn parse(raw: &str) -> Option<Language> {
        match raw {
            "zh" => Some(Language::Zh),
            "zh-en" => Some(Language::ZhEn),
            _ => None,
        }
    }
}

/// Where a line sits across the paper (the values are ESC/POS's `ESC a n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left = 0,
    Center = 1,
    Right = 2,
}

/// Normal, or twice as wide and twice as high (the amount, the verification code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Normal,
    Double,
}

impl Size {
    /// How many times the normal width and height.
    pub const fn factor(self) -> usize {
        match self {
            Size::Normal => 1,
            Size::Double => 2,
        }
    }
}

/// One printed line, already wrapped to the paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub size: Size,
    pub bold: bool,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Line(Line),
    /// The QR code holding exactly this payload.
    Qr(String),
    /// A thin rule across the paper.
    Rule,
    /// Half a line of blank paper.
    Gap,
}

/// Everything the bill says, gathered by `fines::bill` from the fine, the catalogue, the district
/// and the configuration; the layout decides only how it reads.
#[derive(Debug, Clone)]
pub struct Facts {
    pub authority_zh: String,
    pub authority_en: String,
    pub district_zh: String,
    pub district_en: String,
    pub decision_no: String,
    pub violation_code: String,
    pub violation_zh: String,
    pub violation_en: String,
    pub points: i32,
    pub subject: SubjectKind,
    pub plate: Option<String>,
    /// The plate type's GA 24.7 code.
    pub plate_type: Option<String>,
    pub location: String,
    /// Beijing wall-clock time, `YYYY-MM-DD HH:MM`.
    pub occurred_at: String,
    pub amount: Fen,
    /// The QR payment, when the fine can still be paid by its code.
    pub qr: Option<QrPayment>,
    pub verification_code: String,
    /// Where the lookup form is, for paying without the code.
    pub lookup_url: String,
    /// The last day free of surcharge, `YYYY-MM-DD`.
    pub due_date: String,
    /// Per-day surcharge in basis points of the fine (300 = 3%).
    pub daily_rate_bp: i64,
    /// The RF creditor reference for bank transfers, unspaced.
    pub rf_reference: String,
}

#[derive(Debug, Clone)]
pub struct QrPayment {
    pub pay_url: String,
    /// Beijing wall-clock time, `YYYY-MM-DD HH:MM`.
    pub until: String,
}

/// The bill, top to bottom, in lines of at most `cells` cells (`Paper::cells` for a printer).
pub fn lay_out(facts: &Facts, cells: usize, language: Language) -> Vec<Block> {
    let mut bill = Writer { blocks: Vec::new(), cells, en: language == Language::ZhEn };
    bill.heading(&facts.authority_zh, &facts.authority_en);
    bill.centered(&facts.district_zh, &facts.district_en);
    bill.heading("公安交通管理简易程序处罚决定书", "Traffic Fine (Summary Procedure)");
    bill.blocks.push(Block::Rule);

    bill.field(("决定书编号", "Decision no."), &facts.decision_no, None);
    let points_zh = if facts.points > 0 { format!("记{}分", facts.points) } else { "不记分".to_owned() };
    let points_en = match facts.points {
        0 => "no points".to_owned(),
        1 => "1 point".to_owned(),
        n => format!("{n} points"),
    };
    bill.field(
        ("违法行为", "Violation"),
        &format!("{} {}（{points_zh}）", facts.violation_code, facts.violation_zh),
        Some(&format!("{} ({points_en})", facts.violation_en)),
    );
    match (&facts.plate, facts.subject) {
        (Some(plate), _) => {
            let (type_zh, type_en) = facts.plate_type.as_deref().map(plate_type_names).unwrap_or(("", ""));
            bill.field(
                ("号牌", "Plate"),
                format!("{plate} {type_zh}").trim_end(),
                Some(type_en).filter(|t| !t.is_empty()),
            );
        }
        (None, subject) => {
            let (zh, en) = subject_names(subject);
            bill.field(("当事人", "Offender"), zh, Some(en));
        }
    }
    bill.field(("地点", "Place"), &facts.location, None);
    bill.field(("时间", "Time"), &facts.occurred_at, None);
    bill.blocks.push(Block::Rule);

    bill.label(("罚款金额", "Fine"));
    bill.big(&format!("￥{}", facts.amount.yuan_text()));
    bill.blocks.push(Block::Rule);

    match &facts.qr {
        Some(qr) => {
            bill.centered("微信、支付宝、云闪付或手机相机扫码缴款", "Scan with WeChat, Alipay, UnionPay or a camera");
            bill.blocks.push(Block::Qr(qr.pay_url.clone()));
            bill.centered(&format!("扫码缴款截止 {}", qr.until), &format!("The code can be paid until {}", qr.until));
        }
        None => bill.text(
            "本决定书不附缴款二维码：请凭决定书编号到代理银行或通过网上银行缴纳。",
            "This bill has no payment code: pay at an agent bank or by online banking with the decision number.",
        ),
    }
    bill.blocks.push(Block::Gap);
    bill.label(("查询码", "Verification code"));
    bill.big(&facts.verification_code);
    bill.text(
        &format!("不能扫码时，打开 {} 输入决定书编号和查询码缴款。", facts.lookup_url),
        &format!("Without the code, open {} and enter the decision number and this code.", facts.lookup_url),
    );
    bill.blocks.push(Block::Rule);

    let rate = percent(facts.daily_rate_bp);
    bill.text(
        &format!(
            "请于 {} 前缴纳罚款。逾期不缴纳的，每日按罚款数额的{rate}%加处罚款，加处罚款总额不超出罚款数额。",
            facts.due_date
        ),
        &format!(
            "Pay by {}. After that {rate}% of the fine is added each day, never more in all than the fine.",
            facts.due_date
        ),
    );
    bill.field(("银行缴款参考号", "Bank reference"), &spaced_in_fours(&facts.rf_reference), None);
    bill.blocks
}

/// Builds the column of blocks, wrapping as it goes.
struct Writer {
    blocks: Vec<Block>,
    cells: usize,
    en: bool,
}

impl Writer {
    fn push(&mut self, text: &str, size: Size, bold: bool, align: Align) {
        for text in wrap(text, self.cells / size.factor()) {
            self.blocks.push(Block::Line(Line { text, size, bold, align }));
        }
    }

    fn heading(&mut self, zh: &str, en: &str) {
        self.push(zh, Size::Normal, true, Align::Center);
        if self.en {
            self.push(en, Size::Normal, false, Align::Center);
        }
    }

    fn centered(&mut self, zh: &str, en: &str) {
        self.push(zh, Size::Normal, false, Align::Center);
        if self.en && !en.is_empty() {
            self.push(en, Size::Normal, false, Align::Center);
        }
    }

    fn text(&mut self, zh: &str, en: &str) {
        self.push(zh, Size::Normal, false, Align::Left);
        if self.en {
            self.push(en, Size::Normal, false, Align::Left);
        }
    }

    fn label(&mut self, (zh, en): (&str, &str)) {
        let label = if self.en { format!("{zh} {en}") } else { zh.to_owned() };
        self.push(&label, Size::Normal, true, Align::Left);
    }

    fn big(&mut self, text: &str) {
        self.push(text, Size::Double, true, Align::Left);
    }

    /// A label and its value. In Chinese alone, `标签：value` wraps as one text; with English,
    /// the bilingual label goes on its own line, the value below it and its English (if it has
    /// one) below that.
    fn field(&mut self, label: (&str, &str), value: &str, value_en: Option<&str>) {
        if self.en {
            self.label(label);
            self.push(value, Size::Normal, false, Align::Left);
            if let Some(en) = value_en {
                self.push(en, Size::Normal, false, Align::Left);
            }
        } else {
            self.push(&format!("{}：{value}", label.0), Size::Normal, false, Align::Left);
        }
    }
}

/// Cells a character takes: one for ASCII, two for anything else (the printers print every
/// GBK character full width).
pub fn cells_of(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

pub fn width_in_cells(text: &str) -> usize {
    text.chars().map(cells_of).sum()
}

/// Punctuation that never starts a line: it stays with the character before it, and the two move
/// to the next line together when they do not fit.
const CLOSING: &str = "，。、；：！？）》」』】”’,.;:!?)";

/// Splits `text` into lines of at most `cells` cells. Breaks fall between any two characters,
/// except inside a run of ASCII letters and digits (a word, a URL, a plate) when the run fits on
/// a line of its own, and before closing punctuation. Spaces at a break are dropped; no other
/// character ever is.
pub fn wrap(text: &str, cells: usize) -> Vec<String> {
    let cells = cells.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for unit in units(text) {
        let width = width_in_cells(&unit);
        if unit == " " {
            if used > 0 && used < cells {
                line.push(' ');
                used += 1;
            }
            continue;
        }
        if used + width > cells && used > 0 {
            lines.push(line.trim_end().to_owned());
            line.clear();
            used = 0;
        }
        if width > cells {
            // A run longer than a whole line: split it by character.
            for c in unit.chars() {
                if used + cells_of(c) > cells {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += cells_of(c);
            }
        } else {
            line.push_str(&unit);
            used += width;
        }
    }
    if !line.trim_end().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// The unbreakable pieces of `text`: a space, a run of ASCII graphic characters, or one other
/// character — each with the closing punctuation that follows it. Control characters are left
/// out (they never reach a bill: the text check refuses them where they come in).
fn units(text: &str) -> Vec<String> {
    let mut units: Vec<String> = Vec::new();
    let mut run = false;
    for c in text.chars().filter(|c| !c.is_control()) {
        let joins_run = run && c.is_ascii_graphic() && !CLOSING.contains(c);
        match units.last_mut() {
            Some(last) if joins_run || (CLOSING.contains(c) && last != " ") => last.push(c),
            _ => units.push(c.to_string()),
        }
        run = c.is_ascii_graphic();
    }
    units
}

fn subject_names(subject: SubjectKind) -> (&'static str, &'static str) {
    match subject {
        SubjectKind::MotorVehicle => ("机动车驾驶人", "motor vehicle driver"),
        SubjectKind::NonMotorVehicle => ("非机动车驾驶人", "non-motor vehicle rider"),
        SubjectKind::Pedestrian => ("行人", "pedestrian"),
    }
}

/// The plate types of GA 24.7 a bill names; any other code is printed as the code.
fn plate_type_names(code: &str) -> (&str, &str) {
    match code {
        "01" => ("大型汽车", "large vehicle"),
        "02" => ("小型汽车", "small vehicle"),
        "03" => ("使馆汽车", "embassy vehicle"),
        "04" => ("领馆汽车", "consulate vehicle"),
        "05" => ("境外汽车", "foreign vehicle"),
        "06" => ("外籍汽车", "foreign-owned vehicle"),
        "07" => ("普通摩托车", "motorcycle"),
        "08" => ("轻便摩托车", "light motorcycle"),
        "13" => ("低速车", "low-speed vehicle"),
        "14" => ("拖拉机", "tractor"),
        "15" => ("挂车", "trailer"),
        "16" => ("教练汽车", "learner vehicle"),
        "20" => ("临时入境汽车", "temporary entry vehicle"),
        "22" => ("临时行驶车", "temporary plate"),
        "23" => ("警用汽车", "police vehicle"),
        "51" => ("大型新能源汽车", "large new-energy vehicle"),
        "52" => ("小型新能源汽车", "small new-energy vehicle"),
        other => (other, ""),
    }
}

#[cfg(test)]
mod tests;
