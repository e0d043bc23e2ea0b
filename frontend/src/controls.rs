//! The run form: every knob has a label, a documented range, and is reachable by keyboard. The
//! knobs are a table ([`GROUPS`]) over one signal holding the spec being edited.

use leptos::prelude::*;
use poollab_shared::{
    Limits, LoadShape, OutageMode, OutageSpec, PoolerMode, PoolerSpec, Query, RunSpec, RunView, Statements, Strategy,
    SweepSpec, Tls,
};

/// One knob of the run form: how to read it from a spec and write it back. The form is this
/// table, drawn by one function per kind of input, so adding a knob adds a row, not code.
enum Knob {
    Number {
        id: &'static str,
        label: &'static str,
        hint: &'static str,
        range: std::ops::RangeInclusive<u64>,
        get: fn(&RunSpec) -> u64,
        set: fn(&mut RunSpec, u64),
        /// When the knob does not apply (greyed out).
        off: fn(&RunSpec) -> bool,
    },
    Check {
        id: &'static str,
        label: &'static str,
        hint: &'static str,
        get: fn(&RunSpec) -> bool,
        set: fn(&mut RunSpec, bool),
    },
    Choice {
        id: &'static str,
        label: &'static str,
        options: &'static [&'static str],
        get: fn(&RunSpec) -> usize,
        set: fn(&mut RunSpec, usize),
    },
}

/// A fieldset of knobs.
struct Group {
    legend: &'static str,
    /// When none of the group applies.
    off: fn(&RunSpec) -> bool,
    knobs: &'static [Knob],
}

