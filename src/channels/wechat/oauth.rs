//! WeChat's web OAuth, `snsapi_base`: how a page opened inside WeChat learns the payer's `openid`
//! under the official account, which JSAPI prepay needs. The browser goes to the authorize page
//! and comes back with a single-use `code` (five minutes); the server exchanges it, with the
//! official account's secret, for the `openid`. The code exchange is a plain HTTPS GET answered
//! in JSON (`errcode` on failure) — unsigned, unlike WeChat Pay's API.

use crate::channels::ChannelError;
use crate::domain::Secret;
use crate::errors::Why;
use serde::Deserialize;
use std::time::Duration;

pub struct WechatOauth {
    appid: String,
    secret: Secret,
    authorize_url: String,
    token_url: String,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
    /// 1 for a "snapshot page" virtual account, which cannot pay.
    #[serde(default)]
    is_snapshotuser: Option<i64>,
}

impl WechatOauth {
    pub fn new(
        appid: String,
        secret: Secret,
        authorize_url: String,
        token_url: String,
        timeout: Duration,
    ) -> Result<Self, ChannelError> {
        Ok(WechatOauth { appid, secret, authorize_url, token_url, http: crate::channels::http_client(timeout)? })
    }

    /// Where to send the browser: WeChat's authorize page, returning to `redirect_uri` with a
    /// code and `state`. WeChat matches the link strictly, so the parameters keep this order and
    /// the `#wechat_redirect` it requires.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let redirect: String = form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect();
        format!(
            "{}?appid={}&redirect_uri={redirect}&response_type=code&scope=snsapi_base&state={state}#wechat_redirect",
            self.authorize_url, self.appid
        )
    }

    /// The payer's `openid` for a code WeChat returned. A code is good once and for five
    /// minutes: a refused one (`40029` invalid, `40163` used) is `Refused` with that errcode.
    pub async fn openid(&self, code: &str) -> Result<String, ChannelError> {
        let secret = String::from_utf8_lossy(self.secret.expose()).into_owned();
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("appid", &self.appid)
            .append_pair("secret", &secret)
            .append_pair("code", code)
            .append_pair("grant_type", "authorization_code")
            .finish();
        let response = self.http.get(format!("{}?{query}", self.token_url)).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| ChannelError::Malformed(Why::of(e)))?;
        match (answer.errcode.filter(|code| *code != 0), answer.openid) {
            (Some(errcode), _) => Err(ChannelError::Refused {
                status,
                code: errcode.to_string(),
                message: answer.errmsg.unwrap_or_default(),
            }),
            (None, Some(_)) if answer.is_snapshotuser == Some(1) => Err(ChannelError::Refused {
                status,
                code: "SNAPSHOT_USER".into(),
                message: "a snapshot page's virtual account cannot pay; open the page in full".into(),
            }),
            (None, Some(openid)) if !openid.is_empty() => Ok(openid),
            _ => Err(ChannelError::Malformed("the code exchange answered no openid".into())),
        }
    }
}

/// A failed exchange, without its URL: the URL carries the AppSecret, and errors are logged.
fn transport(e: reqwest::Error) -> ChannelError {
    ChannelError::Transport(Why::of(e.without_url()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn a_failed_exchange_never_names_the_secret() {
        // Nothing listens on port 9 (discard): the connection is refused.
        let oauth = WechatOauth::new(
            "wx0000000000000000".into(),
            Secret::new(b"the-official-accounts-secret".to_vec()),
            "http://127.0.0.1:9/connect/oauth2/authorize".into(),
            "http://127.0.0.1:9/sns/oauth2/access_token".into(),
            Duration::from_secs(2),
        )
        .expect("client");
        let failed = oauth.openid("a-code").await.expect_err("nothing answers");
        let told = format!("{failed} {failed:?} {}", crate::errors::chain(&failed));
        assert!(matches!(failed, ChannelError::Transport(_)), "{told}");
        assert!(!told.contains("the-official-accounts-secret") && !told.contains("secret="), "{told}");
        // The authorize link the browser follows names no secret either.
        assert!(!oauth.authorize_url("https://pay.example/p/T/wechat-oauth", "s").contains("secret"));
    }
}
