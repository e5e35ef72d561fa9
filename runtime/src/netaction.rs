//! GetUrl and DnsLookup: the network actions user space runs when a selector's event arrives.
//!
//! Tetragon runs them in its event handler (`handleMsgGenericKprobe` in
//! pkg/sensors/tracing/generickprobe.go): `getUrl` fires an `http.Get` of `argUrl` and forgets
//! it, `dnsLookup` sends an A query ("ip4") for `argFqdn` to 1.1.1.1:53 over UDP (a Go resolver
//! whose Dial always goes there) and forgets the answer. Here:
//!
//! - GetUrl is a plain HTTP/1.1 GET over TCP (std only: no TLS, so `https://` URLs are refused
//!   when the plan is compiled, [`HttpUrl::parse`]).
//! - DnsLookup is one hand-built DNS query (RFC 1035, type A, class IN, recursion desired) sent
//!   over UDP to a server (Tetragon's 1.1.1.1:53 by default), and the answer is awaited and
//!   dropped. Not `std::net::ToSocketAddrs`: that goes through the host's resolver
//!   (getaddrinfo: /etc/hosts, nscd, search domains, AAAA too) rather than sending the one
//!   query to the one server Tetragon sends it to, and it cannot be pointed at a test's server.
//! - Both run on one worker thread fed by a bounded queue: the event loop only enqueues
//!   ([`Runner::submit`] never blocks), at most [`MAX_PER_SECOND`] actions start per second and
//!   at most [`QUEUE`] wait; what does not fit is dropped and counted ([`Runner::dropped`]).
//!   Each action has a time limit ([`TIMEOUT`]), so a dead server delays the queue, never the
//!   events.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::plan::NetAction;

/// Tetragon's DNS server for DnsLookup (`dnsLookup` dials `udp` `1.1.1.1:53`).
pub const TETRAGON_DNS_SERVER: &str = "1.1.1.1:53";

/// Actions waiting for the worker at most; more are dropped.
pub const QUEUE: usize = 64;

/// Actions started per second at most; more are dropped.
pub const MAX_PER_SECOND: u32 = 20;

/// Time limit of one action (connect, send, and reading the answer each).
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Bytes of an HTTP response read (then dropped) at most.
const RESPONSE_LIMIT: usize = 64 * 1024;

/// An `http://` URL split for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The host as written (a name, an IPv4 address, or an IPv6 address in brackets).
    pub host: String,
    /// The port (80 unless written).
    pub port: u16,
    /// The path and query, `/` when none.
    pub path: String,
}

impl HttpUrl {
    /// `http://host[:port][/path]`; None for anything else (https, no host, a bad port,
    /// whitespace or control characters that would break the request line).
    pub fn parse(url: &str) -> Option<HttpUrl> {
        let rest = url
            .get(..7)
            .filter(|s| s.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])?;
        if rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return None;
        }
        // the fragment is not sent
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return None; // no credentials in a canary URL
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (addr, after) = v6.split_once(']')?;
            let port = match after {
                "" => 80,
                p => p.strip_prefix(':')?.parse().ok()?,
            };
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().ok()?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() || host == "[]" {
            return None;
        }
        Some(HttpUrl { host, port, path })
    }
}

/// One GET of `url`, its response read up to [`RESPONSE_LIMIT`] bytes and dropped. Returns the
/// status line's code.
pub fn get_url(url: &HttpUrl) -> std::io::Result<u16> {
    let bare = url.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare, url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{} has no address", url.host)))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let host = if url.port == 80 {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: policyctl\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    )?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < RESPONSE_LIMIT {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if got.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(&got[..got.len().min(32)])
        .ok()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line"))
}

/// The DNS query for `fqdn`: header (id, RD set, one question) and the question (type A,
/// class IN). None for a name that cannot be encoded (an empty label or one over 63 bytes, a
/// name over 253 bytes).
pub fn dns_query(id: u16, fqdn: &str) -> Option<Vec<u8>> {
    let name = fqdn.strip_suffix('.').unwrap_or(fqdn);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00]); // flags: recursion desired
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 1, 0, 1]); // type A, class IN
    Some(q)
}

