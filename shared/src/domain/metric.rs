//! What the service counts for its operators: one `Metric` per event, each
//! with low-cardinality dimensions only (a number's region, a limit's name,
//! a login's kind). Never a phone, a user id, an IP or a secret.

use crate::domain::phone::Region;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A code went out by SMS.
    CodeSent { region: Option<Region> },
    /// A listed test number was given its code; no SMS.
    TestNumberSent,
    /// SNS refused or failed an SMS; the send was taken back.
    SmsFailed { region: Option<Region> },
    /// A right code logged a phone in (by kind, and by the number's region
    /// for conversion: logins per send).
    LoggedIn {
        created: bool,
        region: Option<Region>,
    },
    /// A wrong code, counted against the live one.
    WrongCode,
    /// A request refused by a limit.
    LimitHit(Limit),
    /// A retired or revoked refresh token was presented: its session is
    /// revoked. A burst of these is a stolen token being tried.
    RefreshReuse,
    /// An account was deleted by its owner.
    AccountDeleted,
    /// A send to a number whose prefix or region looks pumped (sends that
    /// no login follows): it needed a solved challenge.
    SuspectedPumping { region: Option<Region> },
    /// SNS's delivery log told what became of an SMS: delivered to the
    /// phone or not, and its price.
    SmsDelivery {
        region: Option<Region>,
        delivered: bool,
        price_micro_usd: u64,
    },
}

/// The limits a request can run into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The phone's resend cooldown (`RESEND_COOLDOWN_SECONDS`).
    ResendCooldown,
    /// The phone's sends per hour (`PHONE_MAX_SENDS_PER_HOUR`).
    PhoneHour,
    /// The source's sends in a rolling hour past which a challenge is
    /// asked (`IP_MAX_SENDS_PER_HOUR`).
    IpHour,
    /// ... and past which nothing is sent (`IP_HARD_MAX_SENDS_PER_HOUR`).
    IpHardHour,
    /// A send to a suspect prefix or region was asked for a challenge.
    Pumping,
    /// The service's SMS per UTC day (`SMS_DAILY_BUDGET`).
    DailyBudget,
    /// A region's SMS per UTC day (`SMS_COUNTRY_DAILY_BUDGET`).
    RegionDailyBudget,
    /// A code burned by wrong tries (`MAX_CODE_ATTEMPTS`).
    CodeAttempts,
    /// A source's wrong codes in a rolling hour
    /// (`IP_MAX_FAILED_CODES_PER_HOUR`).
    SourceFailedCodes,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::ResendCooldown => "resend_cooldown",
            Limit::PhoneHour => "phone_hour",
            Limit::IpHour => "ip_hour",
            Limit::IpHardHour => "ip_hard_hour",
            Limit::Pumping => "pumping",
            Limit::DailyBudget => "daily_budget",
            Limit::RegionDailyBudget => "region_daily_budget",
            Limit::CodeAttempts => "code_attempts",
            Limit::SourceFailedCodes => "source_failed_codes",
        }
    }
}

/// Where a number's region is unknown, its dimension says so.
pub const UNKNOWN_REGION: &str = "unknown";

impl Metric {
    /// The metric's name in CloudWatch (the first of its values).
    pub fn name(self) -> &'static str {
        match self {
            Metric::CodeSent { .. } => "CodesSent",
            Metric::TestNumberSent => "TestNumberSends",
            Metric::SmsFailed { .. } => "SmsFailures",
            Metric::LoggedIn { .. } => "Logins",
            Metric::WrongCode => "WrongCodes",
            Metric::LimitHit(_) => "LimitsHit",
            Metric::RefreshReuse => "RefreshReuse",
            Metric::AccountDeleted => "AccountDeletions",
            Metric::SuspectedPumping { .. } => "SuspectedPumping",
            Metric::SmsDelivery { .. } => "SmsDelivered",
        }
    }

    /// What the event adds to each metric it writes: (name, value, unit).
    /// A delivery writes 1 to one of `SmsDelivered` and `SmsFailed` and 0
    /// to the other, so that their average is the delivery rate.
    pub fn values(self) -> Vec<(&'static str, f64, &'static str)> {
        match self {
            Metric::SmsDelivery {
                delivered,
                price_micro_usd,
                ..
            } => vec![
                ("SmsDelivered", f64::from(u8::from(delivered)), "Count"),
                ("SmsFailed", f64::from(u8::from(!delivered)), "Count"),
                ("SmsPriceUSD", price_micro_usd as f64 / 1e6, "None"),
            ],
            other => vec![(other.name(), 1.0, "Count")],
        }
    }

    /// Its dimensions, each published with the stack's: (name, value).
    pub fn dimensions(&self) -> Vec<(&'static str, &str)> {
        fn by_region(region: &Option<Region>) -> (&'static str, &str) {
            let value = region.as_ref().map_or(UNKNOWN_REGION, |r| r.as_ref());
            ("Region", value)
        }
        match self {
            Metric::CodeSent { region }
            | Metric::SmsFailed { region }
            | Metric::SuspectedPumping { region }
            | Metric::SmsDelivery { region, .. } => vec![by_region(region)],
            Metric::LoggedIn { created, region } => vec![
                ("Kind", if *created { "new" } else { "returning" }),
                by_region(region),
            ],
            Metric::LimitHit(limit) => vec![("Limit", limit.name())],
            Metric::TestNumberSent
            | Metric::WrongCode
            | Metric::RefreshReuse
            | Metric::AccountDeleted => Vec::new(),
        }
    }
}

/// Every metric name the service writes, for the dashboard and the tests.
pub const NAMES: [&str; 12] = [
    "CodesSent",
    "TestNumberSends",
    "SmsFailures",
    "Logins",
    "WrongCodes",
    "LimitsHit",
    "RefreshReuse",
    "AccountDeletions",
    "SuspectedPumping",
    "SmsDelivered",
    "SmsFailed",
    "SmsPriceUSD",
];
