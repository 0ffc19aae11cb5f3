//! The response cache: successful responses stored by the hash of their canonical request, shared across runs.
//!
//! Why this module exists: an evaluation is re-run many times while a team tunes a prompt, fixes a scorer or adds a
//! candidate; paying again for a request whose answer is already known wastes money and time. The cache sits in front
//! of the provider (looked up once, before the first attempt; filled only by successes — a cached error would make a
//! transient failure permanent), so a second run of an unchanged suite sends nothing.
//!
//! Key: the record's `request_hash` (blake3 of provider kind, endpoint URL, headers, model, messages, params,
//! streaming, tools and repeat index — see [`crate::runner::request_hash`]). That hash names a `${VAR}` header only by
//! its template; when a provider has such headers (a gateway's routing or virtual key read from the environment) the
//! entry key is instead a blake3 keyed hash of the request hash and those values, under a random key kept in the
//! cache directory (`key`, created on first use, owner-only): two providers routed by different values never share
//! an entry, and neither the values nor a hash anyone could test guesses against leave the machine's cache. Never
//! the API key or a credential header, which therefore never reach the cache.
//! Value: the response (text, tool calls, finish reason, usage) and when it was stored; nothing run-specific (item,
//! provider id, cost, attempts). Entries older than the TTL are misses. Each entry is one small JSON file written to a
//! temporary name and renamed into place, so a crash never leaves a half-written entry under a real name; an entry
//! that does not parse (or whose hash does not match its name) is ignored and overwritten by the next success.
//!
//! Layout: `<dir>/v1/<first two hex digits>/<entry key>.json`, and the local key in `<dir>/v1/key`. The default directory is `$EVALH_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/evalh`, else `~/.cache/evalh`.

use crate::chat::{ToolCall, Usage};
use crate::error::{Error, InputError, Result};
use crate::journal::Record;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default time to live of an entry: 30 days.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Entry format version (the directory level `v1`).
const FORMAT: u32 = 1;

/// One cached response: what the provider said, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Entry format version.
    pub format: u32,
    /// The entry key this entry answers: the request hash, or its keyed mix with `${VAR}` header values (see
    /// [`Cache::key`]); must equal the file name.
    pub request_hash: String,
    /// When it was stored, seconds since the Unix epoch.
    pub stored_at: u64,
    /// Text output.
    pub output_text: String,
    /// Tool calls.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Provider finish reason.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Token usage as the provider reported it (or as estimated then).
    #[serde(default)]
    pub usage: Usage,
    /// Latency of the original request, ms; a cache hit's record carries it, so latency statistics include it.
    pub latency_ms: f64,
}

/// A response cache rooted at a directory.
#[derive(Debug)]
pub struct Cache {
    root: PathBuf,
    ttl: Duration,
    hits: AtomicU64,
    stores: AtomicU64,
    warned: AtomicBool,
    /// The local key for entry keys of requests with `${VAR}` headers (`None`: it could not be read or made).
    secret: OnceLock<Option<[u8; 32]>>,
}

/// The file holding the cache's local key, under the format directory.
const KEY_FILE: &str = "key";

/// Whether a lookup found a usable entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// A fresh, valid entry.
    Fresh,
    /// An entry older than the TTL.
    Expired,
    /// No entry, or one that does not parse.
    Absent,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn valid_hash(h: &str) -> bool {
    h.len() >= 16 && h.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The default cache directory: `$EVALH_CACHE_DIR`, else `$XDG_CACHE_HOME/evalh`, else `$HOME/.cache/evalh`.
pub fn default_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = nonempty("EVALH_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = nonempty("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("evalh"));
    }
    nonempty("HOME").map(|h| PathBuf::from(h).join(".cache").join("evalh"))
}

