//! GetUrl and DnsLookup: the network actions user space runs when a selector's event arrives.
//!
//! Tetragon runs them in its event handler (`handleMsgGenericKprobe` in
//! pkg/sensors/tracing/generickprobe.go): `getUrl` fires an `http.Get` of `argUrl` and forgets
//! it, `dnsLookup` sends an A query ("ip4") for `argFqdn` to 1.1.1.1:53 over UDP (a Go resolver
//! whose Dial always goes there) and forgets the answer. Here:
//!
//! - GetUrl is one HTTP/1.1 GET, over TLS (rustls) for an `https://` URL. As Go's `http.Get`
//!   does for Tetragon, the server's certificate is verified against the host's trusted roots
//!   (`/etc/ssl/certs`, or the files `SSL_CERT_FILE` and `SSL_CERT_DIR` name, which Go's
//!   crypto/x509 reads too); a certificate that does not verify fails the action, said on
//!   stderr, and nothing is sent. Any other scheme is refused when the plan is compiled
//!   ([`HttpUrl::parse`]).
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
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::RootCertStore;

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

/// An `http://` or `https://` URL split for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// `https://`: the request goes over TLS.
    pub tls: bool,
    /// The host as written (a name, an IPv4 address, or an IPv6 address in brackets).
    pub host: String,
    /// The port (80, or 443 over TLS, unless written).
    pub port: u16,
    /// The path and query, `/` when none.
    pub path: String,
}

impl HttpUrl {
    /// `http[s]://host[:port][/path]`; None for anything else (another scheme, no host, a bad
    /// port, whitespace or control characters that would break the request line).
    pub fn parse(url: &str) -> Option<HttpUrl> {
        let scheme = |prefix: &str| {
            url.get(..prefix.len())
                .filter(|s| s.eq_ignore_ascii_case(prefix))
                .map(|_| &url[prefix.len()..])
        };
        let (tls, rest) = match scheme("https://") {
            Some(rest) => (true, rest),
            None => (false, scheme("http://")?),
        };
        let default_port = if tls { 443 } else { 80 };
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
                "" => default_port,
                p => p.strip_prefix(':')?.parse().ok()?,
            };
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().ok()?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() || host == "[]" {
            return None;
        }
        Some(HttpUrl {
            tls,
            host,
            port,
            path,
        })
    }
}

/// One GET of `url`, its response read up to [`RESPONSE_LIMIT`] bytes and dropped. Returns the
/// status line's code. Over TLS the server's certificate must verify against the host's
/// trusted roots ([`host_roots`]).
pub fn get_url(url: &HttpUrl) -> std::io::Result<u16> {
    if url.tls {
        let tls = host_tls().map_err(std::io::Error::other)?;
        get_url_with(url, Some(tls))
    } else {
        get_url_with(url, None)
    }
}

/// [`get_url`] with the TLS client configuration (its trusted roots, [`tls_config`]) a TLS
/// server's certificate must verify against (`None` for an `http://` URL).
pub fn get_url_with(url: &HttpUrl, tls: Option<Arc<rustls::ClientConfig>>) -> std::io::Result<u16> {
    let bare = url.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (bare, url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{} has no address", url.host)))?;
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    tcp.set_read_timeout(Some(TIMEOUT))?;
    tcp.set_write_timeout(Some(TIMEOUT))?;
    let mut stream: Box<dyn ReadWrite> = match (url.tls, tls) {
        (false, _) => Box::new(tcp),
        (true, None) => return Err(std::io::Error::other("https:// without trusted roots")),
        (true, Some(config)) => {
            // a name (SNI and the name the certificate must carry) or an IP address
            let name = ServerName::try_from(bare.to_string())
                .map_err(|e| std::io::Error::other(format!("`{bare}`: {e}")))?;
            let conn =
                rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    };
    let default_port = if url.tls { 443 } else { 80 };
    let host = if url.port == default_port {
        url.host.clone()
    } else {
        format!("{}:{}", url.host, url.port)
    };
    // one write: over TLS, the handshake happens here, and a certificate that does not
    // verify fails it before a byte of the request is sent
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: policyctl\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < RESPONSE_LIMIT {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if got.is_empty() => return Err(e),
            // after a response: a server that closes without TLS's close_notify, or a timeout
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

/// rustls's *ring* provider. rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange, which only its aws-lc-rs provider has; that one needs cmake and a large C build,
/// and a canary GET (a URL the policy's author chose, fetched to say "this happened") gains
/// nothing from it.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// A TLS client configuration trusting `roots` (TLS 1.2 and 1.3, *ring*'s algorithms, no
/// client certificate). Built once per set of roots and shared by every request: building it
/// is the costly part of a configuration, and a canary GET may fire on every event.
pub fn tls_config(roots: Arc<RootCertStore>) -> Result<Arc<rustls::ClientConfig>, String> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// [`tls_config`] with the host's roots ([`host_roots`]), built once.
pub fn host_tls() -> Result<Arc<rustls::ClientConfig>, String> {
    static TLS: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    TLS.get_or_init(|| host_roots().and_then(tls_config))
        .clone()
}

/// A TCP stream or a TLS stream over one.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// The host's trusted root certificates, read once (`rustls-native-certs`: the system's
/// store, or `SSL_CERT_FILE` / `SSL_CERT_DIR`). An error when there are none.
pub fn host_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default();
                return Err(format!(
                    "no trusted root certificates on this host (install ca-certificates, or set SSL_CERT_FILE){why}"
                ));
            }
            Ok(Arc::new(roots))
        })
        .clone()
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
                            None => Err(std::io::Error::other("not an http:// or https:// URL")),
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
        let u = HttpUrl::parse("HTTPS://canary.example.com/pam").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "canary.example.com", 443, "/pam")
        );
        let u = HttpUrl::parse("https://127.0.0.1:8443").unwrap();
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 8443, "/"));
        assert!(!HttpUrl::parse("http://h/").unwrap().tls);
        for bad in [
            "https://",
            "https//h/",
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
