//! Process hygiene, first thing in `main` for every subcommand: the server
//! holds plaintext for a few microseconds per report and the analyst tool
//! holds all of it, so neither may end up in a core dump or be read by a
//! debugger attached by another process of the same user.

use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};

/// Disable core dumps and make the process non-dumpable (which also stops
/// same-user ptrace and /proc/PID/mem reads). Returns what failed, if
/// anything, so the caller can warn the operator; it is not fatal because
/// some sandboxes already forbid these calls.
pub fn harden_process() -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    ) {
        problems.push(format!("could not disable core dumps: {e}"));
    }
    if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        problems.push(format!("could not mark the process non-dumpable: {e}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    #[test]
    fn core_limit_is_zero_after_hardening() {
        assert!(super::harden_process().is_empty());
        let lim = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!(lim.current, Some(0));
        assert_eq!(lim.maximum, Some(0));
    }
}
