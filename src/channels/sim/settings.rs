//! What the simulator is configured with (`[simulator]`).

#[derive(Debug, Clone)]
pub struct SimulatorSettings {
    /// Whether `serve` starts the simulator beside the daemon.
    pub enabled: bool,
    /// A loopback address; port 0 picks a free port.
    pub listen: String,
    /// The simulator's own keys and certificates, read at start.
    pub keys: SimulatorKeys,
    /// Multiplies the channels' notification retry intervals (1.0 is the real schedule).
    pub retry_scale: f64,
}

/// The simulator's own keys and certificates (PEM text): the channels' side of each protocol.
#[derive(Debug, Clone)]
pub struct SimulatorKeys {
    pub wechat_platform_certificate: String,
    pub wechat_platform_key: String,
    pub alipay_platform_key: String,
    pub unionpay_signing_certificate: String,
    pub unionpay_signing_key: String,
}

impl SimulatorKeys {
    /// The files each key is read from, in the folder `simulator.keys` names.
    pub const FILES: [&'static str; 5] = [
        "wechat_platform.cert.pem",
        "wechat_platform.key.pem",
        "alipay_platform.key.pem",
        "unionpay_sign.cert.pem",
        "unionpay_sign.key.pem",
    ];

    /// The keys from their files' texts, in the order of [`SimulatorKeys::FILES`].
    pub fn from_files([wechat_cert, wechat_key, alipay_key, unionpay_cert, unionpay_key]: [String; 5]) -> Self {
        SimulatorKeys {
            wechat_platform_certificate: wechat_cert,
            wechat_platform_key: wechat_key,
            alipay_platform_key: alipay_key,
            unionpay_signing_certificate: unionpay_cert,
            unionpay_signing_key: unionpay_key,
        }
    }
}
