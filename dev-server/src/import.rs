//! `import-django`: the Django system's users, as its `manage.py dumpdata`
//! wrote them, into the tables. Three passes over the file, each streamed
//! (memory does not grow with the dump) with `concurrency` requests in
//! flight, and each safe to run again:
//!
//! 1. claims: every row stages its claim on its phone; a later login wins;
//! 2. users: a row whose claim won is written, id, phone, code and last
//!    login kept, with its phone and code claimed as a first login claims
//!    them;
//! 3. activations: each `inv` becomes the same referral in its owner's list
//!    and count, or, when the owner is not there, the code alone.
//!
//! Passwords are not read: the row type has no field for them.

use std::collections::HashMap;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use phone_auth::adapters::dynamodb::DynamoStore;
use phone_auth::adapters::dynamodb::import::{Imported, Staged};
use phone_auth::domain::invite::InviteCode;
use phone_auth::domain::phone::{Phone, Region};
use phone_auth::domain::time::Timestamp;
use phone_auth::domain::user::{User, UserId};
use phone_auth::ports::{Activation, InviteStore, UserStore};
use serde::Deserialize;
use serde::de::{SeqAccess, Visitor};

/// One row of the dump. `model` is not checked (a deployment's label may be
/// `accounts.user`); `password` is not a field, so it is skipped unread.
#[derive(Clone, Debug, Deserialize)]
pub struct Row {
    pub pk: u64,
    pub fields: Fields,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Fields {
    pub phone: String,
    pub invite: String,
    #[serde(default)]
    pub inv: String,
    #[serde(default)]
    pub parent_invite: Option<u64>,
    #[serde(default)]
    pub last_login: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub concurrency: usize,
    pub dry_run: bool,
    /// For numbers typed without `+` (`DEFAULT_REGION`).
    pub default_region: Option<Region>,
}

/// What a run did, for the closing summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows: usize,
    pub imported: usize,
    pub unchanged: usize,
    pub reported: usize,
    /// Activations written: with their owner, and owner-less.
    pub referrals: usize,
    pub orphans: usize,
    pub activations_unchanged: usize,
}

impl Summary {
    /// Counts one row of pass 2: written (true), already there (false), or
    /// reported, with why.
    fn tally(&mut self, outcome: Result<bool, String>, row: &Row, progress: &Progress) {
        match outcome {
            Ok(true) => self.imported += 1,
            Ok(false) => self.unchanged += 1,
            Err(why) => {
                progress.report(row, &why);
                self.reported += 1;
            }
        }
    }

    pub fn line(&self, dry_run: bool) -> String {
        if dry_run {
            return format!(
                "{} rows: would import {}, unchanged {}, reported {} (activations are not checked in a dry run); nothing was written",
                self.rows, self.imported, self.unchanged, self.reported
            );
        }
        let verb = "imported";
        let mut line = format!(
            "{} rows: {verb} {}, unchanged {}, reported {}; activations: {verb} {} with their owner and {} without, unchanged {}",
            self.rows,
            self.imported,
            self.unchanged,
            self.reported,
            self.referrals,
            self.orphans,
            self.activations_unchanged
        );
        if self.imported + self.referrals + self.orphans == 0 {
            line.push_str(". Nothing was written: the tables already hold this dump.");
        }
        line
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the dump: {0}")]
    Read(String),
    #[error("writing the tables: {0}")]
    Write(#[from] phone_auth::Error),
}

/// A row's values, checked; or why it cannot be imported.
struct Checked {
    user: User,
    inv: Option<String>,
    parent: Option<UserId>,
}

fn check(row: &Row, options: &Options, at: Timestamp) -> Result<Checked, String> {
    let fields = &row.fields;
    let phone = Phone::parse_possible(&fields.phone, options.default_region)
        .map_err(|_| format!("phone {:?} is not a possible number", fields.phone))?;
    let invite = InviteCode::parse(&fields.invite).map_err(|_| {
        format!(
            "invite code {:?} is not 6 letters and digits",
            fields.invite
        )
    })?;
    let last_login = match fields.last_login.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            Timestamp::parse_rfc3339(text)
                .ok_or_else(|| format!("last_login {text:?} is not an ISO 8601 time"))?,
        ),
    };
    Ok(Checked {
        // The dump has no joining date: the import is when they joined
        // this service.
        user: User {
            last_login,
            imported_at: Some(at),
            ..User::signed_up(UserId(row.pk), phone, invite, at)
        },
        inv: Some(fields.inv.trim().to_owned()).filter(|inv| !inv.is_empty()),
        parent: fields.parent_invite.map(UserId),
    })
}

