//! Workspaces and their keys: who may write events where, and who may read them back.
//!
//! For now the registry is configuration: the `WORKSPACES` variable (a JSON array, set in
//! `wrangler.toml` or as a secret) lists each workspace with its write keys and secret key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use tessera::identity::IdentitySettings;

/// How long an acknowledged batch waits to be applied, unless a workspace says otherwise.
pub const DEFAULT_APPLY_DELAY_MS: u64 = 100;
/// How often saved segments are re-evaluated for time alone, unless a workspace says otherwise.
pub const DEFAULT_REEVALUATE_SECONDS: u64 = 300;

/// One workspace (a Segment "source"): its id and keys.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Workspace {
    /// Stable id; names the workspace's Durable Object.
    pub id: String,
    /// Keys that may only send events.
    pub write_keys: Vec<String>,
    /// Key that may read stored data (`Authorization: Bearer <secret>`).
    pub secret_key: String,
    /// Identity settings (`identity.md`: `priorities`, `limits`); the contract's defaults when
    /// absent.
    #[serde(default)]
    pub identity: Option<Value>,
    /// Seconds between the re-evaluations of saved segments that catch time-window expiry.
    #[serde(default)]
    pub reevaluate_seconds: Option<u64>,
    /// Milliseconds an acknowledged batch waits before the alarm applies it with the others
    /// queued by then (`docs/scaling.md`).
    #[serde(default)]
    pub apply_delay_ms: Option<u64>,
}

impl Workspace {
    /// The workspace's identity settings.
    pub fn identity_settings(&self) -> Result<IdentitySettings, String> {
        match &self.identity {
            None => Ok(IdentitySettings::default()),
            Some(v) => IdentitySettings::from_value(v)
                .map_err(|e| format!("WORKSPACES: workspace {:?} identity: {e}", self.id)),
        }
    }

    /// Seconds between time-driven re-evaluations (at least 1).
    pub fn reevaluate_seconds(&self) -> u64 {
        self.reevaluate_seconds
            .unwrap_or(DEFAULT_REEVALUATE_SECONDS)
            .max(1)
    }

    /// Milliseconds between acknowledging a batch and the alarm that applies it (at most a
    /// minute: reads apply the queue anyway, the alarm only bounds how stale memberships get).
    pub fn apply_delay_ms(&self) -> u64 {
        self.apply_delay_ms
            .unwrap_or(DEFAULT_APPLY_DELAY_MS)
            .min(60_000)
    }
}

/// Every configured workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Registry {
    workspaces: Vec<Workspace>,
}

impl Registry {
    /// Reads the `WORKSPACES` JSON array. Empty keys are refused so that an empty credential
    /// can never match.
    pub fn from_json(text: &str) -> Result<Registry, String> {
        let workspaces: Vec<Workspace> =
            serde_json::from_str(text).map_err(|e| format!("WORKSPACES is not valid: {e}"))?;
        for w in &workspaces {
            if w.id.is_empty()
                || w.secret_key.is_empty()
                || w.write_keys.iter().any(String::is_empty)
            {
                return Err(format!(
                    "WORKSPACES: workspace {:?} has an empty id or key",
                    w.id
                ));
            }
            w.identity_settings()?;
        }
        Ok(Registry { workspaces })
    }

    /// The workspace a write key belongs to.
    pub fn by_write_key(&self, key: &str) -> Option<&Workspace> {
        self.workspaces
            .iter()
            .find(|w| w.write_keys.iter().any(|k| k == key))
    }

    /// The workspace with this id.
    pub fn by_id(&self, id: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.id == id)
    }

    /// The workspace a secret key belongs to.
    pub fn by_secret_key(&self, key: &str) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.secret_key == key)
    }
}

/// The write key of an `Authorization: Basic ...` header: `base64("KEY:")`, or `base64("KEY")`
/// as some SDKs send it. `None` when the header is not Basic or does not decode.
pub fn write_key_from_basic(authorization: &str) -> Option<String> {
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    // The write key is the user name; whatever follows the colon (the password) is ignored.
    let key = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    (!key.is_empty()).then(|| key.to_owned())
}

/// The token of an `Authorization: Bearer <secret>` header.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"[{"id":"demo","write_keys":["wk_a","wk_b"],"secret_key":"sk_demo"},
        {"id":"other","write_keys":["wk_c"],"secret_key":"sk_other"}]"#;

    #[test]
    fn write_keys_and_secret_keys_find_their_workspace() {
        let registry = Registry::from_json(CONFIG).expect("valid config");
        assert_eq!(
            registry.by_write_key("wk_b").map(|w| w.id.as_str()),
            Some("demo")
        );
        assert_eq!(
            registry.by_write_key("wk_c").map(|w| w.id.as_str()),
            Some("other")
        );
        assert_eq!(
            registry.by_write_key("sk_demo"),
            None,
            "a secret key does not write"
        );
        assert_eq!(
            registry.by_secret_key("wk_a"),
            None,
            "a write key does not read"
        );
        assert_eq!(
            registry.by_secret_key("sk_other").map(|w| w.id.as_str()),
            Some("other")
        );
    }

    #[test]
    fn identity_settings_come_from_the_workspace() {
        let registry = Registry::from_json(
            r#"[{"id":"x","write_keys":["w"],"secret_key":"s",
                "identity":{"limits":{"email":2}},"reevaluate_seconds":0}]"#,
        )
        .expect("valid");
        let w = registry.by_id("x").expect("x");
        assert_eq!(w.identity_settings().expect("settings").limit("email"), 2);
        assert_eq!(w.reevaluate_seconds(), 1);
        let bad =
            r#"[{"id":"x","write_keys":["w"],"secret_key":"s","identity":{"limits":{"email":0}}}]"#;
        assert!(Registry::from_json(bad).is_err());
    }

    #[test]
    fn empty_keys_are_refused() {
        let err = Registry::from_json(r#"[{"id":"x","write_keys":[""],"secret_key":"s"}]"#);
        assert!(err.is_err());
        assert!(Registry::from_json("not json").is_err());
    }

    #[test]
    fn basic_auth_takes_the_user_name_with_or_without_colon() {
        let with_colon = format!("Basic {}", STANDARD.encode("wk_a:"));
        let without = format!("Basic {}", STANDARD.encode("wk_a"));
        let with_password = format!("basic {}", STANDARD.encode("wk_a:ignored"));
        for header in [with_colon, without, with_password] {
            assert_eq!(
                write_key_from_basic(&header).as_deref(),
                Some("wk_a"),
                "{header}"
            );
        }
        assert_eq!(write_key_from_basic("Bearer abc"), None);
        assert_eq!(write_key_from_basic("Basic !!!"), None);
        assert_eq!(
            write_key_from_basic(&format!("Basic {}", STANDARD.encode(":"))),
            None
        );
    }

    #[test]
    fn bearer_token_is_read() {
        assert_eq!(bearer_token("Bearer sk_demo"), Some("sk_demo"));
        assert_eq!(bearer_token("bearer  sk_demo "), Some("sk_demo"));
        assert_eq!(bearer_token("Basic sk_demo"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
