//! The process's allocator settings: freed memory goes back to the operating system.
//!
//! Why this module exists: glibc's `malloc` raises its mmap threshold each time a large block is freed, so after the
//! run phase has passed a few batch files of 20–40 MB through memory, later large blocks come from the heap and stay
//! resident after they are freed; and memory freed inside the heap is kept for reuse. A 1,000,000-item batch run
//! then carried ~120 MB of freed memory into its analysis (docs/performance.md). [`tune`] pins the threshold, so a
//! large block is always its own mapping and is unmapped when freed; [`trim`] hands the freed pages inside the heap
//! back between phases. Both are no-ops where the C library is not glibc.

/// Blocks at least this large get their own mapping (glibc's initial default, kept from rising).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Pin glibc's mmap threshold; call once, before the first large allocation.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called at start-up before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Return the free pages of every heap to the operating system (after a phase that freed much).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's own locks; it is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Resident memory now and at its highest so far, as ` (RSS … kB, peak … kB)`; empty where `/proc` is not there.
pub fn resident() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().trim_end_matches(" kB").trim().to_string())
    };
    match (kb("VmRSS:"), kb("VmHWM:")) {
        (Some(now), Some(peak)) => format!(" (RSS {now} kB, peak {peak} kB)"),
        _ => String::new(),
    }
}