/// Where progress and reports go: a bar on a terminal, plain lines
/// otherwise.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: Mutex<u64>,
    every: u64,
}

impl Progress {
    pub fn new(terminal: bool) -> Progress {
        Progress {
            bar: terminal.then(indicatif::ProgressBar::hidden),
            done: Mutex::new(0),
            every: 10_000,
        }
    }

    /// A bar when standard output is a terminal.
    pub fn for_stdout() -> Progress {
        Progress::new(std::io::stdout().is_terminal())
    }

    fn start(&self, pass: &str, total: Option<usize>) {
        *self.done.lock().unwrap() = 0;
        match &self.bar {
            Some(bar) => {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stdout());
                bar.reset();
                bar.set_length(total.unwrap_or(0) as u64);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg:>12} [{bar:40}] {pos}/{len} rows {per_sec} eta {eta}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
                bar.set_message(pass.to_owned());
            }
            None => println!("{pass}: started"),
        }
    }

    fn tick(&self, pass: &str) {
        let mut done = self.done.lock().unwrap();
        *done += 1;
        match &self.bar {
            Some(bar) => bar.inc(1),
            None if done.is_multiple_of(self.every) => println!("{pass}: {done} rows"),
            None => {}
        }
    }

    fn finish(&self, pass: &str) {
        let done = *self.done.lock().unwrap();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        println!("{pass}: {done} rows done");
    }

    /// One report line, kept clear of the bar.
    fn report(&self, row: &Row, why: &str) {
        let line = format!("reported: id {}: {why}", row.pk);
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
            }
        }
    }
}

/// Streams the dump's rows, one at a time, into `each` with `concurrency`
/// in flight. The file is parsed on a thread of its own, a bounded
/// channel ahead of the writers.
async fn each_row<F, Fut>(dump: &Dump, concurrency: usize, each: F) -> Result<usize, ImportError>
where
    F: Fn(Row) -> Fut,
    Fut: std::future::Future<Output = Result<(), ImportError>>,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Row>(concurrency * 4);
    let dump = dump.clone();
    let reader = tokio::task::spawn_blocking(move || read_rows(&dump, &tx));
    let rows =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|row| (row, rx)) },
        );
    let written: Vec<Result<(), ImportError>> = rows
        .map(each)
        .buffer_unordered(concurrency)
        .filter(|result| std::future::ready(result.is_err()))
        .take(1)
        .collect()
        .await;
    let read = reader.await.map_err(|e| ImportError::Read(e.to_string()))?;
    if let Some(Err(error)) = written.into_iter().next() {
        return Err(error);
    }
    read
}

/// One pass over the dump: `each` for every row, `concurrency` in flight,
/// shown as `name` (with `total` rows when known).
async fn pass<F, Fut>(
    dump: &Dump,
    concurrency: usize,
    progress: &Progress,
    name: &str,
    total: Option<usize>,
    each: F,
) -> Result<usize, ImportError>
where
    F: Fn(Row) -> Fut,
    Fut: std::future::Future<Output = Result<(), ImportError>>,
{
    progress.start(name, total);
    let rows = each_row(dump, concurrency.max(1), |row| {
        let work = each(row);
        async move {
            work.await?;
            progress.tick(name);
            Ok(())
        }
    })
    .await?;
    progress.finish(name);
    Ok(rows)
}

