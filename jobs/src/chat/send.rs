//! Sending to the platforms: each one's request, signature and answer. A platform answers HTTP 200 with its own
//! code; the codes that mean "later" (busy, the robot's 20 messages a minute) are transient and retried, an expired
//! access token is fetched again once within the attempt, every other code is permanent and recorded with the
//! platform's message.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use entity::{channel, enums::ChannelKind};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use ring::hmac;
use serde_json::{Value, json};

use super::render::Part;

/// How a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth another try later: the network, a busy platform, a rate limit.
    Transient(String),
    /// Will not work until an admin changes something: a bad key or secret, a refused message.
    Permanent(String),
    /// The platform's limit on messages a minute was reached: try again when the minute has passed.
    RateLimited(String),
}

/// A channel's credentials: its row, its opened address and secret.
pub struct Target<'a> {
    /// The channel.
    pub channel: &'a channel::Model,
    /// Its webhook address or API base, opened.
    pub endpoint: String,
    /// Its signing or application secret, opened.
    pub secret: Option<String>,
}

/// The platforms' codes of a rate limit: 企业微信 45009 (over the limit), 钉钉 130101 (sending too fast), 飞书 11232
/// (frequency limited).
const LIMITED: [i64; 3] = [45009, 130101, 11232];

/// The platforms' codes of a busy moment (企业微信 and 钉钉 -1).
const LATER: [i64; 1] = [-1];

/// The codes of an invalid or expired access token (企业微信 and 钉钉): fetch a new one.
const TOKEN: [i64; 3] = [40014, 42001, 88];

fn platform(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::WecomRobot | ChannelKind::WecomApp => "企业微信",
        ChannelKind::DingtalkRobot | ChannelKind::DingtalkApp => "钉钉",
        ChannelKind::FeishuRobot => "飞书",
    }
}

/// Sends messages, keeping the applications' access tokens until shortly before they expire.
pub struct Sender {
    http: reqwest::Client,
    tokens: tokio::sync::Mutex<HashMap<String, (String, Instant)>>,
}

