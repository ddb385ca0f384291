//! Lambda's CPU share on this machine. Lambda gives a function CPU in
//! proportion to its memory, one vCPU at 1,769 MB, enforced as a CFS quota:
//! a function that needs more CPU than its quota in a 100 ms period waits
//! for the next one. A cgroup with the same quota (v1 `cpu` or v2
//! `cpu.max`) shows a cold start as Lambda would run it.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Lambda's memory for one full vCPU.
pub const MB_PER_VCPU: u64 = 1769;
const PERIOD_US: u64 = 100_000;

/// The CPU quota, per 100 ms period, of a function given `memory_mb`.
pub fn quota_us(memory_mb: u32) -> u64 {
    u64::from(memory_mb) * PERIOD_US / MB_PER_VCPU
}

enum Version {
    V1,
    V2,
}

/// A cgroup of this bench's own whose CPU quota is a function's share; it
/// is removed when dropped.
pub struct CpuGroup {
    dir: PathBuf,
    version: Version,
    procs: CString,
    pub quota_us: u64,
}

impl CpuGroup {
    /// Creates the group, or says why it cannot (no cgroup filesystem, not
    /// root, a read-only mount).
    pub fn create(name: &str, memory_mb: u32) -> Result<CpuGroup, String> {
        let quota = quota_us(memory_mb);
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
        let v1 = Path::new("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
        let (version, parent) = if v1.exists() {
            (Version::V1, Path::new("/sys/fs/cgroup/cpu"))
        } else if v2.exists() {
            (Version::V2, Path::new("/sys/fs/cgroup"))
        } else {
            return Err("no cgroup cpu controller under /sys/fs/cgroup".into());
        };
        let dir = parent.join(format!("{name}-{}", std::process::id()));
        let shown = dir.display().to_string();
        let failed = |what: &str, e: std::io::Error| format!("{what} {shown}: {e}");
        if !dir.exists() {
            std::fs::create_dir(&dir).map_err(|e| failed("cannot create", e))?;
        }
        let group = CpuGroup {
            procs: CString::new(dir.join("cgroup.procs").to_string_lossy().as_bytes())
                .expect("a path without NUL"),
            dir,
            version,
            quota_us: quota,
        };
        group
            .refill()
            .map_err(|e| failed("cannot set the quota of", e))?;
        Ok(group)
    }

    /// Sets the quota again, which gives the group a whole period's quota
    /// at once: a start right after another would otherwise begin with
    /// what that one left of the current period, where a new Lambda
    /// environment begins with all of it.
    pub fn refill(&self) -> std::io::Result<()> {
        match self.version {
            Version::V1 => {
                std::fs::write(self.dir.join("cpu.cfs_period_us"), PERIOD_US.to_string())?;
                std::fs::write(self.dir.join("cpu.cfs_quota_us"), self.quota_us.to_string())
            }
            Version::V2 => std::fs::write(
                self.dir.join("cpu.max"),
                format!("{} {PERIOD_US}", self.quota_us),
            ),
        }
    }

    /// Makes `command`'s process start inside the group: it moves itself in
    /// between fork and exec, so not one instruction of it runs outside.
    pub fn confine(&self, command: &mut Command) {
        let procs = self.procs.clone();
        // SAFETY: between fork and exec the closure only makes system calls
        // (open, write, close) on memory prepared before the fork.
        unsafe {
            command.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let (digits, len) = decimal(libc::getpid() as u32);
                let written = libc::write(fd, digits.as_ptr().cast(), len);
                libc::close(fd);
                if written != len as isize {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    /// The file a process's id is written to, to move it (all its
    /// threads) into the group.
    pub fn procs_path(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// How many periods the group has been throttled in, so far.
    pub fn throttled_periods(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("cpu.stat"))
            .ok()
            .and_then(|stat| {
                stat.lines()
                    .find_map(|l| l.strip_prefix("nr_throttled "))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

/// `n` in decimal, without allocating (it runs between fork and exec).
fn decimal(mut n: u32) -> ([u8; 10], usize) {
    let mut reversed = [0u8; 10];
    let mut len = 0;
    loop {
        reversed[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut digits = [0u8; 10];
    for i in 0..len {
        digits[i] = reversed[len - 1 - i];
    }
    (digits, len)
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        // Empty once its processes are reaped; a leftover group is harmless.
        let _kept_if_busy = std::fs::remove_dir(&self.dir);
    }
}

/// CPU time a live process has used so far, every thread of it, from the
/// scheduler's own nanosecond accounting.
pub fn process_cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_the_memory_share_of_one_vcpu() {
        assert_eq!(quota_us(128), 7235);
        assert_eq!(quota_us(1769), 100_000);
        assert_eq!(quota_us(3538), 200_000);
    }

    #[test]
    fn decimal_digits() {
        for n in [0, 7, 10, 4815, u32::MAX] {
            let (digits, len) = decimal(n);
            assert_eq!(std::str::from_utf8(&digits[..len]).unwrap(), n.to_string());
        }
    }
}
