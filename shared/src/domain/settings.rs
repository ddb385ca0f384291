//! What the rules need to know, one struct a concern. `config` reads these
//! from the environment; the domain never sees the environment, nor the
//! settings only an adapter uses (table names, SNS attributes).

use phonenumber::country::Id as Region;

use crate::domain::sms::SmsText;
use crate::domain::test_phones::TestPhones;
use crate::domain::time::Timestamp;
use crate::domain::token::TokenKeys;

/// Everything the service's rules read.
#[derive(Clone, Debug)]
pub struct Rules {
    pub phones: PhoneRules,
    pub codes: CodeRules,
    pub limits: SendLimits,
    pub challenges: ChallengeRules,
    pub fraud: FraudRules,
    pub sessions: SessionRules,
    pub sms_text: SmsText,
    /// The channels a send may ask for: `sms` first, then the webhook
    /// provider's.
    pub channels: Vec<String>,
    /// Numbers for app-store review, with their fixed codes.
    pub test_phones: TestPhones,
    pub secrets: Secrets,
}

/// Which numbers are read how, and which may log in.
#[derive(Clone, Debug, Default)]
pub struct PhoneRules {
    /// Where a number without `+` is read; none refuses it.
    pub default_region: Option<Region>,
    /// Empty means every region.
    pub allowed_regions: Vec<Region>,
}

/// The one-time codes.
#[derive(Clone, Debug)]
pub struct CodeRules {
    pub length: usize,
    pub ttl_secs: u64,
    /// Wrong tries per allowance: the holder's and the strangers'.
    pub max_attempts: u32,
    /// Tries without the send's `verification_id` are refused
    /// (deployments whose clients all send it).
    pub require_verification_id: bool,
    /// Wrong codes from one source in a rolling hour, across all phones.
    pub ip_max_failed_codes_per_hour: u32,
}

/// What caps sends, per phone, per source and for the whole service.
#[derive(Clone, Debug)]
pub struct SendLimits {
    pub resend_cooldown_secs: u64,
    pub phone_max_sends_per_hour: u32,
    /// Sends per source in a rolling hour past which a send needs a
    /// solved challenge.
    pub ip_max_sends_per_hour: u32,
    /// ... and past which it is refused, solved or not.
    pub ip_hard_max_sends_per_hour: u32,
    /// 0 means no budget.
    pub sms_daily_budget: u32,
    /// SMS per region per UTC day, for the regions that have a cap.
    pub country_daily_budgets: Vec<(Region, u32)>,
}

/// When a send must carry a solved challenge, and how hard one is.
#[derive(Clone, Debug)]
pub struct ChallengeRules {
    pub mode: ChallengeMode,
    pub provider: CaptchaProvider,
    /// ALTCHA's `maxnumber`: the work, about a second on a phone at 100000.
    pub max_number: u64,
    pub ttl_secs: u64,
}

/// Who sets and checks the challenge: `CAPTCHA_PROVIDER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaptchaProvider {
    /// Our own ALTCHA proof of work: no third party.
    Altcha,
    /// Cloudflare Turnstile: the client solves the site's widget, the
    /// service asks siteverify.
    Turnstile { site_key: String },
}

/// `CHALLENGE_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeMode {
    /// Only when a limit asks for one.
    WhenRisky,
    /// Every send.
    Always,
    /// Never: those sends are refused instead.
    Off,
}

/// Pumping caught by its shape: sends that no login follows.
#[derive(Clone, Debug)]
pub struct FraudRules {
    /// Sends a prefix or region must have had in the rolling hour before
    /// its conversion is judged.
    pub min_sends: u32,
    /// Logins per send below which sends there need a challenge.
    pub min_conversion: f64,
    /// Digits taken off the end of a number to make its prefix.
    pub prefix_hidden_digits: usize,
}

/// Token lifetimes and the refresh grace.
#[derive(Clone, Debug)]
pub struct SessionRules {
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// How long the token a refresh retired still answers the session's
    /// current one (0: never).
    pub refresh_reuse_grace_secs: u64,
}

#[derive(Clone)]
pub struct Secrets {
    /// The token keys, issuer and audience (their Debug shows no key).
    pub jwt: TokenKeys,
    pub code_hash_secret: Vec<u8>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("jwt", &self.jwt)
            .finish_non_exhaustive()
    }
}

impl Rules {
    /// What is allowed but worth a line in the log at start-up.
    pub fn warnings(&self, now: Timestamp) -> Vec<String> {
        let minutes = self.codes.ttl_secs.div_ceil(60);
        let mut warnings = self.sms_text.fit_warnings(self.codes.length, minutes);
        if let Some(lapsed) = self.test_phones.lapsed_at(now) {
            warnings.push(format!(
                "TEST_PHONE_CODES lapsed at {}: the listed numbers are ordinary numbers again",
                lapsed.rfc3339()
            ));
        }
        warnings
    }
}
