//! Starting a function cold, as Lambda would: its own process under a
//! Lambda runtime API, at full CPU or at its memory's share of one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use api_tests::runtime::RuntimeApi;
use serde_json::Value;

use crate::cgroup::{self, CpuGroup};

/// The event a cold start of `function` answers: on the success path with
/// its round trips to moto, or (`io` false) one answered without any I/O,
/// which isolates start-up itself.
fn event(function: &str, spawn: usize, tokens: &mut Tokens, io: bool) -> String {
    let file = format!("{}/../events/{function}.json", env!("CARGO_MANIFEST_DIR"));
    let template = std::fs::read_to_string(file).expect("an event per function");
    if !io {
        // Refused before any call: a malformed phone or code, or a token
        // that does not verify.
        return match function {
            "phone-enter" => template.replace("+79123456789", "12345"),
            "code-enter" => template.replace("\\\"123456\\\"", "\\\"12\\\""),
            _ => template,
        };
    }
    match function {
        "phone-enter" => template.replace("+79123456789", &format!("+7912100{spawn:04}")),
        // A code never sent: two reads, then 400, as most wrong guesses go.
        "code-enter" => template,
        "user-profile" => template.replace("REPLACE_WITH_AN_ACCESS_TOKEN", &tokens.access),
        "token-refresh" => template.replace("REPLACE_WITH_A_REFRESH_TOKEN", &tokens.next_refresh()),
        _ => template.replace("REPLACE_WITH_A_REFRESH_TOKEN", &tokens.revocable()),
    }
}

pub struct Tokens {
    pub access: String,
    /// Fresh refresh tokens, one per refresh cold start.
    pub refresh: Vec<String>,
    pub revoke: Vec<String>,
}

impl Tokens {
    fn next_refresh(&mut self) -> String {
        self.refresh.pop().expect("a fresh refresh token")
    }

    fn revocable(&mut self) -> String {
        self.revoke.pop().expect("a session to revoke")
    }
}

/// Where a cold start runs: on the whole machine, or inside a cgroup whose
/// CPU quota is the function's Lambda share.
#[derive(Clone, Copy)]
pub enum Cpu<'a> {
    Full,
    Share(&'a CpuGroup),
    /// Full CPU until the first event is asked for, the share after: the
    /// model in which Lambda does not throttle init.
    InitFull(&'a CpuGroup),
}

pub struct ColdStart {
    pub median: Duration,
    pub max: Duration,
    /// CPU the process used from exec to its first response (median).
    pub cpu: Duration,
    pub peak_rss_kib: u64,
}

impl ColdStart {
    pub fn times(&self) -> String {
        format!("{:.1} / {:.1} ms", ms(self.median), ms(self.max))
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The high-water mark of a process's resident memory.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()))
        })
        .unwrap_or(0)
}

/// One way of starting a function: its binary, environment and Lambda
/// memory size.
pub struct Launch<'a> {
    pub function: &'a str,
    pub binary: PathBuf,
    pub env: &'a HashMap<String, String>,
    pub memory_mb: u32,
}

pub async fn cold_starts(
    launch: &Launch<'_>,
    spawns: usize,
    tokens: &mut Tokens,
    io: bool,
    cpu: Cpu<'_>,
) -> ColdStart {
    let function = launch.function;
    cold_starts_of(
        launch,
        spawns,
        |spawn| event(function, spawn, tokens, io),
        cpu,
    )
    .await
}

