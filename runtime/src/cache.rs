//! The compile cache: compiled modules (and, for `wasic run`, built executables) kept on disk
//! under a key that covers everything the output depends on, so compiling the same module the
//! same way again costs a file read instead of a compilation.
//!
//! A key ([`KeyBuilder`]) hashes (SHA-256) this wasic's version, its ABI version and the
//! identity of the binary holding this code (path, device, inode, size and times of the
//! executable or shared library, as mapped: a rebuilt wasic never reuses its predecessor's
//! entries), then whatever the caller adds: for compiled objects, the [`CompileOptions`] (CPU
//! level with the CPU features it resolves to, optimization level and switches, accepted
//! features) and the module's bytes.
//!
//! The directory belongs to the user, but what is in it is read as untrusted bytes: an object
//! entry is framed with the full key, its length and a checksum of its contents, and is loaded
//! only if all three match; an entry that is not the current user's, or that others may write,
//! is ignored. Anything rejected is recompiled and replaced. Entries are written to a temporary
//! file in the directory and renamed into place, so concurrent users of one cache each see a
//! whole entry or none. A cache that cannot be written costs only the caching: the module is
//! compiled and the failure reported to the caller, never an error of its own.
//!
//! [`Cache::from_env`] is the user's cache, as the `wasic` command uses it: `$WASIC_CACHE_DIR`,
//! else `$XDG_CACHE_HOME/wasic`, else `~/.cache/wasic`; `WASIC_CACHE=off` turns it off.
//! Embedders opt in: nothing is cached unless they pass a [`Cache`] to
//! [`Module::from_wasm_cached`].

use crate::module::{Module, ModuleError};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wasic_compiler::CompileOptions;

/// Why the cache could not be used. Never fatal: the caller compiles without it.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: none of WASIC_CACHE_DIR, XDG_CACHE_HOME and HOME is set")]
    NoDirectory,
    #[error("WASIC_CACHE is `{0}`: expected `on` or `off`")]
    Setting(String),
    /// The binary running this code cannot be identified, so entries written by another
    /// build of wasic could not be told apart from this one's.
    #[error("cannot identify this program's binary for the cache key: {0}")]
    Identity(String),
    #[error("cannot create the cache directory `{}`: {source}", dir.display())]
    CreateDir { dir: PathBuf, source: io::Error },
    #[error("cannot write the cache entry `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A cache directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

/// The key of one entry: a SHA-256 digest and the kind of entry it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    kind: &'static str,
    hash: [u8; 32],
}