fn read_rows(dump: &Dump, tx: &tokio::sync::mpsc::Sender<Row>) -> Result<usize, ImportError> {
    struct Rows<'a>(&'a tokio::sync::mpsc::Sender<Row>);

    impl<'de> Visitor<'de> for Rows<'_> {
        type Value = usize;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of rows, as manage.py dumpdata writes")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut count = 0;
            while let Some(row) = seq.next_element::<Row>()? {
                count += 1;
                if self.0.blocking_send(row).is_err() {
                    // The writers stopped on an error; it is theirs to say.
                    break;
                }
            }
            Ok(count)
        }
    }

    let mut json = serde_json::Deserializer::from_reader(dump.open()?);
    serde::Deserializer::deserialize_seq(&mut json, Rows(tx))
        .map_err(|e| ImportError::Read(e.to_string()))
}

/// Where the dump is read from, once per pass: a file, or standard input
/// held in memory. The dump holds the old system's password hashes, so it
/// is never written anywhere, not even to a temporary file.
#[derive(Clone, Debug)]
pub enum Dump {
    File(PathBuf),
    InMemory(Arc<[u8]>),
}

impl Dump {
    fn open(&self) -> Result<Box<dyn Read + Send>, ImportError> {
        Ok(match self {
            Dump::File(path) => {
                Box::new(BufReader::new(std::fs::File::open(path).map_err(|e| {
                    ImportError::Read(format!("{}: {e}", path.display()))
                })?))
            }
            Dump::InMemory(bytes) => Box::new(std::io::Cursor::new(Arc::clone(bytes))),
        })
    }
}

/// Runs the import of `dump` into `store`.
pub async fn run(
    store: &DynamoStore,
    dump: &Dump,
    options: &Options,
    progress: &Progress,
    at: Timestamp,
) -> Result<Summary, ImportError> {
    if options.dry_run {
        return dry_run(store, dump, options, progress, at).await;
    }
    let summary = Mutex::new(Summary::default());
    let summary_ref = &summary;
    let concurrency = options.concurrency;

    let rows = pass(
        dump,
        concurrency,
        progress,
        "1/3 claims",
        None,
        |row| async move {
            if let Ok(checked) = check(&row, options, at) {
                store
                    .stage_phone(
                        checked.user.id,
                        &checked.user.phone,
                        checked.user.last_login,
                        at,
                    )
                    .await?;
            }
            Ok(())
        },
    )
    .await?;

    pass(dump, concurrency, progress, "2/3 users", Some(rows), |row| async move {
        let outcome = match check(&row, options, at) {
            Err(why) => Err(why),
            Ok(checked) => {
                let user = &checked.user;
                match store.staged_holder(&user.phone, user.id).await? {
                    Staged::LostTo(winner) => Err(format!(
                        "phone {} is also id {}'s, which logged in later and is imported instead",
                        user.phone.as_str(),
                        winner.0
                    )),
                    Staged::Held => match store.import_user(user).await? {
                        Imported::Written => Ok(true),
                        Imported::Unchanged => Ok(false),
                        Imported::PhoneTaken(other) => Err(format!(
                            "phone {} already belongs to user {} of this service",
                            user.phone.as_str(),
                            other.0
                        )),
                        Imported::CodeTaken(other) => Err(format!(
                            "invite code {} already belongs to user {}",
                            user.invite.as_str(),
                            other.0
                        )),
                    },
                }
            }
        };
        summary_ref.lock().unwrap().tally(outcome, &row, progress);
        Ok(())
    })
    .await?;

    pass(
        dump,
        concurrency,
        progress,
        "3/3 invites",
        Some(rows),
        |row| async move { activate(store, &row, options, at, summary_ref).await },
    )
    .await?;

    let mut summary = summary.into_inner().unwrap();
    summary.rows = rows;
    Ok(summary)
}

