//! The simulator's keys and certificates (`config/simulator/`), compiled in: the shipped
//! configuration names them as `builtin:simulator/<file>`, so finepay runs from any directory, and
//! a channel off this machine refuses any of them wherever it was copied to.

/// The simulator's APIv3 key (config/default.toml).
pub const SIMULATOR_APIV3_KEY: &str = "finepay-simulator-apiv3-key-0032";

/// The simulator's official account AppSecret (config/default.toml).
pub const SIMULATOR_APP_SECRET: &str = "finepay-simulator-app-secret";

/// Every key and certificate in `config/simulator/`, by file name.
const SIMULATOR_FIXTURES: &[(&str, &str)] = &[
    ("alipay_app.key.pem", include_str!("../../../config/simulator/alipay_app.key.pem")),
    ("alipay_app.pub.pem", include_str!("../../../config/simulator/alipay_app.pub.pem")),
    ("alipay_platform.key.pem", include_str!("../../../config/simulator/alipay_platform.key.pem")),
    ("alipay_platform.pub.pem", include_str!("../../../config/simulator/alipay_platform.pub.pem")),
    ("unionpay_merchant.cert.pem", include_str!("../../../config/simulator/unionpay_merchant.cert.pem")),
    ("unionpay_merchant.key.pem", include_str!("../../../config/simulator/unionpay_merchant.key.pem")),
    ("unionpay_middle.cert.pem", include_str!("../../../config/simulator/unionpay_middle.cert.pem")),
    ("unionpay_other_cn.cert.pem", include_str!("../../../config/simulator/unionpay_other_cn.cert.pem")),
    ("unionpay_other_cn.key.pem", include_str!("../../../config/simulator/unionpay_other_cn.key.pem")),
    ("unionpay_test_cn.cert.pem", include_str!("../../../config/simulator/unionpay_test_cn.cert.pem")),
    ("unionpay_test_cn.key.pem", include_str!("../../../config/simulator/unionpay_test_cn.key.pem")),
    ("unionpay_middle.key.pem", include_str!("../../../config/simulator/unionpay_middle.key.pem")),
    ("unionpay_root.cert.pem", include_str!("../../../config/simulator/unionpay_root.cert.pem")),
    ("unionpay_root.key.pem", include_str!("../../../config/simulator/unionpay_root.key.pem")),
    ("unionpay_sign.cert.pem", include_str!("../../../config/simulator/unionpay_sign.cert.pem")),
    ("unionpay_sign.key.pem", include_str!("../../../config/simulator/unionpay_sign.key.pem")),
    ("wechat_merchant.cert.pem", include_str!("../../../config/simulator/wechat_merchant.cert.pem")),
    ("wechat_merchant.key.pem", include_str!("../../../config/simulator/wechat_merchant.key.pem")),
    ("wechat_platform.cert.pem", include_str!("../../../config/simulator/wechat_platform.cert.pem")),
    ("wechat_platform.key.pem", include_str!("../../../config/simulator/wechat_platform.key.pem")),
    ("wechat_pubkey.key.pem", include_str!("../../../config/simulator/wechat_pubkey.key.pem")),
];

/// Whether `pem` holds (or is) one of the simulator's public test keys or certificates.
pub fn is_simulator_fixture(pem: &str) -> bool {
    let blocks = |text: &str| -> Vec<String> {
        text.split("-----END")
            .filter_map(|part| part.split_once("-----BEGIN").map(|(_, body)| body.split_whitespace().collect()))
            .collect()
    };
    let given = blocks(pem);
    SIMULATOR_FIXTURES.iter().flat_map(|(_, fixture)| blocks(fixture)).any(|block| given.contains(&block))
}

/// The simulator's file `name` (`wechat_platform.key.pem`), as shipped in `config/simulator/`.
pub(super) fn builtin(name: &str) -> Option<&'static str> {
    SIMULATOR_FIXTURES.iter().find(|(file, _)| *file == name).map(|(_, text)| *text)
}
