//! The words the dashboard draws on the server — chart titles, the stacked parts' names, the
//! figures' labels — in Chinese (the desk's language) and English.

/// One language's words. `{from}` and `{to}` in a title are the period's first and last days.
#[derive(Debug)]
pub(crate) struct DashboardWords {
    /// Bottom first: paid by QR per channel (WeChat Pay, Alipay, UnionPay), paid at banks,
    /// outstanding.
    pub series: [&'static str; 5],
    /// Issued; paid by QR per channel and in all; paid at banks; outstanding; void; paid another
    /// way.
    pub figures: [&'static str; 9],
    pub day_title: &'static str,
    pub district_title: &'static str,
    /// What an empty chart says.
    pub no_data: &'static str,
}

pub(crate) const ZH: DashboardWords = DashboardWords {
    series: ["微信支付", "支付宝", "云闪付", "银行缴款", "未缴"],
    figures: [
        "已开具",
        "扫码缴款：微信支付",
        "扫码缴款：支付宝",
        "扫码缴款：云闪付",
        "扫码缴款：合计",
        "银行缴款",
        "未缴（待缴，含须到银行缴纳）",
        "已撤销",
        "其他渠道缴款",
    ],
    day_title: "按开具日统计的罚单，{from} 至 {to}",
    district_title: "按辖区统计的罚单，开具于 {from} 至 {to}",
    no_data: "此期间没有罚单",
};

pub(crate) const EN: DashboardWords = DashboardWords {
    series: ["WeChat Pay", "Alipay", "UnionPay", "Paid at banks", "Outstanding"],
    figures: [
        "Issued",
        "Paid by QR: WeChat Pay",
        "Paid by QR: Alipay",
        "Paid by QR: UnionPay",
        "Paid by QR: all channels",
        "Paid at banks",
        "Outstanding (awaiting payment or payable at banks)",
        "Void",
        "Paid through another channel",
    ],
    day_title: "Fines by issue day, {from} to {to}",
    district_title: "Fines by district, issued {from} to {to}",
    no_data: "No fines in this period",
};