/// Pass 3 for one row: its `inv` as a referral of its owner, or alone.
async fn activate(
    store: &DynamoStore,
    row: &Row,
    options: &Options,
    at: Timestamp,
    summary: &Mutex<Summary>,
) -> Result<(), ImportError> {
    let count = |f: &dyn Fn(&mut Summary)| f(&mut summary.lock().unwrap());
    let Ok(checked) = check(row, options, at) else {
        return Ok(());
    };
    let Some(inv) = checked.inv else {
        return Ok(());
    };
    let id = checked.user.id;
    let Ok(code) = InviteCode::parse(&inv) else {
        // The user is imported; an activation that names no code is not.
        return Ok(());
    };
    let (user, owner) = store.activation_context(id, &code).await?;
    let Some(user) = user else {
        // Not imported (reported in pass 2).
        return Ok(());
    };
    if user.activated.is_some() {
        count(&|s| s.activations_unchanged += 1);
        return Ok(());
    }
    let owner = owner.filter(|owner| Some(owner.id) == checked.parent);
    if let Some(owner) = owner {
        match store.activate_invite(&user, &code, &owner, at).await? {
            Activation::Activated => {
                count(&|s| s.referrals += 1);
                return Ok(());
            }
            Activation::AlreadyActivated => {
                count(&|s| s.activations_unchanged += 1);
                return Ok(());
            }
            Activation::OwnerGone => {}
        }
    }
    if store.import_orphan_invite(id, &code).await? {
        count(&|s| s.orphans += 1);
    } else {
        count(&|s| s.activations_unchanged += 1);
    }
    Ok(())
}

/// `--dry-run`: what the import would report, written nowhere. The phones
/// are compared in memory here (a map of every number), as no claim may be
/// staged.
async fn dry_run(
    store: &DynamoStore,
    dump: &Dump,
    options: &Options,
    progress: &Progress,
    at: Timestamp,
) -> Result<Summary, ImportError> {
    let latest: Mutex<HashMap<String, (i64, u64)>> = Mutex::new(HashMap::new());
    let rows = pass(
        dump,
        options.concurrency,
        progress,
        "1/2 read",
        None,
        |row| {
            let latest = &latest;
            async move {
                if let Ok(checked) = check(&row, options, at) {
                    let rank = (checked.user.last_login.map_or(-1, |t| t.0), row.pk);
                    let mut latest = latest.lock().unwrap();
                    let entry = latest
                        .entry(checked.user.phone.as_str().to_owned())
                        .or_insert(rank);
                    *entry = (*entry).max(rank);
                }
                Ok(())
            }
        },
    )
    .await?;

    let summary = Mutex::new(Summary {
        rows,
        ..Summary::default()
    });
    let latest = latest.into_inner().unwrap();
    pass(dump, options.concurrency, progress, "2/2 check", Some(rows), |row| {
        let (latest, summary) = (&latest, &summary);
        async move {
            let outcome = match check(&row, options, at) {
                Err(why) => Err(why),
                Ok(checked) => {
                    let phone = checked.user.phone.as_str();
                    let winner = latest[phone].1;
                    if winner != row.pk {
                        Err(format!(
                            "phone {phone} is also id {winner}'s, which logged in later and would be imported instead"
                        ))
                    } else {
                        match store.user_id_by_phone(&checked.user.phone).await? {
                            Some(owner) if owner != checked.user.id => Err(format!(
                                "phone {phone} already belongs to user {} of this service",
                                owner.0
                            )),
                            Some(_) => Ok(false),
                            None => Ok(true),
                        }
                    }
                }
            };
            summary.lock().unwrap().tally(outcome, &row, progress);
            Ok(())
        }
    })
    .await?;
    Ok(summary.into_inner().unwrap())
}