/// One A query for `fqdn` to `server`; waits for the answer with the same id (at most
/// [`TIMEOUT`]) and returns its answer count.
pub fn dns_lookup(fqdn: &str, server: &str) -> std::io::Result<u16> {
    let server = server
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{server} has no address")))?;
    let bind = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = UdpSocket::bind(bind)?;
    socket.set_read_timeout(Some(TIMEOUT))?;
    socket.connect(server)?;
    // an id that differs from run to run and query to query
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = (nanos ^ std::process::id() ^ COUNTER.fetch_add(1, Ordering::Relaxed) as u32) as u16;
    let query = dns_query(id, fqdn)
        .ok_or_else(|| std::io::Error::other(format!("`{fqdn}` is not a DNS name")))?;
    socket.send(&query)?;
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = [0u8; 1500];
    loop {
        let n = socket.recv(&mut buf)?;
        if n >= 12 && buf[..2] == id.to_be_bytes() && buf[2] & 0x80 != 0 {
            return Ok(u16::from_be_bytes([buf[6], buf[7]]));
        }
        if Instant::now() >= deadline {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
    }
}

/// The worker that runs network actions off the event loop.
pub struct Runner {
    queue: SyncSender<NetAction>,
    dropped: Arc<AtomicU64>,
    done: Arc<AtomicU64>,
    window: (Instant, u32),
}

impl Runner {
    /// A worker thread sending DNS queries to `dns_server` (`host:port`). Each action's
    /// failure is said on stderr, as a line.
    pub fn spawn(dns_server: String) -> Runner {
        let (queue, rx) = sync_channel::<NetAction>(QUEUE);
        let done = Arc::new(AtomicU64::new(0));
        let finished = done.clone();
        std::thread::Builder::new()
            .name("policyctl-net-actions".into())
            .spawn(move || {
                for action in rx {
                    let result = match &action {
                        NetAction::GetUrl(url) => match HttpUrl::parse(url) {
                            Some(u) => get_url(&u).map(|_| ()),
                            None => Err(std::io::Error::other("not an http:// URL")),
                        },
                        NetAction::DnsLookup(fqdn) => dns_lookup(fqdn, &dns_server).map(|_| ()),
                    };
                    if let Err(e) = result {
                        // fire and forget, as Tetragon: said, not retried
                        eprintln!(
                            "policyctl run: {} `{}`: {e}",
                            action.name(),
                            match &action {
                                NetAction::GetUrl(s) | NetAction::DnsLookup(s) => s,
                            }
                        );
                    }
                    finished.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawning a thread");
        Runner {
            queue,
            dropped: Arc::new(AtomicU64::new(0)),
            done,
            window: (Instant::now(), 0),
        }
    }

    /// Queue `action` without blocking: dropped (and counted) past [`MAX_PER_SECOND`] in the
    /// current second or when [`QUEUE`] actions wait.
    pub fn submit(&mut self, action: &NetAction) {
        let now = Instant::now();
        if now.duration_since(self.window.0) >= Duration::from_secs(1) {
            self.window = (now, 0);
        }
        if self.window.1 >= MAX_PER_SECOND {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.queue.try_send(action.clone()) {
            Ok(()) => self.window.1 += 1,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Actions dropped so far (rate or queue).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Actions the worker finished (whatever their outcome).
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        let u = HttpUrl::parse("http://ebpf.io").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("ebpf.io", 80, "/")
        );
        let u = HttpUrl::parse("HTTP://127.0.0.1:8080/a/b?c=d#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/a/b?c=d")
        );
        let u = HttpUrl::parse("http://[::1]:81?x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("[::1]", 81, "/?x")
        );
        for bad in [
            "https://canary.example.com/x",
            "http://",
            "http://h:99999/",
            "http://a b/",
            "http://u:p@h/",
            "ftp://h/",
            "http://h/\r\nX: y",
        ] {
            assert_eq!(HttpUrl::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dns_queries() {
        let q = dns_query(0x1234, "ebpf.io.").unwrap();
        assert_eq!(
            q,
            [
                0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, b'e', b'b', b'p', b'f', 2, b'i', b'o',
                0, 0, 1, 0, 1
            ]
        );
        assert_eq!(dns_query(1, "a..b"), None);
        assert_eq!(dns_query(1, &"x".repeat(64)), None);
        assert_eq!(dns_query(1, ""), None);
    }
}
