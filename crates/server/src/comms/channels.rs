//! The channels that leave Greenlight: email over SMTP (lettre) and chat incoming webhooks
//! (Slack's or Teams' JSON). Secrets (the SMTP password, webhook URLs, which carry their token)
//! are read once at start from the environment or a file; they are never stored, logged, or
//! shown in an error (errors name the channel, never its URL).

use std::time::Duration;

use greenlight_core::comms::{
    AudienceName, ChatShape, ChatWebhook, CommunicationsPolicy, EmailChannel, SmtpSecurity,
};
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

/// How long one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a channel could not be set up at start.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// A secret named by the policy is missing.
    #[error("communications: {0}")]
    Secret(String),
    /// The SMTP settings are unusable.
    #[error("communications.email: {0}")]
    Smtp(String),
}

/// A rendered message ready for a channel.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text (Markdown) body.
    pub body: &'a str,
    /// Unique per message: the email's `Message-ID`, so receivers can drop a repeat.
    pub message_key: &'a str,
    /// A previous attempt may have been delivered before it could be recorded.
    pub possible_duplicate: bool,
}

/// Every configured outbound channel, with its secrets resolved.
#[derive(Default)]
pub struct Channels {
    email: Option<Email>,
    chat: Vec<Chat>,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let chat: Vec<&str> = self.chat.iter().map(|c| c.name.as_str()).collect();
        write!(
            f,
            "Channels(email: {}, chat: {chat:?})",
            self.email.is_some()
        )
    }
}

struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

struct Chat {
    name: String,
    shape: ChatShape,
    url: String,
    audiences: Vec<AudienceName>,
}

impl Channels {
    /// Sets up the policy's channels, reading their secrets.
    pub fn from_policy(policy: &CommunicationsPolicy) -> Result<Channels, ChannelError> {
        let email = if policy.email.host.is_empty() {
            None
        } else {
            Some(email(&policy.email)?)
        };
        let chat = policy.chat.iter().map(chat).collect::<Result<_, _>>()?;
        Ok(Channels { email, chat })
    }

    /// Sends `message` by email to `to`.
    pub async fn send_email(&self, to: &[String], message: &Outgoing<'_>) -> Result<(), String> {
        let email = self.email.as_ref().ok_or("email is not configured")?;
        let mut builder = Message::builder()
            .from(email.from.clone())
            .subject(message.subject)
            .message_id(Some(format!(
                "<{}@greenlight>",
                message.message_key.replace(':', ".")
            )));
        for address in to {
            let mailbox: Mailbox = address
                .parse()
                .map_err(|e| format!("recipient `{address}`: {e}"))?;
            builder = builder.bcc(mailbox);
        }
        if message.possible_duplicate {
            builder = builder.header(PossibleDuplicate);
        }
        let html = format!(
            "<!doctype html><html><body><pre style=\"font-family:sans-serif;white-space:pre-wrap\">{}</pre></body></html>",
            minijinja::HtmlEscape(message.body)
        );
        let mail = builder
            .multipart(MultiPart::alternative_plain_html(
                message.body.to_string(),
                html,
            ))
            .map_err(|e| format!("building the email: {e}"))?;
        match tokio::time::timeout(SEND_TIMEOUT, email.transport.send(mail)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("smtp: {e}")),
            Err(_) => Err(format!("smtp: no answer within {SEND_TIMEOUT:?}")),
        }
    }

    /// Posts `message` to every chat webhook serving `audience`.
    pub async fn send_chat(
        &self,
        http: &reqwest::Client,
        audience: AudienceName,
        message: &Outgoing<'_>,
    ) -> Result<(), String> {
        let hooks: Vec<&Chat> = self
            .chat
            .iter()
            .filter(|c| c.audiences.contains(&audience))
            .collect();
        if hooks.is_empty() {
            return Err("no chat webhook serves this audience".into());
        }
        for hook in hooks {
            let body = chat_body(hook.shape, message);
            let response = http
                .post(&hook.url)
                .timeout(SEND_TIMEOUT)
                .json(&body)
                .send()
                .await
                .map_err(|e| format!("chat webhook `{}`: {}", hook.name, e.without_url()))?;
            if !response.status().is_success() {
                return Err(format!(
                    "chat webhook `{}` answered {}",
                    hook.name,
                    response.status()
                ));
            }
        }
        Ok(())
    }
}