impl Key {
    fn hex(&self) -> String {
        self.hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Builds a [`Key`]: every part is hashed with its length, so no two different sequences of
/// parts give the same key.
pub struct KeyBuilder {
    kind: &'static str,
    hasher: Sha256,
}

impl KeyBuilder {
    /// A key for entries of `kind` (`"object"`, `"executable"`: part of the file name too),
    /// starting with the identity of this wasic build.
    pub fn new(kind: &'static str) -> Result<KeyBuilder, CacheError> {
        let identity = binary_identity()
            .as_ref()
            .map_err(|e| CacheError::Identity(e.clone()))?;
        Ok(KeyBuilder {
            kind,
            hasher: Sha256::new(),
        }
        .part(FORMAT)
        .part(kind.as_bytes())
        .part(env!("CARGO_PKG_VERSION").as_bytes())
        .part(&wasic_abi::ABI_VERSION.to_le_bytes())
        .part(identity.as_bytes()))
    }

    pub fn part(mut self, bytes: &[u8]) -> KeyBuilder {
        self.hasher.update((bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
        self
    }

    pub fn finish(self) -> Key {
        Key {
            kind: self.kind,
            hash: self.hasher.finalize().into(),
        }
    }
}

/// Magic and format version of an object entry's header; also the first part of every key.
const FORMAT: &[u8; 8] = b"WASICC\x00\x01";
/// Magic (8 bytes), key (32), payload length (8, little-endian), payload SHA-256 (32).
const HEADER_LEN: usize = 80;

/// What a cache holds for a key.
#[derive(Debug)]
pub enum Lookup<T> {
    /// A valid entry.
    Hit(T),
    /// No entry.
    Missing,
    /// An entry that must not be used, and why (it gets replaced).
    Rejected(String),
}

/// The identity of the binary (executable or shared library) this code was loaded from, as
/// the kernel mapped it: computed once, since the code running is the one mapped then.
fn binary_identity() -> &'static Result<String, String> {
    static IDENTITY: OnceLock<Result<String, String>> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps")
            .map_err(|e| format!("cannot read /proc/self/maps: {e}"))?;
        identity_in_maps(&maps, binary_identity as *const () as usize)
    })
}

/// The identity of the file mapped at `addr` according to `maps` (`/proc/self/maps`): its
/// path, device and inode as mapped, checked against the file now at that path (whose size
/// and times are added). A file replaced or deleted since it was mapped has no identity.
fn identity_in_maps(maps: &str, addr: usize) -> Result<String, String> {
    for line in maps.lines() {
        let mut fields = line.splitn(6, ' ');
        let (Some(range), Some(_perms), Some(_offset), Some(dev), Some(inode)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        if !(start <= addr && addr < end) {
            continue;
        }
        let path = fields.next().unwrap_or("").trim_start();
        let bad = |why: &str| Err(format!("the code at {addr:#x} ({path:?}) {why}"));
        if !path.starts_with('/') {
            return bad("is not mapped from a file");
        }
        let (Some((major, minor)), Ok(inode)) = (dev.split_once(':'), inode.parse::<u64>()) else {
            return bad("has a mapping /proc/self/maps does not describe as expected");
        };
        let (Ok(major), Ok(minor)) = (
            u32::from_str_radix(major, 16),
            u32::from_str_radix(minor, 16),
        ) else {
            return bad("has a mapping /proc/self/maps does not describe as expected");
        };
        let m = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return bad(&format!("comes from a file that cannot be read now: {e}")),
        };
        if m.ino() != inode || libc::major(m.dev()) != major || libc::minor(m.dev()) != minor {
            return bad("comes from a file replaced since it was loaded");
        }
        return Ok(format!(
            "{path}|{major}:{minor}|{inode}|{}|{}.{}|{}.{}",
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec()
        ));
    }
    Err(format!("no mapping of {addr:#x} in /proc/self/maps"))
}

/// Whether opening an entry failed because there is none (nor even a directory for it).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Whether an entry's metadata is one this user can trust: owned by this user, writable by
/// no one else (who could otherwise put their code in it).
fn check_owner(meta: &std::fs::Metadata) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("it belongs to user {}, not {me}", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "others may write it (mode {:o})",
            meta.mode() & 0o7777
        ));
    }
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    Ok(())
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The user's cache (see the module documentation); `Ok(None)` with `WASIC_CACHE=off`.
    pub fn from_env() -> Result<Option<Cache>, CacheError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`Cache::from_env`] with the environment variables given by `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Option<Cache>, CacheError> {
        if let Some(v) = var("WASIC_CACHE") {
            match v.to_str() {
                Some("off" | "no" | "false" | "0") => return Ok(None),
                Some("on" | "yes" | "true" | "1" | "") => {}
                _ => return Err(CacheError::Setting(v.to_string_lossy().into_owned())),
            }
        }
        let set = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        if let Some(d) = set("WASIC_CACHE_DIR") {
            return Ok(Some(Cache::new(d)));
        }
        // The XDG specification: a relative path is invalid and must be ignored.
        if let Some(d) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
            return Ok(Some(Cache::new(d.join("wasic"))));
        }
        let home = set("HOME").ok_or(CacheError::NoDirectory)?;
        Ok(Some(Cache::new(home.join(".cache").join("wasic"))))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` is (or would be).
    pub fn path(&self, key: &Key) -> PathBuf {
        self.dir.join(format!("{}-{}", key.kind, key.hex()))
    }

    /// The entry for `key` as a file to use as it is (an executable): present, and trusted
    /// (see [`check_owner`]). Its contents are not checked.
    pub fn file(&self, key: &Key) -> Lookup<PathBuf> {
        let path = self.path(key);
        match std::fs::symlink_metadata(&path) {
            Ok(m) => match check_owner(&m) {
                Ok(()) => Lookup::Hit(path),
                Err(why) => Lookup::Rejected(why),
            },
            Err(e) if is_absent(&e) => Lookup::Missing,
            Err(e) => Lookup::Rejected(format!("cannot read it: {e}")),
        }
    }

    /// The contents of the framed entry for `key`, if it is whole and really for this key.
    pub fn load(&self, key: &Key) -> Lookup<Vec<u8>> {
        let path = self.path(key);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if is_absent(&e) => return Lookup::Missing,
            Err(e) => return Lookup::Rejected(format!("cannot read it: {e}")),
        };
        match read_entry(file, key) {
            Ok(bytes) => Lookup::Hit(bytes),
            Err(why) => Lookup::Rejected(why),
        }
    }

    /// A new temporary file in the cache directory (created if needed, readable by this user
    /// only), to be filled and then put in place with [`Cache::commit`].
    pub fn temp_file(&self) -> Result<tempfile::NamedTempFile, CacheError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| CacheError::CreateDir {
                dir: self.dir.clone(),
                source,
            })?;
        tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(&self.dir)
            .map_err(|source| CacheError::Write {
                path: self.dir.clone(),
                source,
            })
    }

    /// Makes the finished file at `temp` the entry for `key` (replacing any), atomically.
    /// Write permission for others is removed first: an entry others may write is ignored.
    pub fn commit(&self, temp: tempfile::TempPath, key: &Key) -> Result<PathBuf, CacheError> {
        let path = self.path(key);
        let err = |source| CacheError::Write {
            path: path.clone(),
            source,
        };
        let mode = std::fs::metadata(&temp).map_err(err)?.mode();
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode & 0o755))
            .map_err(err)?;
        temp.persist(&path).map_err(|e| err(e.error))?;
        Ok(path)
    }

    /// Stores `payload` as the framed entry for `key`.
    pub fn store(&self, key: &Key, payload: &[u8]) -> Result<PathBuf, CacheError> {
        let mut temp = self.temp_file()?;
        let header = header(key, payload);
        temp.write_all(&header)
            .and_then(|()| temp.write_all(payload))
            .and_then(|()| temp.flush())
            .map_err(|source| CacheError::Write {
                path: temp.path().to_path_buf(),
                source,
            })?;
        self.commit(temp.into_temp_path(), key)
    }
}