fn never(_: &RunSpec) -> bool {
    false
}
fn naive(s: &RunSpec) -> bool {
    s.strategy == Strategy::Naive
}
fn burst(s: &RunSpec) -> bool {
    s.load.shape == LoadShape::Burst
}
fn no_outage(s: &RunSpec) -> bool {
    s.network.outage.is_none()
}
fn no_pooler(s: &RunSpec) -> bool {
    s.pooler.is_none()
}
fn u32_of(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

const LOAD_SHAPES: [LoadShape; 4] = [LoadShape::Burst, LoadShape::Rate, LoadShape::Ramp, LoadShape::Random];
const QUERIES: [Query; 3] = [Query::SelectUser, Query::Sleep, Query::Heavy];
const STATEMENTS: [Statements; 3] = [Statements::Cached, Statements::Uncached, Statements::Unnamed];
const OUTAGES: [OutageMode; 2] = [OutageMode::Refuse, OutageMode::Blackhole];
const POOLER_MODES: [PoolerMode; 2] = [PoolerMode::Transaction, PoolerMode::Session];
const TLS: [Tls; 3] = [Tls::Off, Tls::On, Tls::Both];

fn index_of<T: PartialEq>(all: &[T], v: &T) -> usize {
    all.iter().position(|x| x == v).unwrap_or(0)
}

#[rustfmt::skip]
const GROUPS: &[Group] = &[
    Group {
        legend: "The load",
        off: never,
        knobs: &[
            Knob::Number {
                id: "requests",
                label: "Requests",
                hint: "how many in all",
                range: Limits::REQUESTS,
                get: |s| s.requests.into(),
                set: |s, v| s.requests = u32_of(v),
                off: never,
            },
            Knob::Number {
                id: "concurrency",
                label: "Concurrency",
                hint: "in flight at once",
                range: Limits::CONCURRENCY,
                get: |s| s.concurrency.into(),
                set: |s, v| s.concurrency = u32_of(v),
                off: never,
            },
            Knob::Choice {
                id: "shape",
                label: "Arrivals",
                options: &["burst", "steady rate", "ramp", "random (Poisson)"],
                get: |s| index_of(&LOAD_SHAPES, &s.load.shape),
                set: |s, i| s.load.shape = LOAD_SHAPES[i],
            },
            Knob::Number {
                id: "rate",
                label: "Rate (requests/s)",
                hint: "steady or random rate, or where a ramp starts",
                range: Limits::RATE_PER_S,
                get: |s| s.load.rate_per_s.into(),
                set: |s, v| s.load.rate_per_s = u32_of(v),
                off: burst,
            },
            Knob::Number {
                id: "ramp-to",
                label: "Ramp to (requests/s)",
                hint: "where a ramp ends",
                range: Limits::RATE_PER_S,
                get: |s| s.load.ramp_to_per_s.into(),
                set: |s, v| s.load.ramp_to_per_s = u32_of(v),
                off: burst,
            },
            Knob::Number {
                id: "linger",
                label: "Watch afterwards (ms)",
                hint: "keep watching the idle pool after the last request",
                range: Limits::LINGER_MS,
                get: |s| s.load.linger_ms,
                set: |s, v| s.load.linger_ms = v,
                off: never,
            },
            Knob::Number {
                id: "instances",
                label: "App instances",
                hint: "each with its own pool",
                range: Limits::INSTANCES,
                get: |s| s.instances.into(),
                set: |s, v| s.instances = u32_of(v),
                off: never,
            },
        ],
    },
    Group {
        legend: "The work of each request",
        off: never,
        knobs: &[
            Knob::Choice {
                id: "query",
                label: "Query",
                options: &["lookup by id", "slow (pg_sleep)", "unindexed (table scan)"],
                get: |s| index_of(&QUERIES, &s.work.query),
                set: |s, i| s.work.query = QUERIES[i],
            },
            Knob::Number {
                id: "sleep-ms",
                label: "Query time (ms)",
                hint: "for the slow query",
                range: Limits::SLEEP_MS,
                get: |s| s.work.sleep_ms,
                set: |s, v| s.work.sleep_ms = v,
                off: never,
            },
            Knob::Number {
                id: "hold-ms",
                label: "Hold connection (ms)",
                hint: "other work between two queries, connection held",
                range: Limits::HOLD_MS,
                get: |s| s.work.hold_ms,
                set: |s, v| s.work.hold_ms = v,
                off: never,
            },
            Knob::Number {
                id: "users",
                label: "Distinct users",
                hint: "fewer: more repeats for a cache",
                range: Limits::USERS,
                get: |s| s.work.users.into(),
                set: |s, v| s.work.users = u32_of(v),
                off: never,
            },
            Knob::Check {
                id: "transaction",
                label: "In a transaction",
                hint: "BEGIN … COMMIT around the work (and the hold)",
                get: |s| s.work.transaction,
                set: |s, v| s.work.transaction = v,
            },
            Knob::Number {
                id: "idle-in-tx",
                label: "Idle in transaction timeout (ms)",
                hint: "the server ends a session idle in a transaction this long; 0: never",
                range: Limits::IDLE_IN_TRANSACTION_TIMEOUT_MS,
                get: |s| s.work.idle_in_transaction_timeout_ms,
                set: |s, v| s.work.idle_in_transaction_timeout_ms = v,
                off: never,
            },
            Knob::Choice {
                id: "statements",
                label: "Statements (sqlx)",
                options: &["named, cached (default)", "named, cache off", "unnamed"],
                get: |s| index_of(&STATEMENTS, &s.work.statements),
                set: |s, i| s.work.statements = STATEMENTS[i],
            },
        ],
    },
    Group {
        legend: "The pool (pooled only)",
        off: naive,
        knobs: &[
            Knob::Number {
                id: "pool-max",
                label: "Pool max size",
                hint: "connections at most, per instance",
                range: Limits::MAX_CONNECTIONS,
                get: |s| s.pool.max_connections.into(),
                set: |s, v| s.pool.max_connections = u32_of(v),
                off: naive,
            },
            Knob::Number {
                id: "pool-min",
                label: "Pool min size",
                hint: "opened before the burst",
                range: Limits::MIN_CONNECTIONS,
                get: |s| s.pool.min_connections.into(),
                set: |s, v| s.pool.min_connections = u32_of(v),
                off: naive,
            },
            Knob::Number {
                id: "acquire-timeout",
                label: "Acquire timeout (ms)",
                hint: "wait this long for a connection, then fail",
                range: Limits::ACQUIRE_TIMEOUT_MS,
                get: |s| s.pool.acquire_timeout_ms,
                set: |s, v| s.pool.acquire_timeout_ms = v,
                off: naive,
            },
            Knob::Number {
                id: "idle-timeout",
                label: "Idle timeout (ms)",
                hint: "close idle connections after; 0: never",
                range: Limits::IDLE_TIMEOUT_MS,
                get: |s| s.pool.idle_timeout_ms,
                set: |s, v| s.pool.idle_timeout_ms = v,
                off: naive,
            },
            Knob::Number {
                id: "max-lifetime",
                label: "Max lifetime (ms)",
                hint: "replace connections older than; 0: never",
                range: Limits::MAX_LIFETIME_MS,
                get: |s| s.pool.max_lifetime_ms,
                set: |s, v| s.pool.max_lifetime_ms = v,
                off: naive,
            },
            Knob::Check {
                id: "test-before-acquire",
                label: "Test before acquire",
                hint: "ping an idle connection before handing it out",
                get: |s| s.pool.test_before_acquire,
                set: |s, v| s.pool.test_before_acquire = v,
            },
        ],
    },
    Group {
        legend: "A pooler in front of the server (PgBouncer)",
        off: never,
        knobs: &[
            Knob::Choice {
                id: "pooler",
                label: "PgBouncer",
                options: &["none", "transaction mode", "session mode"],
                get: |s| s.pooler.as_ref().map_or(0, |p| 1 + index_of(&POOLER_MODES, &p.mode)),
                set: |s, i| {
                    s.pooler = i
                        .checked_sub(1)
                        .map(|m| PoolerSpec { mode: POOLER_MODES[m], ..s.pooler.clone().unwrap_or_default() });
                },
            },
            Knob::Number {
                id: "pooler-size",
                label: "Its server connections",
                hint: "pool_size: most connections it opens to the server",
                range: Limits::POOLER_POOL_SIZE,
                get: |s| s.pooler.as_ref().map_or(PoolerSpec::default().pool_size, |p| p.pool_size).into(),
                set: |s, v| {
                    if let Some(p) = s.pooler.as_mut() {
                        p.pool_size = u32_of(v)
                    }
                },
                off: no_pooler,
            },
            Knob::Number {
                id: "pooler-wait",
                label: "Query wait timeout (ms)",
                hint: "a client waits this long for a server connection",
                range: Limits::POOLER_QUERY_WAIT_TIMEOUT_MS,
                get: |s| {
                    s.pooler.as_ref().map_or(PoolerSpec::default().query_wait_timeout_ms, |p| p.query_wait_timeout_ms)
                },
                set: |s, v| {
                    if let Some(p) = s.pooler.as_mut() {
                        p.query_wait_timeout_ms = v
                    }
                },
                off: no_pooler,
            },
        ],
    },
    Group {
        legend: "The network",
        off: never,
        knobs: &[
            Knob::Number {
                id: "delay-ms",
                label: "Added round trip (ms)",
                hint: "distance between app and database",
                range: Limits::DELAY_MS,
                get: |s| s.network.delay_ms,
                set: |s, v| s.network.delay_ms = v,
                off: never,
            },
            Knob::Choice {
                id: "tls",
                label: "TLS",
                options: &["as the lab connects", "off", "on (verify-full)", "every other connect (naive)"],
                get: |s| s.tls.map_or(0, |t| 1 + index_of(&TLS, &t)),
                set: |s, i| s.tls = i.checked_sub(1).map(|t| TLS[t]),
            },
            Knob::Choice {
                id: "outage",
                label: "Outage",
                options: &["none", "refuse (server gone)", "blackhole (packets lost)"],
                get: |s| s.network.outage.as_ref().map_or(0, |o| 1 + index_of(&OUTAGES, &o.mode)),
                set: |s, i| {
                    s.network.outage = i.checked_sub(1).map(|m| {
                        let was = s.network.outage.clone();
                        OutageSpec {
                            mode: OUTAGES[m],
                            start_ms: was.as_ref().map_or(500, |o| o.start_ms),
                            duration_ms: was.map_or(2_000, |o| o.duration_ms),
                        }
                    });
                },
            },
            Knob::Number {
                id: "outage-start",
                label: "Outage starts at (ms)",
                hint: "after the run starts",
                range: Limits::OUTAGE_START_MS,
                get: |s| s.network.outage.as_ref().map_or(500, |o| o.start_ms),
                set: |s, v| {
                    if let Some(o) = s.network.outage.as_mut() {
                        o.start_ms = v
                    }
                },
                off: no_outage,
            },
            Knob::Number {
                id: "outage-for",
                label: "Outage lasts (ms)",
                hint: "",
                range: Limits::OUTAGE_DURATION_MS,
                get: |s| s.network.outage.as_ref().map_or(2_000, |o| o.duration_ms),
                set: |s, v| {
                    if let Some(o) = s.network.outage.as_mut() {
                        o.duration_ms = v
                    }
                },
                off: no_outage,
            },
        ],
    },
    Group {
        legend: "Guards in front of the database",
        off: never,
        knobs: &[
            Knob::Check {
                id: "breaker",
                label: "Circuit breaker",
                hint: "fail fast while the database is failing",
                get: |s| s.breaker.enabled,
                set: |s, v| s.breaker.enabled = v,
            },
            Knob::Number {
                id: "breaker-threshold",
                label: "Opens after failures in a row",
                hint: "",
                range: Limits::BREAKER_FAILURE_THRESHOLD,
                get: |s| s.breaker.failure_threshold.into(),
                set: |s, v| s.breaker.failure_threshold = u32_of(v),
                off: never,
            },
            Knob::Number {
                id: "breaker-open",
                label: "Stays open (ms)",
                hint: "then lets one trial through",
                range: Limits::BREAKER_OPEN_MS,
                get: |s| s.breaker.open_ms,
                set: |s, v| s.breaker.open_ms = v,
                off: never,
            },
            Knob::Check {
                id: "cache",
                label: "Cache answers",
                hint: "a hit needs no connection",
                get: |s| s.cache.enabled,
                set: |s, v| s.cache.enabled = v,
            },
            Knob::Number {
                id: "cache-ttl",
                label: "Cache freshness (ms)",
                hint: "",
                range: Limits::CACHE_TTL_MS,
                get: |s| s.cache.ttl_ms,
                set: |s, v| s.cache.ttl_ms = v,
                off: never,
            },
        ],
    },
    Group {
        legend: "A bug to study: leaks",
        off: never,
        knobs: &[
            Knob::Number {
                id: "leak-percent",
                label: "Requests that leak (%)",
                hint: "never give their connection back",
                range: Limits::LEAK_PERCENT,
                get: |s| s.leak.percent.into(),
                set: |s, v| s.leak.percent = u32_of(v),
                off: never,
            },
            Knob::Number {
                id: "leak-detect",
                label: "Leak detection (ms)",
                hint: "flag connections held longer; 0: off",
                range: Limits::LEAK_DETECT_AFTER_MS,
                get: |s| s.leak.detect_after_ms,
                set: |s, v| s.leak.detect_after_ms = v,
                off: never,
            },
        ],
    },
];

/// One knob, bound to the form's spec. Every input has a label, and a number says its range.
fn knob(k: &'static Knob, spec: RwSignal<RunSpec>) -> AnyView {
    match k {
        Knob::Number { id, label, hint, range, get, set, off } => {
            let (min, max) = (*range.start(), *range.end());
            let (get, set, off) = (*get, *set, *off);
            view! {
                <div class="field">
                    <label for=*id>{*label}</label>
                    <input
                        id=*id
                        type="number"
                        min=min
                        max=max
                        prop:value=move || spec.with(get).to_string()
                        prop:disabled=move || spec.with(off)
                        // While typing, take any value in range (Enter may submit before
                        // `change`); on leaving the field, pull an out-of-range value into range.
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>()
                                && (min..=max).contains(&v)
                            {
                                spec.update(|s| set(s, v));
                            }
                        }
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                                spec.update(|s| set(s, v.clamp(min, max)));
                            }
                        }
                    />
                    <small>{*hint} " (" {min} "–" {max} ")"</small>
                </div>
            }
            .into_any()
        }
        Knob::Check { id, label, hint, get, set } => {
            let (get, set) = (*get, *set);
            view! {
                <div class="field check">
                    <input id=*id type="checkbox" prop:checked=move || spec.with(get) on:change=move |ev| spec.update(|s| set(s, event_target_checked(&ev))) />
                    <label for=*id>{*label}</label>
                    <small>{*hint}</small>
                </div>
            }
            .into_any()
        }
        Knob::Choice { id, label, options, get, set } => {
            let (get, set) = (*get, *set);
            view! {
                <div class="field">
                    <label for=*id>{*label}</label>
                    <select
                        id=*id
                        on:change=move |ev| {
                            let picked = event_target_value(&ev);
                            if let Some(i) = options.iter().position(|o| *o == picked) {
                                spec.update(|s| set(s, i));
                            }
                        }
                    >
                        {options
                            .iter()
                            .enumerate()
                            .map(|(i, o)| view! { <option value=*o prop:selected=move || spec.with(get) == i>{*o}</option> })
                            .collect_view()}
                    </select>
                </div>
            }
            .into_any()
        }
    }
}

