//! The channel simulator in a process of its own, at the lowest CPU priority, for benchmarks in
//! which the channels' own work must not count as finepay's. In production the channels answer
//! from their own machines; on a two-core bench machine an in-process simulator signs its half of
//! every RSA exchange on the same cores as finepay's request workers. Niced, it stands in for
//! "elsewhere": it gets the CPU that finepay leaves idle.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// `finepay channel-sim`, started; killed when dropped.
pub(super) struct SimProcess {
    child: Child,
    pub url: String,
}

impl SimProcess {
    /// Starts this executable's `channel-sim` on a free loopback port, with `config` layered as
    /// the daemon's is, and waits for it to say where it listens.
    pub(super) fn start(config: Option<&Path>) -> anyhow::Result<SimProcess> {
        let mut command = Command::new(std::env::current_exe()?);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        command.arg("channel-sim").env("FINEPAY__SIMULATOR__LISTEN", "127.0.0.1:0");
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        lowest_priority(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("the simulator's output"))?;
        let mut first_line = String::new();
        BufReader::new(stdout).read_line(&mut first_line)?;
        let Some(url) = first_line.trim().strip_prefix("channel simulator on ") else {
            let _ = child.kill();
            anyhow::bail!("the simulator did not start: {first_line:?}");
        };
        Ok(SimProcess { url: url.to_owned(), child })
    }

    /// Settings overrides that send the daemon's channels here instead of to a simulator of its own.
    pub(super) fn overrides(&self) -> Vec<(&'static str, String)> {
        let sim = &self.url;
        vec![
            ("simulator.enabled", "false".into()),
            ("channels.wechat.base_url", sim.clone()),
            ("channels.alipay.gateway_url", format!("{sim}/gateway.do")),
            ("channels.unionpay.base_url", sim.clone()),
            ("channels.unionpay.file_transfer_url", format!("{sim}/gateway/api/fileTransRequest.do")),
        ]
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nice 19 for the child, set between fork and exec so every thread it starts inherits it.
fn lowest_priority(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only calls setpriority,
        // which is async-signal-safe and touches no memory of ours.
        unsafe {
            command.pre_exec(|| {
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
                Ok(())
            });
        }
    }
}
