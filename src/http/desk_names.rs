//! What the desk calls things, in Chinese and English: the kinds of exception, the actions of the
//! audit trail, the states of a fine, order or refund, and the outcomes of payments. Each name
//! keeps its code beside it where clerks and logs meet (`未匹配到罚单 (unmatched)`), so a clerk
//! on the phone to the operations team speaks the same word. A code the desk does not know is
//! shown as it is.

use super::i18n::Lang;

/// The name of an exception kind, with its code.
pub(super) fn exception_kind(kind: &str, lang: Lang) -> String {
    let (zh, en) = match kind {
        "paid_at_channel_unknown_here" => ("渠道有付款、本系统无记录", "paid at the channel, unknown here"),
        "missing_at_channel" => ("渠道对账单中无此笔", "missing from the channel's statement"),
        "amount_mismatch" => ("金额不符", "amounts differ"),
        "refund_unknown_here" => ("渠道有退款、本系统无记录", "refund unknown here"),
        "refund_amount_mismatch" => ("退款金额不符", "refund amounts differ"),
        "implausible_paid_at" => ("付款时间异常", "implausible payment time"),
        "unmatched" => ("未匹配到罚单", "names no fine"),
        "duplicate_payment" => ("重复缴款", "paid twice"),
        "fine_void" => ("罚单已撤销", "fine was void"),
        "reversed" => ("已冲正", "reversed"),
        "implausible_date" => ("日期异常", "implausible date"),
        _ => return kind.to_owned(),
    };
    with_code(zh, en, kind, lang)
}

/// What an entry of a fine's timeline did.
pub(super) fn action(action: &str, lang: Lang) -> String {
    let (zh, en) = match action {
        "fine.issue" => ("开具罚单", "issued"),
        "order.opened" => ("创建支付订单", "payment order opened"),
        "order.closed" => ("关闭支付订单", "payment order closed"),
        "order.paid" => ("支付订单已付款", "payment order paid"),
        "fine.paid" => ("扫码缴款入账", "paid online"),
        "payment.held" => ("付款暂挂待核查", "payment held for review"),
        "payment.refund_scheduled" => ("安排退款", "refund scheduled"),
        "refund.succeeded" => ("退款成功", "refund succeeded"),
        "refund.failed" => ("退款失败", "refund failed"),
        "fine.payable_at_bank" => ("二维码到期，转银行缴款", "window ended, handed to the banks"),
        "fine.paid_at_bank" => ("银行缴款入账", "paid at a bank"),
        "fine.bank_payment_reversed" => ("银行缴款冲正", "bank payment reversed"),
        "fine.void" => ("撤销罚单", "voided"),
        "exception.resolve" => ("异常已处理", "exception resolved"),
        _ => return action.to_owned(),
    };
    with_code(zh, en, action, lang)
}

/// A fine's state.
pub(super) fn fine_status(status: &str, lang: Lang) -> String {
    let (zh, en) = match status {
        "awaiting_payment" => ("待扫码缴款", "awaiting payment"),
        "payable_at_bank" => ("待银行缴款", "payable at a bank"),
        "paid" => ("已缴款", "paid"),
        "void" => ("已撤销", "void"),
        _ => return status.to_owned(),
    };
    with_code(zh, en, status, lang)
}

/// What became of a payment (a channel's or a bank's) or a refund, or where an order stands.
pub(super) fn outcome(outcome: &str, lang: Lang) -> String {
    let (zh, en) = match outcome {
        "applied" | "settled" => ("已入账", "applied"),
        "held" => ("暂挂待核查", "held for review"),
        "refund" => ("已退款或退款中", "refunded or being refunded"),
        "already_known" => ("重复报送，已忽略", "already known"),
        "duplicate_payment" => ("重复缴款", "paid twice"),
        "amount_mismatch" => ("金额不符", "amounts differ"),
        "unmatched" => ("未匹配到罚单", "names no fine"),
        "fine_void" => ("罚单已撤销", "fine was void"),
        "reversed" => ("已冲正", "reversed"),
        "implausible_date" => ("日期异常", "implausible date"),
        "open" => ("待付款", "open"),
        "paid" => ("已付款", "paid"),
        "closed" => ("已关闭", "closed"),
        "pending" => ("处理中", "pending"),
        "succeeded" => ("成功", "succeeded"),
        "failed" => ("失败", "failed"),
        _ => return outcome.to_owned(),
    };
    with_code(zh, en, outcome, lang)
}

/// How a statement import ended.
pub(super) fn import_status(status: &str, lang: Lang) -> String {
    let (zh, en) = match status {
        "complete" => ("已导入", "imported"),
        "malformed" => (
            "文件中断：断点前各行已导入，请重新导入完整文件",
            "broke off: the lines before were imported; import the whole file again",
        ),
        "refused" => ("不是对账单，未导入", "not a statement: refused"),
        "interrupted" => ("导入中断，请重新导入", "interrupted: import it again"),
        "importing" => ("导入中", "importing"),
        _ => return status.to_owned(),
    };
    with_code(zh, en, status, lang)
}

/// Who did something, as the audit trail names them: a job of finepay's, a channel, the command
/// line, or a credential (its id, and an admin's name) as it is.
pub(super) fn actor(actor: &str, lang: Lang) -> String {
    let zh = lang != Lang::En;
    if let Some(job) = actor.strip_prefix("system:") {
        return if zh { format!("系统任务 {job}") } else { format!("finepay's job {job}") };
    }
    if let Some(channel) = actor.strip_prefix("channel:") {
        return if zh { format!("渠道 {channel}") } else { format!("channel {channel}") };
    }
    match actor {
        "cli" => (if zh { "命令行 (cli)" } else { "command line (cli)" }).to_owned(),
        other => other.to_owned(),
    }
}

fn with_code(zh: &str, en: &str, code: &str, lang: Lang) -> String {
    format!("{} ({code})", if lang == Lang::En { en } else { zh })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_code_and_an_unknown_code_is_shown_as_it_is() {
        assert_eq!(exception_kind("unmatched", Lang::Zh), "未匹配到罚单 (unmatched)");
        assert_eq!(action("fine.paid", Lang::En), "paid online (fine.paid)");
        assert_eq!(fine_status("void", Lang::Zh), "已撤销 (void)");
        assert_eq!(outcome("something_new", Lang::En), "something_new");
        assert_eq!(actor("system:expire", Lang::Zh), "系统任务 expire");
        assert_eq!(actor("credential:cred_1 (finance)", Lang::Zh), "credential:cred_1 (finance)");
    }
}