/// The run form. Its knobs start from `initial` (a lesson's preset when opened from a lesson).
#[component]
pub fn Controls(
    initial: RunSpec,
    on_started: impl Fn(RunView) + Copy + 'static,
    on_sweep: impl Fn(String) + Copy + 'static,
) -> impl IntoView {
    let form = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let sizes = RwSignal::new("1, 2, 4, 8, 16, 32".to_owned());
    let busy = RwSignal::new(false);
    let spec = move || {
        let mut s = form.get_untracked();
        s.pool.min_connections = s.pool.min_connections.min(s.pool.max_connections);
        s
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let spec = spec();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::api::start_run(&spec).await {
                Ok(id) => match crate::api::get_run(&id).await {
                    Ok(view) => on_started(view),
                    Err(e) => error.set(Some(e)),
                },
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let sweep = move |_| {
        let parsed: Result<Vec<u32>, _> =
            sizes.get_untracked().split(',').map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::parse).collect();
        let Ok(sizes) = parsed else {
            error.set(Some("Pool sizes: whole numbers separated by commas.".into()));
            return;
        };
        let sweep = SweepSpec { run: RunSpec { strategy: Strategy::Pooled, ..spec() }, sizes };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match crate::api::start_sweep(&sweep).await {
                Ok(id) => on_sweep(id),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let choice = move |value: Strategy, label: &'static str, explain: &'static str| {
        view! {
            <label class="choice">
                <input
                    type="radio"
                    name="strategy"
                    value=label
                    prop:checked=move || form.with(|s| s.strategy == value)
                    on:change=move |_| form.update(|s| s.strategy = value)
                />
                <span><strong>{label}</strong> " " {explain}</span>
            </label>
        }
    };

    view! {
        <form on:submit=submit>
            <fieldset>
                <legend>"How does each request get its connection?"</legend>
                {choice(Strategy::Naive, "naive", "open a new connection, query, close")}
                {choice(Strategy::Pooled, "pooled", "borrow one from a pool, query, give it back")}
            </fieldset>
            {GROUPS
                .iter()
                .map(|g| {
                    let off = g.off;
                    view! {
                        <fieldset prop:disabled=move || form.with(off)>
                            <legend>{g.legend}</legend>
                            {g.knobs.iter().map(|k| knob(k, form)).collect_view()}
                        </fieldset>
                    }
                })
                .collect_view()}
            <button id="run" type="submit" prop:disabled=move || busy.get()>"Run"</button>
            <fieldset class="sweep-form">
                <legend>"Or: the same load over several pool sizes"</legend>
                <div class="field">
                    <label for="sweep-sizes">"Pool sizes"</label>
                    <input id="sweep-sizes" type="text" inputmode="numeric" prop:value=move || sizes.get() on:input=move |ev| sizes.set(event_target_value(&ev)) />
                    <small>"comma-separated, up to 12; one pooled run each"</small>
                </div>
                <button id="sweep" type="button" class="secondary" prop:disabled=move || busy.get() on:click=sweep>"Sweep pool sizes"</button>
            </fieldset>
            <p class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}
