//! A server's resident memory and CPU time, read from /proc.

use thiserror::Error;

/// Why /proc could not be read.
#[derive(Debug, Error)]
pub enum ProcError {
    /// The file could not be read (the process is gone?).
    #[error("reading /proc/{pid}/{file}: {source}")]
    Read {
        /// The process.
        pid: u32,
        /// The file under /proc/PID.
        file: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file did not have the expected shape.
    #[error("unexpected /proc/{0}/{1} contents")]
    Parse(u32, &'static str),
}

/// Clock ticks per second for /proc/PID/stat times. Linux has reported 100
/// on every mainstream architecture for decades; reading sysconf would need libc.
const TICKS_PER_SEC: f64 = 100.0;

/// Current and peak resident set size, in KiB (`VmRSS`, `VmHWM`).
pub fn rss_kib(pid: u32) -> Result<(u64, u64), ProcError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|source| {
        ProcError::Read {
            pid,
            file: "status",
            source,
        }
    })?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(hwm)) => Ok((rss, hwm)),
        _ => Err(ProcError::Parse(pid, "status")),
    }
}

/// User plus system CPU seconds the process has used so far.
pub fn cpu_secs(pid: u32) -> Result<f64, ProcError> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|source| ProcError::Read {
            pid,
            file: "stat",
            source,
        })?;
    // The command name (field 2) may contain spaces: count fields after its ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or(ProcError::Parse(pid, "stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    match (tick(11), tick(12)) {
        (Some(u), Some(s)) => Ok((u + s) as f64 / TICKS_PER_SEC),
        _ => Err(ProcError::Parse(pid, "stat")),
    }
}

/// RSS and CPU of one process, sampled before a scenario and compared after.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pid: Option<u32>,
    cpu0: f64,
}

impl Probe {
    /// Starts measuring `pid` (None: nothing is measured, figures are 0).
    pub fn start(pid: Option<u32>) -> Probe {
        let cpu0 = pid.and_then(|p| cpu_secs(p).ok()).unwrap_or(0.0);
        Probe { pid, cpu0 }
    }

    /// The measured process.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// CPU seconds used since `start`.
    pub fn cpu(&self) -> f64 {
        self.pid
            .and_then(|p| cpu_secs(p).ok())
            .map(|c| c - self.cpu0)
            .unwrap_or(0.0)
    }

    /// Current RSS in KiB.
    pub fn rss(&self) -> u64 {
        self.pid
            .and_then(|p| rss_kib(p).ok())
            .map(|r| r.0)
            .unwrap_or(0)
    }

    /// Peak RSS in KiB since the process started.
    pub fn peak_rss(&self) -> u64 {
        self.pid
            .and_then(|p| rss_kib(p).ok())
            .map(|r| r.1)
            .unwrap_or(0)
    }
}