fn header(key: &Key, payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(FORMAT);
    h[8..40].copy_from_slice(&key.hash);
    h[40..48].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[48..80].copy_from_slice(&Sha256::digest(payload));
    h
}

/// Reads a framed entry, checking everything its header says; `Err(why)` if it is not a
/// whole, trusted entry for `key`.
fn read_entry(mut file: std::fs::File, key: &Key) -> Result<Vec<u8>, String> {
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read it: {e}"))?;
    check_owner(&meta)?;
    let mut h = [0u8; HEADER_LEN];
    file.read_exact(&mut h)
        .map_err(|_| format!("it is {} bytes, shorter than a header", meta.len()))?;
    if h[..8] != FORMAT[..] {
        return Err("it has no entry header".into());
    }
    if h[8..40] != key.hash {
        return Err("it was stored under another key".into());
    }
    let len = u64::from_le_bytes(h[40..48].try_into().expect("8 bytes"));
    // The file's size bounds what is allocated, whatever the header claims.
    if meta.len().checked_sub(HEADER_LEN as u64) != Some(len) {
        return Err(format!(
            "it is {} bytes, its header says {}",
            meta.len(),
            len.saturating_add(HEADER_LEN as u64)
        ));
    }
    let mut payload = vec![0u8; len as usize];
    file.read_exact(&mut payload)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if Sha256::digest(&payload)[..] != h[48..80] {
        return Err("its contents do not match their checksum".into());
    }
    Ok(payload)
}

