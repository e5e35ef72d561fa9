//! `policyctl run --metrics ADDR`: Prometheus metrics at `http://ADDR/metrics`.
//!
//! The metrics are Tetragon's, named with `policyctl_` where Tetragon has `tetragon_`
//! (`consts.MetricsNamespace` in Tetragon's `pkg/metrics/consts/consts.go`), built with the
//! `prometheus-client` crate and served in the OpenMetrics text format by [`Server`], a small
//! std-only HTTP server on a thread of its own: `GET /metrics` answers the exposition, anything
//! else 404, a request is read up to [`MAX_REQUEST`] bytes and within [`IO_TIMEOUT`], and the
//! event loop never waits for it (it only bumps atomic counters).
//!
//! The event loop updates [`Metrics`] through handles made once, when the plan is known
//! ([`Metrics::attached`]): a hook event costs a lookup by slot and a few atomic adds, with no
//! allocation.
//!
//! Differences from Tetragon, on purpose: Tetragon adds process labels (`namespace`,
//! `workload`, `pod`, `binary`, and `node_name` when enabled; `--metrics-label-filter`,
//! `CreateProcessLabels` in `pkg/option/metricslabels.go`) to `events_total` and
//! `policy_events_total`; policyctl has no pods and leaves them out, so the series stay few and
//! fixed. Tetragon counts selector actions in BPF (`policy_selector_stats_update` in
//! `bpf/lib/policy_stats.h`); policyctl counts them from the events that reach user space, so
//! an action on an event that is lost or not posted (NoPost) is not counted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use policyctl_runtime::event::Event;
use policyctl_runtime::layout::{action, MAX_SELECTORS};
use policyctl_runtime::plan::{Attach, EventKind, Plan};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The metric name prefix (Tetragon's is `tetragon`).
pub const PREFIX: &str = "policyctl";

/// The longest request read, headers included; a longer one is answered 431 and closed.
pub const MAX_REQUEST: usize = 8 * 1024;

/// How long a client may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The Content-Type of the exposition: `prometheus-client` writes OpenMetrics text 1.0.0.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels: (name, value) pairs, built once per series. (`prometheus-client` ends each HELP
/// text with a period, so the texts here have none.)
type Labels = Vec<(&'static str, String)>;

/// The `type` label values of `events_total`: Tetragon's `EventType` names
/// (`helpers.ResponseTypeString`, `api/v1/tetragon/codegen/helpers/helpers.pb.go`) of the
/// events `policyctl run` prints.
pub const EVENT_TYPES: [&str; 6] = [
    "PROCESS_EXEC",
    "PROCESS_EXIT",
    "PROCESS_KPROBE",
    "PROCESS_TRACEPOINT",
    "PROCESS_UPROBE",
    "PROCESS_LSM",
];

/// The `state` label values of `tracingpolicy_loaded`: Tetragon's `policyStateNames`
/// (`pkg/metrics/policymetrics/policymetrics.go`), in its order.
pub const POLICY_STATES: [&str; 6] = [
    "load_error",
    "error",
    "disabled",
    "enabled",
    "skipped",
    "partially_enabled",
];

/// Handles of one hook's series, made once.
#[derive(Clone)]
struct HookCounters {
    slot: u32,
    /// `events_total{type}` of the hook's event kind.
    event_type: Counter,
    /// `policy_events_total{policy, hook}`.
    policy: Counter,
    /// `tracingpolicy_selector_actions_total{…, action}` per selector (one for a hook without
    /// selectors): post, signal, override.
    actions: Vec<[Counter; 3]>,
}

/// Every metric `policyctl run` exports.
pub struct Metrics {
    registry: Registry,
    /// `tetragon_events_total{type}`: `EventsProcessed`, `pkg/metrics/eventmetrics/eventmetrics.go`.
    events: Family<Labels, Counter>,
    /// `tetragon_policy_events_total{policy, hook}`: `policyStats`,
    /// `pkg/metrics/eventmetrics/eventmetrics.go`.
    policy_events: Family<Labels, Counter>,
    /// `tetragon_tracingpolicy_selector_actions_total{policy, policy_namespace, hook,
    /// selector_index, action}`: `selectorActions`, `pkg/metrics/policymetrics/policymetrics.go`
    /// (Tetragon's `hook_index` and `selector_label` are left out).
    selector_actions: Family<Labels, Counter>,
    /// `tetragon_observer_ringbuf_events_received_total`: `RingbufReceived`,
    /// `pkg/observer/metrics.go`.
    ringbuf_received: Counter,
    /// `tetragon_observer_ringbuf_events_lost_total`: `RingbufLost`, `pkg/observer/metrics.go`.
    ringbuf_lost: Counter,
    /// `tetragon_handler_errors_total{opcode, error}`: `HandlerErrors`,
    /// `pkg/metrics/errormetrics/errormetrics.go`; policyctl counts records it cannot decode as
    /// `opcode="0"`, `error="event_handler_failed"`.
    handler_errors: Counter,
    /// `tetragon_tracingpolicy_loaded{state}`: `policyState`,
    /// `pkg/metrics/policymetrics/policymetrics.go`.
    loaded: Family<Labels, Gauge>,
    /// The `events_total` handles of exec and exit.
    exec: Counter,
    exit: Counter,
    /// Per hook, sorted by slot; replaced when a reload changes the running set.
    hooks: std::sync::RwLock<Vec<HookCounters>>,
    /// `policyctl_policy_reload_errors_total{error}`: policyctl's own (Tetragon has no reload
    /// of its policy directory): policy files a reload could not run, by what failed (a file
    /// that keeps failing counts at every reload, which tries it again).
    reload_errors: Family<Labels, Counter>,
}

/// The `error` label values of `policy_reload_errors_total`: the file could not be read, had
/// errors when checked (or enforced on every process), could not be planned, or did not attach.
pub const RELOAD_ERRORS: [&str; 4] = ["read", "check", "plan", "attach"];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric registered, each constant series at 0 (as Tetragon initialises its
    /// constrained labels), and `build_info` set.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let events = Family::<Labels, Counter>::default();
        registry.register(
            "events",
            "The total number of policyctl events",
            events.clone(),
        );
        let policy_events = Family::<Labels, Counter>::default();
        registry.register(
            "policy_events",
            "Policy events calls observed",
            policy_events.clone(),
        );
        let selector_actions = Family::<Labels, Counter>::default();
        registry.register(
            "tracingpolicy_selector_actions",
            "The total number of tracing policy actions observed per selector",
            selector_actions.clone(),
        );
        let loaded = Family::<Labels, Gauge>::default();
        registry.register(
            "tracingpolicy_loaded",
            "The number of loaded tracing policy by state",
            loaded.clone(),
        );
        for state in POLICY_STATES {
            let _ = loaded.get_or_create(&vec![("state", state.to_string())]);
        }
        let observer = registry.sub_registry_with_prefix("observer");
        let ringbuf_received = Counter::default();
        observer.register(
            "ringbuf_events_received",
            "Number of perf events policyctl ring buffer received",
            ringbuf_received.clone(),
        );
        let ringbuf_lost = Counter::default();
        observer.register(
            "ringbuf_events_lost",
            "Number of perf events policyctl ring buffer lost",
            ringbuf_lost.clone(),
        );
        let handler_errors_family = Family::<Labels, Counter>::default();
        registry.register(
            "handler_errors",
            "The total number of event handler errors",
            handler_errors_family.clone(),
        );
        let handler_errors = handler_errors_family
            .get_or_create(&vec![
                ("opcode", "0".to_string()),
                ("error", "event_handler_failed".to_string()),
            ])
            .clone();
        let build_info = Family::<Labels, Gauge>::default();
        registry.register(
            "build_info",
            "Build information about policyctl",
            build_info.clone(),
        );
        build_info
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_string())])
            .set(1);
        let by_type = |t: &str| events.get_or_create(&vec![("type", t.to_string())]).clone();
        for t in EVENT_TYPES {
            by_type(t);
        }
        let (exec, exit) = (by_type("PROCESS_EXEC"), by_type("PROCESS_EXIT"));
        let reload_errors = Family::<Labels, Counter>::default();
        registry.register(
            "policy_reload_errors",
            "Policy files a reload of the policy directory could not run, by what failed",
            reload_errors.clone(),
        );
        for e in RELOAD_ERRORS {
            let _ = reload_errors.get_or_create(&vec![("error", e.to_string())]);
        }
        Metrics {
            registry,
            events,
            policy_events,
            selector_actions,
            ringbuf_received,
            ringbuf_lost,
            handler_errors,
            loaded,
            exec,
            exit,
            hooks: Default::default(),
            reload_errors,
        }
    }

    /// Every hook of `plan` attached: its series made (at 0) and every policy `enabled`. After
    /// a reload, `plan` is the whole running set again: the hooks it no longer has stop being
    /// counted (their series keep their totals).
    pub fn attached(&self, plan: &Plan) {
        let mut hooks = Vec::with_capacity(plan.hooks.len());
        for h in &plan.hooks {
            let policy = &plan.policies[h.policy];
            let hook = hook_label(&h.event, &h.attach, &h.function_name);
            let event_type = self
                .events
                .get_or_create(&vec![("type", event_type(&h.event).to_string())])
                .clone();
            let counter = self
                .policy_events
                .get_or_create(&vec![
                    ("policy", policy.name.clone()),
                    ("hook", hook.clone()),
                ])
                .clone();
            let selectors = (h.config.nselectors as usize).clamp(1, MAX_SELECTORS);
            let actions = (0..selectors)
                .map(|i| {
                    ["post", "signal", "override"].map(|a| {
                        self.selector_actions
                            .get_or_create(&vec![
                                ("policy", policy.name.clone()),
                                (
                                    "policy_namespace",
                                    policy.namespace.clone().unwrap_or_default(),
                                ),
                                ("hook", hook.clone()),
                                ("selector_index", i.to_string()),
                                ("action", a.to_string()),
                            ])
                            .clone()
                    })
                })
                .collect();
            hooks.push(HookCounters {
                slot: h.slot,
                event_type,
                policy: counter,
                actions,
            });
        }
        hooks.sort_by_key(|h| h.slot);
        *self.hooks.write().unwrap_or_else(|e| e.into_inner()) = hooks;
        self.loaded
            .get_or_create(&vec![("state", "enabled".to_string())])
            .set(plan.policies.len() as i64);
    }

    /// One ring buffer record read; `event` is what it decoded to (`None`: it did not), and
    /// `rendered` whether it became a printed (or printable) event.
    pub fn record(&self, event: Option<&Event>, rendered: bool) {
        self.ringbuf_received.inc();
        let Some(event) = event else {
            self.handler_errors.inc();
            return;
        };
        if !rendered {
            return;
        }
        match event {
            Event::Exec(_) => {
                self.exec.inc();
            }
            Event::Exit(_) => {
                self.exit.inc();
            }
            Event::Fork(_) | Event::Data(_) => {}
            Event::Hook(h) => {
                let hooks = self.hooks.read().unwrap_or_else(|e| e.into_inner());
                let Ok(i) = hooks.binary_search_by_key(&h.slot, |c| c.slot) else {
                    return;
                };
                let c = &hooks[i];
                c.event_type.inc();
                c.policy.inc();
                // a hook without selectors has one series, whatever index its events carry
                let selector = if c.actions.len() == 1 {
                    0
                } else {
                    h.selector as usize
                };
                if let Some(actions) = c.actions.get(selector) {
                    actions[0].inc();
                    match h.action {
                        action::SIGKILL | action::SIGNAL => {
                            actions[1].inc();
                        }
                        action::OVERRIDE => {
                            actions[2].inc();
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// `n` policies are in Tetragon's `load_error` state: the latest version of their file
    /// could not run (`LoadErrorState`, `pkg/sensors/handler.go` addTracingPolicy).
    pub fn load_errors(&self, n: usize) {
        self.loaded
            .get_or_create(&vec![("state", "load_error".to_string())])
            .set(n as i64);
    }

    /// A policy file a reload could not run; `error` is one of [`RELOAD_ERRORS`].
    pub fn reload_error(&self, error: &str) {
        self.reload_errors
            .get_or_create(&vec![("error", error.to_string())])
            .inc();
    }

    /// The ring buffer's lost count is now `total` (it only grows).
    pub fn lost(&self, total: u64) {
        let seen = self.ringbuf_lost.get();
        if total > seen {
            self.ringbuf_lost.inc_by(total - seen);
        }
    }

    /// The exposition, OpenMetrics text.
    pub fn text(&self) -> String {
        let mut out = String::new();
        // writing to a String cannot fail
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Tetragon's `events_total` type of a hook's events.
fn event_type(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Kprobe => "PROCESS_KPROBE",
        EventKind::Tracepoint => "PROCESS_TRACEPOINT",
        EventKind::Uprobe => "PROCESS_UPROBE",
        EventKind::Lsm => "PROCESS_LSM",
        EventKind::Usdt => "PROCESS_USDT",
    }
}

/// The `hook` label, as Tetragon's `PolicyInfo()` methods build it (`pkg/grpc/tracing/tracing.go`):
/// `kprobe:<function>`, `tracepoint:<subsystem>/<event>`, `uprobe:<path>/<symbol>`,
/// `lsm:<hook>`, `usdt:<provider>/<name>`.
fn hook_label(kind: &EventKind, attach: &Attach, function: &str) -> String {
    match (kind, attach) {
        (_, Attach::Tracepoint { subsystem, event })
        | (_, Attach::RawTracepoint { subsystem, event }) => {
            format!("tracepoint:{subsystem}/{event}")
        }
        (_, Attach::Uprobe { path, symbol, .. }) => format!("uprobe:{path}/{symbol}"),
        (_, Attach::UprobeOffset { path, .. }) => format!("uprobe:{path}/"),
        (_, Attach::Lsm { hook }) => format!("lsm:{hook}"),
        (_, Attach::Usdt { provider, name, .. }) => format!("usdt:{provider}/{name}"),
        (EventKind::Lsm, _) => format!("lsm:{function}"),
        _ => format!("kprobe:{function}"),
    }
}

/// The addresses `--metrics` may listen on, the first that binds wins.
#[derive(Clone, Debug)]
pub struct ListenAddr {
    /// As given.
    pub text: String,
    /// What it resolved to.
    pub addrs: Vec<SocketAddr>,
}

/// `--metrics ADDR`: `host:port`, `[v6]:port`, or `:port` for every interface (as Go's
/// `net.Listen` reads Tetragon's `--metrics-server ":2112"`, `pkg/metricsconfig/root.go`).
pub fn parse_addr(text: &str) -> Result<ListenAddr, String> {
    let bad = || format!("`{text}` is not an address to listen on; give HOST:PORT or :PORT");
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| bad())?;
        // IPv6 any is dual-stack on Linux unless net.ipv6.bindv6only; IPv4 any otherwise
        return Ok(ListenAddr {
            text: text.into(),
            addrs: vec![
                SocketAddr::from(([0u16; 8], port)),
                SocketAddr::from(([0u8; 4], port)),
            ],
        });
    }
    let addrs: Vec<SocketAddr> = text.to_socket_addrs().map_err(|_| bad())?.collect();
    if addrs.is_empty() {
        return Err(bad());
    }
    Ok(ListenAddr {
        text: text.into(),
        addrs,
    })
}

/// The HTTP server of `/metrics`: bound when made (so a bad or busy address fails before
/// anything loads), serving on its own thread one connection at a time.
pub struct Server {
    listener: TcpListener,
}

impl Server {
    /// Listen on the first of `addrs` that binds.
    pub fn bind(addr: &ListenAddr) -> Result<Server, String> {
        let listener = TcpListener::bind(&addr.addrs[..])
            .map_err(|e| format!("cannot listen on {} for --metrics: {e}", addr.text))?;
        Ok(Server { listener })
    }

    /// The address bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serve `metrics` until the process ends.
    pub fn spawn(self, metrics: Arc<Metrics>) {
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for conn in self.listener.incoming() {
                    let Ok(stream) = conn else { continue };
                    let _ = serve(stream, &metrics);
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| eprintln!("policyctl run: cannot start the metrics server: {e}"));
    }
}

/// Answer one connection: one request, then close.
fn serve(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let complete = loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            break true;
        }
        if buf.len() >= MAX_REQUEST {
            break false;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(()); // closed before a full request
        }
        buf.extend_from_slice(&chunk[..n.min(MAX_REQUEST - buf.len())]);
    };
    let (status, content_type, body) = if !complete {
        (
            "431 Request Header Fields Too Large",
            "text/plain",
            String::new(),
        )
    } else {
        respond(&buf, metrics)
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if request_line(&buf).is_none_or(|(m, _)| m != "HEAD") {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// The method and path of a request.
fn request_line(request: &[u8]) -> Option<(&str, &str)> {
    let line = request.split(|&b| b == b'\r').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    Some((parts.next()?, parts.next()?))
}

/// Status, Content-Type and body for a complete request.
fn respond(request: &[u8], metrics: &Metrics) -> (&'static str, &'static str, String) {
    match request_line(request) {
        Some(("GET" | "HEAD", path)) if path.split('?').next() == Some("/metrics") => {
            ("200 OK", CONTENT_TYPE, metrics.text())
        }
        Some(("GET" | "HEAD", _)) => ("404 Not Found", "text/plain", "not found\n".into()),
        Some(_) => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET /metrics\n".into(),
        ),
        None => ("400 Bad Request", "text/plain", String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    use policyctl_runtime::event::{Exec, Header, Hook};
    use policyctl_runtime::layout::HookConfig;
    use policyctl_runtime::plan::{HookPlan, PolicyPlan};

    /// A plan of one policy with a tracepoint hook (slot 7, two selectors) and a raw syscall
    /// hook (slot 2, no selector).
    fn plan() -> Plan {
        let hook = |slot, attach, event, function_name: &str, nselectors| HookPlan {
            policy: 0,
            attach,
            slot,
            event,
            function_name: function_name.into(),
            args: vec![],
            ret: None,
            data: 0,
            message: None,
            tags: vec![],
            config: HookConfig {
                nselectors,
                ..HookConfig::default()
            },
            strings: vec![],
            cel: vec![],
            net_actions: vec![],
            uprobe_override: None,
        };
        Plan {
            policies: vec![PolicyPlan {
                name: "unlinks".into(),
                namespace: None,
                file: "p.yaml".into(),
            }],
            hooks: vec![
                hook(
                    7,
                    Attach::Tracepoint {
                        subsystem: "syscalls".into(),
                        event: "sys_enter_unlinkat".into(),
                    },
                    EventKind::Tracepoint,
                    "sys_enter_unlinkat",
                    2,
                ),
                hook(
                    2,
                    Attach::RawSyscall {
                        symbol: "__x64_sys_openat".into(),
                        nr: 257,
                    },
                    EventKind::Kprobe,
                    "__x64_sys_openat",
                    0,
                ),
            ],
            skipped: vec![],
            enforcers: vec![],
        }
    }

    fn hook_event(slot: u32, selector: u32, action: u32) -> Event {
        Event::Hook(Hook {
            header: Header::default(),
            slot,
            selector,
            action,
            action_arg: 0,
            syscall: 0,
            args: vec![],
            ret: None,
            stacks: None,
        })
    }

    /// The exposition with each family's samples sorted (`prometheus-client` keeps a family's
    /// series in a hash map, so their order varies from run to run).
    fn sorted(text: &str) -> String {
        let mut out = Vec::new();
        let mut samples: Vec<&str> = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                samples.sort();
                out.append(&mut samples);
                out.push(line);
            } else {
                samples.push(line);
            }
        }
        samples.sort();
        out.append(&mut samples);
        out.join("\n")
    }

    #[test]
    fn exposition() {
        let m = Metrics::new();
        m.attached(&plan());
        let exec = Event::Exec(Exec {
            header: Header::default(),
            ppid: 1,
            start_boottime: 0,
            nspid: 0,
            auid: u32::MAX,
            binary: "/usr/bin/rm".into(),
            cwd: "/".into(),
            argv: vec![],
            args: vec![],
            args_total: 0,
            args_data: 0,
            filename_len: 0,
            cgroup: String::new(),
            cred: Default::default(),
            ns: [0; policyctl_runtime::layout::NS_KINDS],
        });
        m.record(Some(&exec), true);
        m.record(Some(&exec), false); // not rendered: not an event
        m.record(Some(&hook_event(7, 1, action::SIGKILL)), true);
        m.record(Some(&hook_event(7, 0, action::POST)), true);
        m.record(Some(&hook_event(2, 255, action::POST)), true);
        m.record(Some(&hook_event(9, 0, action::POST)), true); // no such slot
        m.record(None, false);
        m.lost(3);
        m.lost(2); // never goes back
        let text = m.text().replace(env!("CARGO_PKG_VERSION"), "<version>");
        insta::assert_snapshot!(sorted(&text));
    }

    #[test]
    fn server_answers_metrics_and_404() {
        let server = Server::bind(&parse_addr("127.0.0.1:0").unwrap()).unwrap();
        let addr = server.local_addr().unwrap();
        server.spawn(Arc::new(Metrics::new()));
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(
            ok.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")),
            "{ok}"
        );
        assert!(ok.contains("# TYPE policyctl_events counter"), "{ok}");
        assert!(ok.ends_with("# EOF\n"), "{ok}");
        let head = get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        let missing = get(addr, "GET / HTTP/1.1\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");
        let post = get(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
        // a request that never ends its headers is cut at MAX_REQUEST
        let start = "GET /metrics HTTP/1.1\r\nX: ";
        let long = format!("{start}{}", "a".repeat(MAX_REQUEST - start.len()));
        let big = get(addr, &long);
        assert!(big.starts_with("HTTP/1.1 431 "), "{big}");
    }

    #[test]
    fn addresses() {
        let any = parse_addr(":2112").unwrap().addrs;
        assert_eq!(any[0].to_string(), "[::]:2112");
        assert_eq!(any[1].to_string(), "0.0.0.0:2112");
        assert_eq!(
            parse_addr("127.0.0.1:2112").unwrap().addrs[0].to_string(),
            "127.0.0.1:2112"
        );
        for bad in ["", "2112", ":", ":x", ":70000", "127.0.0.1"] {
            assert!(parse_addr(bad).is_err(), "{bad}");
        }
    }
}