impl Sender {
    /// A sender whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<Sender> {
        Ok(Sender {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Sends one message to a channel; `to` are the chat user ids of an application's message.
    pub async fn send(&self, t: &Target<'_>, to: &[String], part: &Part) -> Result<(), Failure> {
        let ch = t.channel;
        match ch.kind {
            ChannelKind::WecomRobot => {
                let body = json!({"msgtype": "markdown", "markdown": {"content": part.markdown}});
                self.post(ch.kind, &t.endpoint, &body).await
            }
            ChannelKind::DingtalkRobot => {
                let url = match &t.secret {
                    Some(secret) => {
                        let ms = chrono::Utc::now().timestamp_millis();
                        let sign = sign(secret.as_bytes(), format!("{ms}\n{secret}").as_bytes());
                        let sep = if t.endpoint.contains('?') { '&' } else { '?' };
                        let sign = utf8_percent_encode(&sign, NON_ALPHANUMERIC);
                        format!("{}{sep}timestamp={ms}&sign={sign}", t.endpoint)
                    }
                    None => t.endpoint.clone(),
                };
                let body = json!({"msgtype": "markdown", "markdown": {"title": part.title, "text": part.markdown}});
                self.post(ch.kind, &url, &body).await
            }
            ChannelKind::FeishuRobot => {
                let mut body = json!({
                    "msg_type": "interactive",
                    "card": {
                        "header": {"title": {"tag": "plain_text", "content": part.title}, "template": "blue"},
                        "elements": [{"tag": "markdown", "content": part.markdown}],
                    },
                });
                if let Some(secret) = &t.secret {
                    let ts = chrono::Utc::now().timestamp();
                    // 飞书 signs nothing with the timestamp and secret as the key.
                    body["timestamp"] = json!(ts.to_string());
                    body["sign"] = json!(sign(format!("{ts}\n{secret}").as_bytes(), b""));
                }
                self.post(ch.kind, &t.endpoint, &body).await
            }
            ChannelKind::WecomApp | ChannelKind::DingtalkApp => self.to_people(t, to, part).await,
        }
    }

    /// An application's message to people, with a fresh token if the cached one was refused.
    async fn to_people(&self, t: &Target<'_>, to: &[String], part: &Part) -> Result<(), Failure> {
        let ch = t.channel;
        let base = t.endpoint.trim_end_matches('/');
        let agent: i64 = ch
            .agent_id
            .as_deref()
            .and_then(|a| a.trim().parse().ok())
            .ok_or_else(|| Failure::Permanent("应用的 AgentId 不是数字".into()))?;
        let (path, body) = match ch.kind {
            ChannelKind::WecomApp => (
                "/cgi-bin/message/send",
                // The platform drops the same message to the same people within the interval: a message sent
                // again after a crash between the request and its record reaches nobody twice.
                json!({
                    "touser": to.join("|"), "msgtype": "markdown", "agentid": agent,
                    "markdown": {"content": part.markdown},
                    "enable_duplicate_check": 1, "duplicate_check_interval": 14400,
                }),
            ),
            _ => (
                "/topapi/message/corpconversation/asyncsend_v2",
                json!({
                    "agent_id": agent, "userid_list": to.join(","),
                    "msg": {"msgtype": "markdown", "markdown": {"title": part.title, "text": part.markdown}},
                }),
            ),
        };
        for fresh in [false, true] {
            let token = self.token(t, fresh).await?;
            let url = format!("{base}{path}?access_token={token}");
            match self.post(ch.kind, &url, &body).await {
                Err(Failure::Permanent(m)) if !fresh && m.starts_with(TOKEN_MARK) => continue,
                other => return other,
            }
        }
        Err(Failure::Permanent("访问令牌刚取得即被拒绝".into()))
    }

    /// The application's access token: the cached one unless `fresh` or about to expire.
    async fn token(&self, t: &Target<'_>, fresh: bool) -> Result<String, Failure> {
        let ch = t.channel;
        // By where and whose: a changed address, corp id or secret is a new token.
        let key = format!(
            "{}\n{}\n{}",
            t.endpoint,
            ch.corp_id.as_deref().unwrap_or_default(),
            t.secret.as_deref().unwrap_or_default()
        );
        let mut tokens = self.tokens.lock().await;
        if let Some((token, until)) = tokens.get(&key)
            && !fresh
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let corp = ch.corp_id.as_deref().unwrap_or_default();
        let secret = t.secret.as_deref().unwrap_or_default();
        let base = t.endpoint.trim_end_matches('/');
        let (path, query) = match ch.kind {
            ChannelKind::WecomApp => ("/cgi-bin/gettoken", [("corpid", corp), ("corpsecret", secret)]),
            _ => ("/gettoken", [("appkey", corp), ("appsecret", secret)]),
        };
        let answer = self.http.get(format!("{base}{path}")).query(&query).send().await;
        let v = answer_of(ch.kind, answer).await?;
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| Failure::Transient(format!("{}:取令牌的应答里没有 access_token", platform(ch.kind))))?
            .to_owned();
        // Renewed five minutes before the platform says it expires (7,200 s as they issue them).
        let life = v["expires_in"].as_u64().unwrap_or(7200).saturating_sub(300).max(1);
        tokens.insert(key, (token.clone(), Instant::now() + Duration::from_secs(life)));
        Ok(token)
    }

    async fn post(&self, kind: ChannelKind, url: &str, body: &Value) -> Result<(), Failure> {
        answer_of(kind, self.http.post(url).json(body).send().await)
            .await
            .map(|_| ())
    }
}

/// What starts the message of a refused token, so that the caller fetches a new one.
const TOKEN_MARK: &str = "令牌失效";

/// The platform's answer: its JSON on code 0, else the failure its code means.
async fn answer_of(kind: ChannelKind, answer: reqwest::Result<reqwest::Response>) -> Result<Value, Failure> {
    let name = platform(kind);
    let answer = answer.map_err(|e| Failure::Transient(format!("{name}:连接失败({})", e.without_url())))?;
    let status = answer.status();
    let text = answer
        .text()
        .await
        .map_err(|e| Failure::Transient(format!("{name}:应答未读完({})", e.without_url())))?;
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(Failure::RateLimited(format!("{name}:HTTP {status}")));
    }
    if status.is_server_error() {
        return Err(Failure::Transient(format!("{name}:HTTP {status}")));
    }
    let v: Value = serde_json::from_str(&text).map_err(|_| {
        Failure::Permanent(format!(
            "{name}:HTTP {status},应答不是 JSON:{}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let code = v["errcode"]
        .as_i64()
        .or(v["code"].as_i64())
        .or(v["StatusCode"].as_i64())
        .unwrap_or(0);
    let msg = v["errmsg"].as_str().or(v["msg"].as_str()).unwrap_or_default();
    match code {
        0 if status.is_success() => Ok(v),
        0 => Err(Failure::Permanent(format!("{name}:HTTP {status}"))),
        c if TOKEN.contains(&c) => Err(Failure::Permanent(format!("{TOKEN_MARK}:{name} {c}:{msg}"))),
        c if LIMITED.contains(&c) => Err(Failure::RateLimited(format!("{name} {c}:{msg}"))),
        c if LATER.contains(&c) => Err(Failure::Transient(format!("{name} {c}:{msg}"))),
        c => Err(Failure::Permanent(format!("{name} {c}:{msg}"))),
    }
}

/// Base64 of HMAC-SHA256 of `msg` with `key`.
fn sign(key: &[u8], msg: &[u8]) -> String {
    STANDARD.encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg).as_ref())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_platforms_signatures() {
        // Computed with Python's hmac as each platform's documentation does it.
        let (ts, secret) = ("1577262236757", "this is secret");
        let dingtalk = super::sign(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes());
        assert_eq!(dingtalk, "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=");
        let feishu = super::sign(format!("{ts}\n{secret}").as_bytes(), b"");
        assert_eq!(feishu, "nHh3Cp6duMZBlaspftrhkkDSIlJ0Lkj6vL71ujaX6pE=");
    }
}