/// What [`Module::from_wasm_cached`] did.
#[derive(Debug)]
pub enum CacheOutcome {
    /// Loaded from this entry: nothing was compiled.
    Hit(PathBuf),
    /// Compiled. `rejected`: why the entry that was there could not be used; `stored`: where
    /// the new entry is, or why it could not be written (the module is fine either way).
    Compiled {
        rejected: Option<String>,
        stored: Result<PathBuf, CacheError>,
    },
}

impl fmt::Display for CacheOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheOutcome::Hit(p) => write!(f, "cache hit: loaded `{}`", p.display()),
            CacheOutcome::Compiled { rejected, stored } => {
                write!(f, "compiled")?;
                if let Some(why) = rejected {
                    write!(f, " (the cache entry was rejected: {why})")?;
                }
                match stored {
                    Ok(p) => write!(f, ", cached as `{}`", p.display()),
                    Err(e) => write!(f, ", not cached: {e}"),
                }
            }
        }
    }
}

/// The key of the object compiled from `wasm` with `opts`.
pub fn object_key(wasm: &[u8], opts: &CompileOptions) -> Result<Key, CacheError> {
    // `Native` stands for the features found on this machine: those are what the code uses.
    let cpu = wasic_compiler::required_cpu_features(opts).join(",");
    Ok(KeyBuilder::new("object")?
        .part(format!("{opts:?}").as_bytes())
        .part(cpu.as_bytes())
        .part(wasm)
        .finish())
}

impl Module {
    /// Compiles `wasm` with `opts` and loads the result into this process.
    pub fn from_wasm(wasm: &[u8], opts: &CompileOptions) -> Result<Arc<Module>, ModuleError> {
        Module::from_wasm_with_progress(wasm, opts, &Default::default())
    }

    /// [`Module::from_wasm`], counting the compiled jobs in `progress` (for a progress bar).
    pub fn from_wasm_with_progress(
        wasm: &[u8],
        opts: &CompileOptions,
        progress: &wasic_compiler::Progress,
    ) -> Result<Arc<Module>, ModuleError> {
        let (object, _) = wasic_compiler::compile_with_progress(wasm, opts, progress)?;
        // SAFETY: `object` was just produced by the compiler of this build.
        unsafe { Module::from_object(&object) }
    }

    /// [`Module::from_wasm`] through `cache`: a module compiled before with the same options,
    /// by this build of wasic, is loaded from the cache instead of compiled; otherwise it is
    /// compiled and stored. Failing to use the cache is not an error (see the outcome).
    pub fn from_wasm_cached(
        wasm: &[u8],
        opts: &CompileOptions,
        cache: &Cache,
    ) -> Result<(Arc<Module>, CacheOutcome), ModuleError> {
        Module::from_wasm_cached_with_progress(wasm, opts, cache, &Default::default())
    }

