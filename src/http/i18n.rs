//! The public pages' words in Chinese and English. The language comes from `?lang=` (the page's
//! switch) or else from `Accept-Language`; Chinese is the default.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `zh` or `en`, as `?lang=` spells it.
    pub(super) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub(super) fn pick(query: &str, accept_language: Option<&str>) -> Lang {
        for pair in query.split('&') {
            match pair {
                "lang=en" => return Lang::En,
                "lang=zh" => return Lang::Zh,
                _ => {}
            }
        }
        // The first listed language wins; weights are rarely used by phones' browsers.
        let first = accept_language.and_then(|v| v.split(',').next()).map(|l| l.trim().to_ascii_lowercase());
        match first {
            Some(l) if l.starts_with("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Texts {
    html_lang: &'static str,
    title: &'static str,
    other_lang: &'static str,
    other_lang_name: &'static str,
    state_pending: &'static str,
    state_expired: &'static str,
    state_bank: &'static str,
    state_paid: &'static str,
    state_void: &'static str,
    void_note: &'static str,
    valid_for: &'static str,
    valid_until: &'static str,
    decision_no: &'static str,
    violation: &'static str,
    plate: &'static str,
    issued: &'static str,
    due_at_bank: &'static str,
    where_to_pay: &'static str,
    surcharge_note: &'static str,
    not_found_title: &'static str,
    pub(super) not_found_text: &'static str,
    pub(super) page_not_found_text: &'static str,
    choose_channel: &'static str,
    channel_wechat: &'static str,
    channel_alipay: &'static str,
    channel_unionpay: &'static str,
    receipt: &'static str,
    receipt_no: &'static str,
    paid_at: &'static str,
    paid_with: &'static str,
    amount_paid: &'static str,
    code_dead: &'static str,
    lookup_link: &'static str,
    lookup_title: &'static str,
    lookup_intro: &'static str,
    verification_code: &'static str,
    lookup_submit: &'static str,
    lookup_not_found: &'static str,
    lookup_bad_number: &'static str,
    lookup_check_digits: &'static str,
    lookup_bad_code: &'static str,
    lookup_rate_limited: &'static str,
    lookup_incomplete: &'static str,
    lookup_missing_number: &'static str,
    lookup_missing_code: &'static str,
    lookup_number_hint: &'static str,
    lookup_code_hint: &'static str,
    error_summary_title: &'static str,
    error_prefix: &'static str,
    confirming: &'static str,
    confirming_note: &'static str,
    not_confirmed: &'static str,
    scan_wechat: &'static str,
    scan_alipay: &'static str,
    scan_unionpay: &'static str,
    scan_note: &'static str,
    wechat_work_note: &'static str,
    back_to_page: &'static str,
    continue_to: &'static str,
    continue_link: &'static str,
    elsewhere_title: &'static str,
    elsewhere_text: &'static str,
    copy_link: &'static str,
    copied: &'static str,
    jsapi_title: &'static str,
    jsapi_pay: &'static str,
    jsapi_not_done: &'static str,
    jsapi_outside: &'static str,
    channel_down_title: &'static str,
    channel_down_text: &'static str,
    link_used_title: &'static str,
    link_used_text: &'static str,
}

const ZH: Texts = Texts {
    html_lang: "zh-CN",
    title: "交通违法罚款缴纳",
    other_lang: "en",
    other_lang_name: "English",
    state_pending: "待缴款：二维码有效",
    state_expired: "二维码已过期",
    state_bank: "请到代收银行缴款",
    state_paid: "已缴款",
    state_void: "此罚单已撤销，无需缴款",
    void_note: "开具此罚单的交警已将其撤销，您不欠任何款项。如已扫码付款，款项将自动原路退回。",
    valid_for: "二维码剩余有效时间",
    valid_until: "有效期至",
    decision_no: "决定书编号",
    violation: "违法行为",
    plate: "号牌",
    issued: "开具时间",
    due_at_bank: "今日在银行应缴：",
    where_to_pay: "请持决定书编号到代收银行网点或网上银行缴款。",
    surcharge_note: "逾期缴纳的，依法每日加处罚款，加处罚款总额不超过罚款本数；上列金额为今日在银行缴纳的应缴金额。",
    not_found_title: "未找到",
    not_found_text: "此二维码无效。请核对罚单上的决定书编号。",
    page_not_found_text: "此网址没有页面。要缴纳罚款，请扫描罚单上的二维码，或按决定书编号查询。",
    choose_channel: "选择支付方式",
    channel_wechat: "微信支付",
    channel_alipay: "支付宝",
    channel_unionpay: "云闪付（银联）",
    receipt: "电子缴款凭证",
    receipt_no: "凭证号",
    paid_at: "缴款时间",
    paid_with: "支付渠道",
    amount_paid: "缴款金额",
    code_dead: "此二维码已失效，无需再次缴款。",
    lookup_link: "没有二维码？按决定书编号查询",
    lookup_title: "查询罚款",
    lookup_intro: "输入罚单上的决定书编号和6位查询码，即可查到罚款并缴纳。",
    verification_code: "查询码",
    lookup_submit: "查询",
    lookup_not_found: "没有找到这张罚单：请核对决定书编号和查询码。",
    lookup_bad_number: "决定书编号是19位数字，请核对。",
    lookup_check_digits: "决定书编号有误：校验位不符，请逐位核对（注意0和8、1和7）。",
    lookup_bad_code: "查询码是6位数字，请核对。",
    lookup_rate_limited: "查询次数过多，请{minutes}分钟后再试。",
    lookup_incomplete: "请填写决定书编号和查询码。",
    lookup_missing_number: "请填写决定书编号。",
    lookup_missing_code: "请填写查询码。",
    lookup_number_hint: "19位数字，印在罚单上方“决定书编号”处。",
    lookup_code_hint: "6位数字，大字印在罚单二维码下方“查询码”处。",
    error_summary_title: "请修改以下问题",
    error_prefix: "错误：",
    confirming: "正在确认您的付款……",
    confirming_note: "支付渠道确认后，本页会自动显示电子缴款凭证，请勿重复付款。",
    not_confirmed: "暂未收到付款确认。如已付款，凭证稍后会在本页自动显示；如未付款，请重新选择支付方式。",
    scan_wechat: "请用另一部手机的微信“扫一扫”扫描此二维码",
    scan_alipay: "请用另一部手机的支付宝“扫一扫”扫描此二维码",
    scan_unionpay: "请用另一部手机的云闪付或银行App扫描此二维码",
    scan_note: "付款后，本页会自动显示电子缴款凭证。",
    wechat_work_note: "企业微信内不能直接付款：请在微信中打开本页，或用另一部手机扫描下方二维码。",
    back_to_page: "返回缴款页",
    continue_to: "正在前往",
    continue_link: "如未自动跳转，请点此继续",
    elsewhere_title: "请换个地方打开本页",
    elsewhere_text: "当前App内不能使用{channel}付款。请点右上角“…”选择“在浏览器打开”，或复制下面的链接，在浏览器或{channel}App中打开后付款。",
    copy_link: "复制链接",
    copied: "已复制",
    jsapi_title: "微信支付",
    jsapi_pay: "确认支付",
    jsapi_not_done: "付款未完成。可以再试一次，或返回选择其他支付方式。",
    jsapi_outside: "请在微信中打开本页付款。",
    channel_down_title: "支付渠道暂时不可用",
    channel_down_text: "请选择其他支付方式，或稍后再试；也可以持决定书编号到代收银行缴款。",
    link_used_title: "此支付链接已失效",
    link_used_text: "链接已使用过或已超时。请返回缴款页，重新选择微信支付。",
};

const EN: Texts = Texts {
    html_lang: "en",
    title: "Traffic fine payment",
    other_lang: "zh",
    other_lang_name: "中文",
    state_pending: "Awaiting payment: this code is valid",
    state_expired: "This code has expired",
    state_bank: "Pay at an agent bank",
    state_paid: "Paid",
    state_void: "This fine was cancelled: nothing to pay",
    void_note: "The officer who issued this fine has cancelled it, and you owe nothing. Anything already paid by its code goes back to where it came from, by itself.",
    valid_for: "Time left to pay with this code",
    valid_until: "Valid until",
    decision_no: "Decision number",
    violation: "Violation",
    plate: "Plate",
    issued: "Issued",
    due_at_bank: "Amount due at a bank today:",
    where_to_pay: "Pay at an agent bank's counter or through online banking with the decision number.",
    surcharge_note: "Paid late, a daily surcharge is added as the law provides, up to the amount of the fine; the amount above is what a bank takes today.",
    not_found_title: "Not found",
    not_found_text: "This code is not valid. Check the decision number on your bill.",
    page_not_found_text: "There is no page at this address. To pay a fine, scan the QR code on your bill, or look the fine up by its decision number.",
    choose_channel: "Choose how to pay",
    channel_wechat: "WeChat Pay",
    channel_alipay: "Alipay",
    channel_unionpay: "UnionPay QuickPass",
    receipt: "Electronic receipt",
    receipt_no: "Receipt number",
    paid_at: "Paid at",
    paid_with: "Paid with",
    amount_paid: "Amount paid",
    code_dead: "This code no longer works: there is nothing more to pay.",
    lookup_link: "No QR code? Look the fine up by its decision number",
    lookup_title: "Find a fine",
    lookup_intro: "Enter the decision number and the 6-digit verification code printed beside it.",
    verification_code: "Verification code",
    lookup_submit: "Find",
    lookup_not_found: "No fine has this decision number and verification code: check both.",
    lookup_bad_number: "A decision number has 19 digits: check it.",
    lookup_check_digits: "This decision number is mistyped: its check digits do not match. Check it digit by digit (0 and 8, 1 and 7 are easily mixed up).",
    lookup_bad_code: "The verification code has 6 digits: check it.",
    lookup_rate_limited: "Too many lookups from here. Try again in {minutes} minutes.",
    lookup_incomplete: "Enter the decision number and the verification code.",
    lookup_missing_number: "Enter the decision number.",
    lookup_missing_code: "Enter the verification code.",
    lookup_number_hint: "19 digits, printed at the top of the bill beside 决定书编号 (Decision no.).",
    lookup_code_hint: "6 digits, printed large below the QR code beside 查询码 (Verification code).",
    error_summary_title: "There is a problem",
    error_prefix: "Error: ",
    confirming: "Confirming your payment…",
    confirming_note: "Your receipt appears on this page as soon as the channel confirms; do not pay again.",
    not_confirmed: "Your payment has not been confirmed yet. If you paid, the receipt will appear here shortly; if not, choose a way to pay again.",
    scan_wechat: "Scan this code with WeChat's Scan on another phone",
    scan_alipay: "Scan this code with Alipay's Scan on another phone",
    scan_unionpay: "Scan this code with UnionPay QuickPass or your bank's app on another phone",
    scan_note: "Once you have paid, your receipt appears on this page.",
    wechat_work_note: "WeChat Work cannot pay here: open this page in WeChat, or scan the code below with another phone.",
    back_to_page: "Back to the payment page",
    continue_to: "Continuing to",
    continue_link: "Not moving on? Tap here to continue",
    elsewhere_title: "Open this page somewhere else",
    elsewhere_text: "{channel} cannot be used inside this app. Tap “…” at the top right and choose “Open in browser”, or copy the link below and open it in your browser or the {channel} app to pay.",
    copy_link: "Copy link",
    copied: "Copied",
    jsapi_title: "WeChat Pay",
    jsapi_pay: "Pay",
    jsapi_not_done: "The payment was not completed. Try again, or go back and choose another way to pay.",
    jsapi_outside: "Open this page in WeChat to pay.",
    channel_down_title: "The payment channel is not available right now",
    channel_down_text: "Choose another way to pay, or try again later; you can also pay at an agent bank with the decision number.",
    link_used_title: "This payment link no longer works",
    link_used_text: "It was used already or has timed out. Go back to the payment page and choose WeChat Pay again.",
};

impl Texts {
    /// The texts as a template value, built once per language (a page view would otherwise
    /// serialise all of them again).
    pub(super) fn value(lang: Lang) -> minijinja::Value {
        static VALUES: std::sync::OnceLock<[minijinja::Value; 2]> = std::sync::OnceLock::new();
        let [zh, en] =
            VALUES.get_or_init(|| [minijinja::Value::from_serialize(&ZH), minijinja::Value::from_serialize(&EN)]);
        match lang {
            Lang::Zh => zh.clone(),
            Lang::En => en.clone(),
        }
    }

    /// What the lookup form says for one of its error codes.
    pub(super) fn lookup_error(&self, code: &str) -> &'static str {
        match code {
            "not_found" => self.lookup_not_found,
            "bad_decision_number" => self.lookup_bad_number,
            "check_digits" => self.lookup_check_digits,
            "invalid_verification_code" => self.lookup_bad_code,
            "missing_decision_no" => self.lookup_missing_number,
            "missing_verification_code" => self.lookup_missing_code,
            "rate_limited" => self.lookup_rate_limited,
            _ => self.lookup_incomplete,
        }
    }

    pub(super) fn of(lang: Lang) -> &'static Texts {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_overrides_accept_language() {
        assert_eq!(Lang::pick("", None), Lang::Zh);
        assert_eq!(Lang::pick("", Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::pick("", Some("zh-CN,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(Lang::pick("lang=zh", Some("en-US")), Lang::Zh);
        assert_eq!(Lang::pick("x=1&lang=en", None), Lang::En);
    }
}
