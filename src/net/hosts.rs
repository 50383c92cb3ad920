//! The hosts file as a fast path for [`lookup_host`](super::lookup_host), as Go's resolver
//! reads it: a name listed in `/etc/hosts` resolves without the blocking-pool hop, when
//! `/etc/nsswitch.conf` has the system resolver look at files first (its usual order).
//! The file is read again when it changes, checked at most every 5 seconds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

const HOSTS: &str = "/etc/hosts";
const NSSWITCH: &str = "/etc/nsswitch.conf";
const RECHECK: Duration = Duration::from_secs(5);

struct Cache {
    checked: Instant,
    modified: Option<SystemTime>,
    /// Lower-cased names to their addresses, in file order; empty when files do not
    /// come first (then every name goes to the system resolver).
    names: HashMap<String, Vec<IpAddr>>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// The addresses `/etc/hosts` gives `host`, if it lists it (and files come first).
pub(super) fn lookup(host: &str) -> Option<Vec<IpAddr>> {
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let stale = cache
        .as_ref()
        .is_none_or(|c| c.checked.elapsed() >= RECHECK);
    if stale {
        let modified = std::fs::metadata(HOSTS).and_then(|m| m.modified()).ok();
        let unchanged = cache.as_ref().is_some_and(|c| c.modified == modified);
        if unchanged {
            if let Some(c) = cache.as_mut() {
                c.checked = Instant::now();
            }
        } else {
            let names = if files_first(Path::new(NSSWITCH)) {
                std::fs::read_to_string(HOSTS)
                    .map(|t| parse(&t))
                    .unwrap_or_default()
            } else {
                HashMap::new()
            };
            *cache = Some(Cache {
                checked: Instant::now(),
                modified,
                names,
            });
        }
    }
    cache
        .as_ref()?
        .names
        .get(&host.to_ascii_lowercase())
        .cloned()
}

/// Whether the `hosts:` line of nsswitch.conf names `files` first (or says nothing,
/// glibc's default being `files dns`).
fn files_first(nsswitch: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(nsswitch) else {
        return true;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        if let Some(sources) = line.trim_start().strip_prefix("hosts:") {
            return sources.split_whitespace().next() == Some("files");
        }
    }
    true
}

/// `address name [aliases...]` lines; `#` starts a comment.
fn parse(text: &str) -> HashMap<String, Vec<IpAddr>> {
    let mut names: HashMap<String, Vec<IpAddr>> = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split('#').next().unwrap_or("").split_whitespace();
        let Some(Ok(addr)) = fields.next().map(str::parse::<IpAddr>) else {
            continue;
        };
        for name in fields {
            let addrs = names.entry(name.to_ascii_lowercase()).or_default();
            if !addrs.contains(&addr) {
                addrs.push(addr);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_comments_and_bad_lines() {
        let names = parse(
            "# a comment\n127.0.0.1 localhost loopback # trailing\n::1 localhost ip6-localhost\n\
             not-an-address host\n10.0.0.5\tDB.internal db\n",
        );
        assert_eq!(
            names["localhost"],
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(names["loopback"], ["127.0.0.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(names["db.internal"], names["db"]);
        assert!(!names.contains_key("host"));
    }

    #[test]
    fn the_order_of_sources_decides() {
        let dir = std::env::temp_dir().join(format!("goru-nss-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nsswitch.conf");
        std::fs::write(&path, "passwd: files\nhosts:  files dns\n").unwrap();
        assert!(files_first(&path));
        std::fs::write(&path, "hosts: dns files # odd\n").unwrap();
        assert!(!files_first(&path));
        std::fs::write(&path, "passwd: files\n").unwrap();
        assert!(files_first(&path), "no hosts line: glibc's default");
        assert!(files_first(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
