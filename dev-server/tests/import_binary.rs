//! `import-django` as an operator runs it: its exit status, its report
//! lines and summary on standard output, standard input as the dump.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const DUMP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/django-users.json"
);

/// A moto of this test's own (moto copies every table on every
/// transaction: an import is best kept off the shared one), stopped on drop.
struct Moto(std::process::Child, String);

impl Moto {
    fn start() -> Moto {
        let python = std::env::var("MOTO_PYTHON").expect("MOTO_PYTHON: run with make test");
        let script = std::env::var("MOTO_SCRIPT").expect("MOTO_SCRIPT: run with make test");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args([script, "127.0.0.1".into(), port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto starts");
        // Dropped (killed and reaped) if it never answers.
        let moto = Moto(child, format!("http://127.0.0.1:{port}"));
        for _ in 0..150 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return moto;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto did not start");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary on fresh tables of a moto of its own, with a temporary
/// directory of its own that must still be empty when it exits, whatever
/// its status: the dump (old password hashes) is never written anywhere.
fn import(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let moto = Moto::start();
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let prefix = format!("imp-{}-{run}", std::process::id());
    let mut env = vec![
        ("AWS_ENDPOINT_URL", moto.1.clone()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("DEFAULT_REGION", "RU".into()),
    ];
    let temp = std::env::temp_dir().join(format!("{prefix}-tmp"));
    std::fs::create_dir_all(&temp).unwrap();
    env.push(("TMPDIR", temp.display().to_string()));
    for table in ["users", "codes", "sessions", "invites"] {
        let name = format!("{}_TABLE", table.to_ascii_uppercase());
        env.push((
            Box::leak(name.into_boxed_str()),
            format!("{prefix}-{table}"),
        ));
    }
    let created = Command::new(env!("CARGO_BIN_EXE_create-tables"))
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_import-django"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let output = child.wait_with_output().unwrap();
    let left: Vec<_> = std::fs::read_dir(&temp).unwrap().collect();
    assert!(left.is_empty(), "import-django left {left:?} behind");
    std::fs::remove_dir(&temp).unwrap();
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn reported_rows_still_exit_zero_with_a_summary() {
    let dump = std::fs::read(DUMP).unwrap();
    let out = import(&["--concurrency", "4", "-"], Some(&dump));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let reports: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("reported: id "))
        .collect();
    assert_eq!(reports.len(), 2, "{stdout}");
    assert!(
        reports.iter().any(|l| l.starts_with("reported: id 302: ")),
        "{stdout}"
    );
    let summary = stdout.lines().last().unwrap();
    assert!(
        summary.starts_with("import-django: 304 rows: imported 302,"),
        "{summary}"
    );
}

#[test]
fn a_dump_it_cannot_read_exits_non_zero() {
    let missing = import(&["/nonexistent/users.json"], None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("reading the dump"),
        "{missing:?}"
    );
    let broken = import(&["-"], Some(br#"[{"pk": 1, "fields": "#));
    assert_eq!(broken.status.code(), Some(1), "{broken:?}");
    let usage = import(&["--concurrency", "0", "x.json"], None);
    assert_eq!(usage.status.code(), Some(2));
}