    /// [`Module::from_wasm_cached`], counting the compiled jobs in `progress` when it compiles.
    pub fn from_wasm_cached_with_progress(
        wasm: &[u8],
        opts: &CompileOptions,
        cache: &Cache,
        progress: &wasic_compiler::Progress,
    ) -> Result<(Arc<Module>, CacheOutcome), ModuleError> {
        let key = match object_key(wasm, opts) {
            Ok(k) => k,
            Err(e) => {
                let module = Module::from_wasm_with_progress(wasm, opts, progress)?;
                let outcome = CacheOutcome::Compiled {
                    rejected: None,
                    stored: Err(e),
                };
                return Ok((module, outcome));
            }
        };
        let rejected = match cache.load(&key) {
            // SAFETY: the entry holds exactly the bytes this build's compiler produced for
            // this key, that is for these wasm bytes and options (checked by `read_entry`:
            // full key, length and checksum, in a file only this user can write).
            Lookup::Hit(object) => match unsafe { Module::from_object(&object) } {
                Ok(module) => return Ok((module, CacheOutcome::Hit(cache.path(&key)))),
                Err(e) => Some(format!("it does not load: {e}")),
            },
            Lookup::Missing => None,
            Lookup::Rejected(why) => Some(why),
        };
        let (object, _) = wasic_compiler::compile_with_progress(wasm, opts, progress)?;
        // SAFETY: `object` was just produced by the compiler of this build.
        let module = unsafe { Module::from_object(&object) }?;
        let stored = cache.store(&key, &object);
        Ok((module, CacheOutcome::Compiled { rejected, stored }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(part: &[u8]) -> Key {
        KeyBuilder::new("test").unwrap().part(part).finish()
    }

    fn cache() -> (tempfile::TempDir, Cache) {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        (d, c)
    }

    fn rejected<T: fmt::Debug>(l: Lookup<T>) -> String {
        match l {
            Lookup::Rejected(why) => why,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_stored_entry_loads_back_and_a_missing_one_is_missing() {
        let (_d, c) = cache();
        assert!(matches!(c.load(&key(b"a")), Lookup::Missing));
        let p = c.store(&key(b"a"), b"object bytes").unwrap();
        assert_eq!(p, c.path(&key(b"a")));
        match c.load(&key(b"a")) {
            Lookup::Hit(b) => assert_eq!(b, b"object bytes"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(c.load(&key(b"b")), Lookup::Missing));
        // Only the entry is left: the temporary file was renamed.
        assert_eq!(std::fs::read_dir(c.dir()).unwrap().count(), 1);
        let mode = std::fs::metadata(c.dir()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "the cache directory is private");
    }

    #[test]
    fn truncated_extended_or_altered_entries_are_rejected() {
        let (_d, c) = cache();
        let k = key(b"a");
        let p = c.store(&k, &[7u8; 100]).unwrap();
        let whole = std::fs::read(&p).unwrap();
        let cases: [(&str, Vec<u8>, &str); 5] = [
            ("empty", vec![], "shorter than a header"),
            ("header cut", whole[..40].to_vec(), "shorter than a header"),
            ("payload cut", whole[..150].to_vec(), "its header says"),
            ("extended", [&whole[..], b"x"].concat(), "its header says"),
            (
                "payload byte flipped",
                {
                    let mut w = whole.clone();
                    w[HEADER_LEN + 50] ^= 1;
                    w
                },
                "checksum",
            ),
        ];
        for (what, bytes, expect) in cases {
            std::fs::write(&p, &bytes).unwrap();
            let why = rejected(c.load(&k));
            assert!(why.contains(expect), "{what}: {why}");
        }
    }

    #[test]
    fn an_entry_of_another_key_is_rejected_even_under_this_keys_name() {
        let (_d, c) = cache();
        let other = c.store(&key(b"other"), b"other code").unwrap();
        std::fs::copy(&other, c.path(&key(b"mine"))).unwrap();
        let why = rejected(c.load(&key(b"mine")));
        assert!(why.contains("another key"), "{why}");
        std::fs::write(c.path(&key(b"mine")), [0u8; 200]).unwrap();
        assert!(rejected(c.load(&key(b"mine"))).contains("no entry header"));
    }

    #[test]
    fn an_entry_others_may_write_is_rejected() {
        let (_d, c) = cache();
        let p = c.store(&key(b"a"), b"x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o622)).unwrap();
        assert!(rejected(c.load(&key(b"a"))).contains("others may write"));
        assert!(rejected(c.file(&key(b"a"))).contains("others may write"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(c.load(&key(b"a")), Lookup::Hit(_)));
        assert!(matches!(c.file(&key(b"a")), Lookup::Hit(_)));
    }

    #[test]
    fn committing_strips_write_permission_for_others() {
        let (_d, c) = cache();
        let t = c.temp_file().unwrap().into_temp_path();
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = c.commit(t, &key(b"exe")).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o755);
        assert!(matches!(c.file(&key(b"exe")), Lookup::Hit(_)));
    }

    #[test]
    fn an_unwritable_cache_directory_is_an_error_of_the_store_only() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join("file");
        std::fs::write(&file, b"").unwrap();
        let c = Cache::new(file.join("cache"));
        assert!(matches!(
            c.load(&key(b"a")),
            Lookup::Rejected(_) | Lookup::Missing
        ));
        let e = c.store(&key(b"a"), b"x").unwrap_err();
        assert!(matches!(e, CacheError::CreateDir { .. }), "{e}");
    }

    #[test]
    fn keys_hash_parts_with_their_lengths_and_differ_by_kind() {
        let k = |parts: &[&[u8]]| {
            parts
                .iter()
                .fold(KeyBuilder::new("t").unwrap(), |b, p| b.part(p))
                .finish()
        };
        assert_eq!(k(&[b"ab", b"c"]), k(&[b"ab", b"c"]));
        assert_ne!(k(&[b"ab", b"c"]), k(&[b"a", b"bc"]));
        assert_ne!(k(&[b"ab"]), k(&[b"ab", b""]));
        let other_kind = KeyBuilder::new("u").unwrap().part(b"ab").finish();
        assert_ne!(other_kind.hash, k(&[b"ab"]).hash);
    }

    #[test]
    fn the_directory_comes_from_the_environment_and_wasic_cache_off_turns_it_off() {
        let from = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, OsString)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.into()))
                .collect();
            Cache::from_vars(|n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()))
        };
        let dir = |vars| from(vars).unwrap().unwrap().dir().to_path_buf();
        let all = [
            ("WASIC_CACHE_DIR", "/w"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(dir(&all), Path::new("/w"));
        assert_eq!(dir(&all[1..]), Path::new("/x/wasic"));
        assert_eq!(dir(&all[2..]), Path::new("/h/.cache/wasic"));
        assert_eq!(
            dir(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]),
            Path::new("/h/.cache/wasic")
        );
        assert_eq!(dir(&[("WASIC_CACHE", "on"), all[0]]), Path::new("/w"));
        assert!(from(&[("WASIC_CACHE", "off"), all[0]]).unwrap().is_none());
        assert!(matches!(
            from(&[("WASIC_CACHE", "of")]),
            Err(CacheError::Setting(_))
        ));
        assert!(matches!(from(&[]), Err(CacheError::NoDirectory)));
    }

    #[test]
    fn the_binary_identity_is_the_mapped_file_and_refuses_a_replaced_one() {
        let id = binary_identity().as_ref().unwrap();
        let exe = std::env::current_exe().unwrap();
        assert!(id.starts_with(&format!("{}|", exe.display())), "{id}");
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("lib.so");
        std::fs::write(&f, b"code").unwrap();
        let ino = std::fs::metadata(&f).unwrap().ino();
        let dev = std::fs::metadata(&f).unwrap().dev();
        let (maj, min) = (libc::major(dev), libc::minor(dev));
        let line = |ino: u64| {
            format!(
                "1000-2000 r-xp 00000000 {maj:02x}:{min:02x} {ino}    {}\n",
                f.display()
            )
        };
        assert!(identity_in_maps(&line(ino), 0x1800).is_ok());
        assert!(identity_in_maps(&line(ino), 0x2000)
            .unwrap_err()
            .contains("no mapping"));
        assert!(identity_in_maps(&line(ino + 1), 0x1800)
            .unwrap_err()
            .contains("replaced"));
        let anon = "1000-2000 r-xp 00000000 00:00 0 \n";
        assert!(identity_in_maps(anon, 0x1800)
            .unwrap_err()
            .contains("not mapped from a file"));
        let deleted = format!("{} (deleted)", line(ino).trim_end());
        assert!(identity_in_maps(&deleted, 0x1800).is_err());
    }
}