/// Parse a TTL such as `30d`, `12h`, `90m`, `45s`, `2w` or a bare number of seconds.
pub fn parse_ttl(s: &str) -> std::result::Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; use e.g. 7d, 12h, 30m or 45s"))?;
    let mult = match unit.trim() {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        "w" => 7.0 * 86400.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{s}`; use s, m, h, d or w"
            ))
        }
    };
    let secs = n * mult;
    if !secs.is_finite() || !(0.0..=1e12).contains(&secs) {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Cache {
    /// Open (creating if needed) a cache at `dir` whose entries live for `ttl`.
    pub fn open(dir: &Path, ttl: Duration) -> Result<Cache> {
        if dir.exists() && !dir.is_dir() {
            return Err(InputError::new(dir, "the cache directory is a file")
                .hint("pass a directory to --cache-dir (it is created if missing), or --no-cache")
                .into());
        }
        let root = dir.join(format!("v{FORMAT}"));
        std::fs::create_dir_all(&root).map_err(|e| {
            Error::io(
                format!("creating the cache directory {}", root.display()),
                e,
            )
        })?;
        Ok(Cache {
            root,
            ttl,
            hits: AtomicU64::new(0),
            stores: AtomicU64::new(0),
            warned: AtomicBool::new(false),
            secret: OnceLock::new(),
        })
    }

    /// The entry key of a request whose journal hash is `request_hash`, sent by provider `spec`: the hash itself,
    /// or — when the provider has non-credential headers whose values come from the environment — a keyed hash of
    /// it and those values (see the module doc). `None` when such a key is needed but the cache's local key cannot
    /// be read or created: the request then bypasses the cache.
    pub fn key(&self, request_hash: &str, spec: &crate::suite::ProviderSpec) -> Option<String> {
        let mut routed = spec
            .headers
            .iter()
            .filter(|(n, v)| v.contains("${") && !crate::suite::is_credential_header(n))
            .peekable();
        if routed.peek().is_none() {
            return Some(request_hash.to_string());
        }
        let secret = self.secret()?;
        let mut h = blake3::Hasher::new_keyed(secret);
        h.update(request_hash.as_bytes());
        for (name, value) in routed {
            let value = crate::suite::expand_env(value);
            // Length-prefixed, so no two header lists hash alike.
            for part in [name.to_ascii_lowercase().as_bytes(), value.as_bytes()] {
                h.update(&(part.len() as u64).to_le_bytes());
                h.update(part);
            }
        }
        Some(h.finalize().to_hex().to_string())
    }

    fn secret(&self) -> Option<&[u8; 32]> {
        self.secret
            .get_or_init(|| match load_or_create_key(&self.root) {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!(
                        "warning: the response cache's key {} cannot be used ({e}); requests with `${{VAR}}` headers \
                         bypass the cache",
                        self.root.join(KEY_FILE).display()
                    );
                    None
                }
            })
            .as_ref()
    }

    /// Where the entry for `hash` lives.
    fn path(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(format!("{hash}.json"))
    }

    fn read(&self, hash: &str) -> Option<Entry> {
        if !valid_hash(hash) {
            return None;
        }
        let bytes = std::fs::read(self.path(hash)).ok()?;
        let e: Entry = serde_json::from_slice(&bytes).ok()?;
        (e.format == FORMAT && e.request_hash == hash).then_some(e)
    }

    /// Look `hash` up without counting a hit (used by `evalh plan`).
    pub fn probe(&self, hash: &str) -> Probe {
        match self.read(hash) {
            None => Probe::Absent,
            Some(e) if self.expired(&e) => Probe::Expired,
            Some(_) => Probe::Fresh,
        }
    }

    fn expired(&self, e: &Entry) -> bool {
        now_secs().saturating_sub(e.stored_at) > self.ttl.as_secs()
    }

    /// A fresh entry for `hash`, if any.
    pub fn get(&self, hash: &str) -> Option<Entry> {
        let e = self.read(hash).filter(|e| !self.expired(e))?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(e)
    }

    /// Store a successful record under entry key `key` (see [`Cache::key`]; errors are never cached). Failures to
    /// write are reported once on stderr and otherwise ignored: a cache that cannot be written must not stop a paid
    /// run.
    pub fn put(&self, key: &str, r: &Record) {
        if r.error.is_some() || r.cached || !valid_hash(key) {
            return;
        }
        let entry = Entry {
            format: FORMAT,
            request_hash: key.to_string(),
            stored_at: now_secs(),
            output_text: r.output_text.clone(),
            tool_calls: r.tool_calls.clone(),
            finish_reason: r.finish_reason.clone(),
            usage: r.usage,
            latency_ms: r.latency_ms,
        };
        if let Err(e) = self.write(&entry) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "warning: could not write the response cache ({e}); continuing without storing"
                );
            }
        } else {
            self.stores.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn write(&self, e: &Entry) -> std::io::Result<()> {
        let path = self.path(&e.request_hash);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        // A unique temporary name per writer: concurrent runs storing the same entry never clobber half-files.
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            e.request_hash,
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let res = std::fs::write(&tmp, &body).and_then(|_| std::fs::rename(&tmp, &path));
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    }

    /// Hits served by this handle.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Entries stored by this handle.
    pub fn stores(&self) -> u64 {
        self.stores.load(Ordering::Relaxed)
    }

    /// The directory the cache lives in (including the format level).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Read the cache's local key, creating it (32 random bytes, owner-only) if there is none. Creation is race-free:
/// the key is written under a unique temporary name and hard-linked into place, which fails if another process got
/// there first — then that process's key is read.
fn load_or_create_key(root: &Path) -> std::io::Result<[u8; 32]> {
    let path = root.join(KEY_FILE);
    let read = |p: &Path| -> std::io::Result<[u8; 32]> {
        let b = std::fs::read(p)?;
        b.try_into()
            .map_err(|b: Vec<u8>| std::io::Error::other(format!("{} bytes, expected 32", b.len())))
    };
    match read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other,
    }
    let mut key = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut key);
    let tmp = root.join(format!(".key.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let res = opts.open(&tmp).and_then(|mut f| {
        std::io::Write::write_all(&mut f, &key)?;
        f.sync_all()
    });
    let res = res.and_then(|_| match std::fs::hard_link(&tmp, &path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e),
        Ok(()) => Ok(key),
    });
    let _ = std::fs::remove_file(&tmp);
    res
}

/// The journal record for a cache hit: the cached response, this run's identity, cost 0, `cached: true`.
pub fn hit_record(
    e: Entry,
    item_id: String,
    provider_id: String,
    repeat: u32,
    est_input_tokens: u64,
    lookup_ms: f64,
) -> Record {
    Record {
        item_id,
        provider_id,
        repeat,
        request_hash: e.request_hash,
        output_text: e.output_text,
        tool_calls: e.tool_calls,
        finish_reason: e.finish_reason,
        usage: e.usage,
        cost_usd: 0.0,
        // The original request's latency: a cached answer is judged on the latency it was served with, so a cached
        // and an uncached run give the same latency verdict (the lookup itself takes microseconds).
        latency_ms: if e.latency_ms.is_finite() && e.latency_ms >= 0.0 {
            e.latency_ms
        } else {
            lookup_ms
        },
        ttft_ms: None,
        attempts: 0,
        error: None,
        cached: true,
        est_input_tokens: Some(est_input_tokens),
        attempt_errors: Vec::new(),
        min_concurrency: None,
        batch: None,
        stream_compare: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::ErrorClass;
    use crate::journal::ErrorInfo;

    fn rec(hash: &str) -> Record {
        Record {
            item_id: "i1".into(),
            provider_id: "p".into(),
            repeat: 0,
            request_hash: hash.into(),
            output_text: "billing".into(),
            tool_calls: vec![],
            finish_reason: Some("stop".into()),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 2,
                ..Default::default()
            },
            cost_usd: 0.5,
            latency_ms: 12.0,
            ttft_ms: None,
            attempts: 2,
            error: None,
            cached: false,
            est_input_tokens: Some(9),
            attempt_errors: Vec::new(),
            batch: None,
            min_concurrency: None,
            stream_compare: None,
        }
    }

    const H: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn stores_successes_and_returns_them_as_cached_records() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path(), DEFAULT_TTL).unwrap();
        assert!(c.get(H).is_none());
        c.put(H, &rec(H));
        let e = c.get(H).unwrap();
        assert_eq!(e.output_text, "billing");
        let r = hit_record(e, "i2".into(), "q".into(), 3, 7, 0.1);
        assert!(r.cached);
        assert_eq!(r.cost_usd, 0.0);
        assert_eq!(
            (r.item_id.as_str(), r.provider_id.as_str(), r.repeat),
            ("i2", "q", 3)
        );
        assert_eq!(r.usage.input_tokens, 10);
        assert_eq!(c.hits(), 1);
        assert_eq!(c.stores(), 1);
        // No temporary files left behind.
        let leftovers: Vec<_> = std::fs::read_dir(c.root().join("01"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn errors_and_cached_records_are_never_stored() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path(), DEFAULT_TTL).unwrap();
        let mut r = rec(H);
        r.error = Some(ErrorInfo::new(
            ErrorClass::RateLimit,
            "slow down",
            Some(429),
        ));
        c.put(H, &r);
        let mut r2 = rec(H);
        r2.cached = true;
        c.put(H, &r2);
        assert_eq!(c.probe(H), Probe::Absent);
    }

    #[test]
    fn expired_and_corrupt_entries_are_misses() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path(), Duration::from_secs(3600)).unwrap();
        c.put(H, &rec(H));
        let p = c.path(H);
        let mut e: Entry = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        e.stored_at -= 7200;
        std::fs::write(&p, serde_json::to_vec(&e).unwrap()).unwrap();
        assert_eq!(c.probe(H), Probe::Expired);
        assert!(c.get(H).is_none());
        std::fs::write(&p, b"{\"format\":1,\"request_ha").unwrap();
        assert_eq!(c.probe(H), Probe::Absent);
        // An entry filed under the wrong name is not trusted.
        let other = "f".repeat(64);
        let mut e2 = e.clone();
        e2.stored_at = now_secs();
        std::fs::create_dir_all(c.path(&other).parent().unwrap()).unwrap();
        std::fs::write(c.path(&other), serde_json::to_vec(&e2).unwrap()).unwrap();
        assert_eq!(c.probe(&other), Probe::Absent);
        // A success overwrites the corrupt entry.
        c.put(H, &rec(H));
        assert_eq!(c.probe(H), Probe::Fresh);
        // Hashes that are not hex never touch the file system.
        assert!(c.get("../../etc/passwd").is_none());
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse_ttl("12h").unwrap(), Duration::from_secs(12 * 3600));
        assert_eq!(parse_ttl("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_ttl("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_ttl("0s").unwrap(), Duration::ZERO);
        assert!(parse_ttl("7x").is_err());
        assert!(parse_ttl("d").is_err());
        assert!(parse_ttl("-3d").is_err());
    }

    #[test]
    fn a_file_is_not_a_cache_directory() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "x").unwrap();
        let e = Cache::open(&f, DEFAULT_TTL).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn entry_keys_mix_in_routing_values_under_the_local_key() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path(), DEFAULT_TTL).unwrap();
        let spec = |h: &str| -> crate::suite::ProviderSpec {
            serde_yaml::from_str(&format!("{{id: p, kind: openai, model: m, headers: {h}}}"))
                .unwrap()
        };
        // No `${VAR}` header (or only a credential one): the entry key is the request hash, and no key file is made.
        assert_eq!(c.key(H, &spec("{X-Route: a}")).as_deref(), Some(H));
        assert_eq!(
            c.key(
                H,
                &spec("{Authorization: 'Bearer ${EVALH_UNIT_CACHE_TOKEN}'}")
            )
            .as_deref(),
            Some(H)
        );
        assert!(!c.root().join(KEY_FILE).exists());
        let routed = spec("{X-Vk: '${EVALH_UNIT_CACHE_VK}'}");
        std::env::set_var("EVALH_UNIT_CACHE_VK", "vk-one");
        let k1 = c.key(H, &routed).unwrap();
        std::env::set_var("EVALH_UNIT_CACHE_VK", "vk-two");
        let k2 = c.key(H, &routed).unwrap();
        assert_ne!(k1, k2);
        assert_ne!(k1, H);
        assert!(valid_hash(&k1));
        let key_file = c.root().join(KEY_FILE);
        assert_eq!(std::fs::read(&key_file).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is owner-only: {mode:o}");
        }
        // Another handle on the same directory reads the same key; another cache directory has its own.
        let again = Cache::open(d.path(), DEFAULT_TTL).unwrap();
        assert_eq!(again.key(H, &routed).unwrap(), k2);
        let d2 = tempfile::tempdir().unwrap();
        let other = Cache::open(d2.path(), DEFAULT_TTL).unwrap();
        assert_ne!(other.key(H, &routed).unwrap(), k2);
        // A damaged key file: such requests bypass the cache instead of sharing entries.
        let d3 = tempfile::tempdir().unwrap();
        let bad = Cache::open(d3.path(), DEFAULT_TTL).unwrap();
        std::fs::write(bad.root().join(KEY_FILE), b"short").unwrap();
        assert_eq!(bad.key(H, &routed), None);
        assert_eq!(bad.key(H, &spec("{X-Route: a}")).as_deref(), Some(H));
    }
}