/// `spawns` cold starts, each answering the event `event` makes for it.
pub async fn cold_starts_of(
    launch: &Launch<'_>,
    spawns: usize,
    mut event: impl FnMut(usize) -> String,
    cpu: Cpu<'_>,
) -> ColdStart {
    let function = launch.function;
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut peak = 0;
    for spawn in 0..spawns {
        let runtime = RuntimeApi::start().await;
        let answered = runtime.offer(event(spawn));
        let mut command = Command::new(&launch.binary);
        command
            .envs(launch.env)
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                launch.memory_mb.to_string(),
            )
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match cpu {
            Cpu::Full => {}
            Cpu::Share(group) => {
                group.refill().expect("the group's quota is writable");
                group.confine(&mut command);
            }
            Cpu::InitFull(group) => {
                group.refill().expect("the group's quota is writable");
                runtime.expect_hook();
            }
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("the function starts");
        if let Cpu::InitFull(group) = cpu {
            let (procs, pid) = (group.procs_path(), child.id());
            runtime.set_hook(move || {
                std::fs::write(&procs, pid.to_string())
                    .expect("moving the function into its group");
            });
        }
        let response = tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the function answers within 30 s")
            .expect("a response");
        times.push(started.elapsed());
        cpu_times.push(Duration::from_nanos(cgroup::process_cpu_ns(child.id())));
        peak = peak.max(peak_rss_kib(child.id()));
        child.kill().expect("stopping the function");
        child.wait().expect("reaping the function");
        let status =
            serde_json::from_str::<Value>(&response).unwrap_or(Value::Null)["statusCode"].clone();
        assert!(
            status.as_u64().is_some_and(|s| s < 500),
            "{function}: {response}"
        );
    }
    times.sort();
    cpu_times.sort();
    ColdStart {
        median: times[times.len() / 2],
        max: *times.last().unwrap(),
        cpu: cpu_times[cpu_times.len() / 2],
        peak_rss_kib: peak,
    }
}

pub fn size(path: &str) -> String {
    std::fs::metadata(path).map_or("n/a (make build)".into(), |m| {
        format!("{:.2} MiB", m.len() as f64 / 1048576.0)
    })
}

/// Everything a table of cold starts needs: where the binaries are, how
/// many starts a figure takes, each function's memory and CPU group, and
/// the tokens the success paths use up.
pub struct Starts {
    pub bin_dir: String,
    pub spawns: usize,
    pub memory: HashMap<String, u32>,
    pub groups: HashMap<u32, CpuGroup>,
    pub tokens: Tokens,
}

impl Starts {
    pub fn launch<'a>(&self, function: &'a str, env: &'a HashMap<String, String>) -> Launch<'a> {
        Launch {
            function,
            binary: std::path::Path::new(&self.bin_dir).join(function),
            env,
            memory_mb: self.memory[function],
        }
    }

    /// The function's CPU group, when the machine has one for it.
    pub fn group(&self, launch: &Launch<'_>) -> Option<&CpuGroup> {
        self.groups.get(&launch.memory_mb)
    }

    pub async fn full(&mut self, launch: &Launch<'_>, io: bool) -> ColdStart {
        cold_starts(launch, self.spawns, &mut self.tokens, io, Cpu::Full).await
    }

    /// At the function's share, when there is a group for it.
    pub async fn share(&mut self, launch: &Launch<'_>, io: bool) -> Option<ColdStart> {
        let group = self.groups.get(&launch.memory_mb)?;
        Some(cold_starts(launch, self.spawns, &mut self.tokens, io, Cpu::Share(group)).await)
    }

    /// Init at full CPU, the event at the share, when there is a group.
    pub async fn init_full(&mut self, launch: &Launch<'_>, io: bool) -> Option<ColdStart> {
        let group = self.groups.get(&launch.memory_mb)?;
        Some(
            cold_starts(
                launch,
                self.spawns,
                &mut self.tokens,
                io,
                Cpu::InitFull(group),
            )
            .await,
        )
    }

    /// Both starts (no I/O, success) at full CPU and, where there is a
    /// group, at the share, with the highest peak RSS of them all.
    pub async fn measure(&mut self, launch: &Launch<'_>) -> Measured {
        let bare = self.full(launch, false).await;
        let cold = self.full(launch, true).await;
        let shared = match self.share(launch, false).await {
            Some(bare) => self.share(launch, true).await.map(|cold| (bare, cold)),
            None => None,
        };
        let peak_rss_kib = [&bare, &cold]
            .into_iter()
            .chain(shared.iter().flat_map(|(b, c)| [b, c]))
            .map(|c| c.peak_rss_kib)
            .max()
            .unwrap_or(0);
        Measured {
            bare,
            cold,
            shared,
            peak_rss_kib,
        }
    }
}

pub struct Measured {
    pub bare: ColdStart,
    pub cold: ColdStart,
    /// (no I/O, success) at the function's share.
    pub shared: Option<(ColdStart, ColdStart)>,
    pub peak_rss_kib: u64,
}