/// `X-Greenlight-Possible-Duplicate: yes`: an earlier attempt's outcome is unknown.
#[derive(Clone)]
struct PossibleDuplicate;

impl header::Header for PossibleDuplicate {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("X-Greenlight-Possible-Duplicate")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(PossibleDuplicate)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "yes".into())
    }
}

/// The webhook JSON: Slack's `text` (with a plain fallback), or a Teams MessageCard.
fn chat_body(shape: ChatShape, message: &Outgoing<'_>) -> serde_json::Value {
    let duplicate = if message.possible_duplicate {
        " (possible duplicate)"
    } else {
        ""
    };
    match shape {
        ChatShape::Slack => json!({
            "text": format!("*{}*{duplicate}\n{}", message.subject, message.body),
        }),
        ChatShape::Teams => json!({
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": message.subject,
            "title": format!("{}{duplicate}", message.subject),
            "text": message.body,
        }),
    }
}

fn email(policy: &EmailChannel) -> Result<Email, ChannelError> {
    let from: Mailbox = policy
        .from
        .parse()
        .map_err(|e| ChannelError::Smtp(format!("from `{}`: {e}", policy.from)))?;
    let builder = match policy.security {
        SmtpSecurity::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&policy.host)
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&policy.host),
        SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &policy.host,
        )),
    }
    .map_err(|e| ChannelError::Smtp(format!("host `{}`: {e}", policy.host)))?;
    let mut builder = builder.port(policy.port).timeout(Some(SEND_TIMEOUT));
    if !policy.username.is_empty() {
        let password = secret(
            &policy.password_env,
            &policy.password_file,
            "email password",
        )?;
        builder = builder.credentials(Credentials::new(policy.username.clone(), password));
    }
    Ok(Email {
        transport: builder.build(),
        from,
    })
}

fn chat(hook: &ChatWebhook) -> Result<Chat, ChannelError> {
    let url = if hook.url.is_empty() {
        secret(
            &hook.url_env,
            &hook.url_file,
            &format!("chat webhook `{}` URL", hook.name),
        )?
    } else {
        hook.url.clone()
    };
    Ok(Chat {
        name: hook.name.clone(),
        shape: hook.shape,
        url,
        audiences: hook.audiences.clone(),
    })
}

/// A secret from the environment variable `env` or the first line of `file`.
fn secret(env: &str, file: &str, what: &str) -> Result<String, ChannelError> {
    if !env.is_empty() {
        return std::env::var(env)
            .map(|v| v.trim().to_string())
            .map_err(|_| {
                ChannelError::Secret(format!("{what}: environment variable {env} is not set"))
            });
    }
    if !file.is_empty() {
        let text = std::fs::read_to_string(file)
            .map_err(|e| ChannelError::Secret(format!("{what}: cannot read {file}: {e}")))?;
        return Ok(text.lines().next().unwrap_or_default().trim().to_string());
    }
    Err(ChannelError::Secret(format!(
        "{what}: set password_env/url_env or password_file/url_file"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(possible_duplicate: bool) -> Outgoing<'static> {
        Outgoing {
            subject: "Rolled back: MLC 1.4.0",
            body: "Why: high_error_rate",
            message_key: "comms:x",
            possible_duplicate,
        }
    }

    #[test]
    fn slack_and_teams_shapes() {
        let slack = chat_body(ChatShape::Slack, &message(false));
        assert_eq!(
            slack,
            json!({"text": "*Rolled back: MLC 1.4.0*\nWhy: high_error_rate"})
        );
        let teams = chat_body(ChatShape::Teams, &message(true));
        assert_eq!(teams["@type"], "MessageCard");
        assert_eq!(
            teams["title"],
            "Rolled back: MLC 1.4.0 (possible duplicate)"
        );
        assert_eq!(teams["text"], "Why: high_error_rate");
    }

    #[test]
    fn a_missing_secret_names_the_variable_not_a_value() {
        let hook = ChatWebhook {
            name: "eng".into(),
            shape: ChatShape::Teams,
            url_env: "GREENLIGHT_TEST_UNSET_WEBHOOK".into(),
            url_file: String::new(),
            url: String::new(),
            audiences: vec![AudienceName::Internal],
        };
        let Err(err) = chat(&hook) else {
            panic!("a missing secret is an error")
        };
        assert_eq!(
            err.to_string(),
            "communications: chat webhook `eng` URL: environment variable GREENLIGHT_TEST_UNSET_WEBHOOK is not set"
        );
    }
}
