//! The run form: every knob has a label, a documented range, and is reachable by keyboard.

use leptos::prelude::*;
use poollab_shared::{
    BreakerSpec, CacheSpec, LeakSpec, Limits, LoadShape, LoadSpec, NetworkSpec, OutageMode, OutageSpec, PoolSpec,
    Query, RunSpec, RunView, Strategy, SweepSpec, WorkSpec,
};

/// A labelled number input bound to a signal, clamped to its documented range. (Plain functions
/// rather than components: the form has dozens of fields, and a component's props builder per
/// call would weigh on the page.)
fn number_field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<u64>,
    range: std::ops::RangeInclusive<u64>,
    hint: &'static str,
    disabled: Signal<bool>,
) -> impl IntoView + use<> {
    let (min, max) = (*range.start(), *range.end());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                type="number"
                min=min
                max=max
                prop:value=move || value.get().to_string()
                prop:disabled=move || disabled.get()
                // While typing, take any value in range (Enter may submit before `change`);
                // on leaving the field, pull an out-of-range value back into range.
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).trim().parse::<u64>()
                        && (min..=max).contains(&v)
                    {
                        value.set(v);
                    }
                }
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).trim().parse::<u64>() {
                        value.set(v.clamp(min, max));
                    }
                }
            />
            <small>{hint} " (" {min} "–" {max} ")"</small>
        </div>
    }
}

/// A labelled checkbox bound to a signal.
fn check_field(
    id: &'static str,
    label: &'static str,
    value: RwSignal<bool>,
    hint: &'static str,
) -> impl IntoView + use<> {
    view! {
        <div class="field check">
            <input id=id type="checkbox" prop:checked=move || value.get() on:change=move |ev| value.set(event_target_checked(&ev)) />
            <label for=id>{label}</label>
            <small>{hint}</small>
        </div>
    }
}

/// A labelled drop-down of `(value, label)` options bound to a signal.
fn select_field<T: Copy + PartialEq + Send + Sync + 'static>(
    id: &'static str,
    label: &'static str,
    value: RwSignal<T>,
    options: Vec<(T, &'static str)>,
) -> impl IntoView + use<T> {
    let choices = options.clone();
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select
                id=id
                on:change=move |ev| {
                    let picked = event_target_value(&ev);
                    if let Some((v, _)) = choices.iter().find(|(_, l)| *l == picked) {
                        value.set(*v);
                    }
                }
            >
                {options
                    .into_iter()
                    .map(|(v, l)| view! { <option value=l prop:selected=move || value.get() == v>{l}</option> })
                    .collect_view()}
            </select>
        </div>
    }
}

/// The run form. Its knobs start from `initial` (a lesson's preset when opened from a lesson).
#[component]
pub fn Controls(
    initial: RunSpec,
    on_started: impl Fn(RunView) + Copy + 'static,
    on_sweep: impl Fn(String) + Copy + 'static,
) -> impl IntoView {
    let RunSpec { pool: p, work: w, load: l, network: n, breaker: b, cache: c, leak: k, .. } = initial.clone();
    let strategy = RwSignal::new(initial.strategy);
    let requests = RwSignal::new(u64::from(initial.requests));
    let concurrency = RwSignal::new(u64::from(initial.concurrency));
    let pool_max = RwSignal::new(u64::from(p.max_connections));
    let acquire_timeout = RwSignal::new(p.acquire_timeout_ms);
    let sleep_ms = RwSignal::new(w.sleep_ms);
    let query = RwSignal::new(w.query);
    let hold_ms = RwSignal::new(w.hold_ms);
    let users = RwSignal::new(u64::from(w.users));
    let transaction = RwSignal::new(w.transaction);
    let idle_in_tx_timeout = RwSignal::new(w.idle_in_transaction_timeout_ms);
    let shape = RwSignal::new(l.shape);
    let rate = RwSignal::new(u64::from(l.rate_per_s));
    let ramp_to = RwSignal::new(u64::from(l.ramp_to_per_s));
    let instances = RwSignal::new(u64::from(initial.instances));
    let linger = RwSignal::new(l.linger_ms);
    let pool_min = RwSignal::new(u64::from(p.min_connections));
    let idle_timeout = RwSignal::new(p.idle_timeout_ms);
    let max_lifetime = RwSignal::new(p.max_lifetime_ms);
    let test_before_acquire = RwSignal::new(p.test_before_acquire);
    let delay_ms = RwSignal::new(n.delay_ms);
    let outage = RwSignal::new(n.outage.as_ref().map(|o| o.mode));
    let outage_start = RwSignal::new(n.outage.as_ref().map_or(500, |o| o.start_ms));
    let outage_for = RwSignal::new(n.outage.as_ref().map_or(2_000, |o| o.duration_ms));
    let breaker_on = RwSignal::new(b.enabled);
    let breaker_threshold = RwSignal::new(u64::from(b.failure_threshold));
    let breaker_open_ms = RwSignal::new(b.open_ms);
    let cache_on = RwSignal::new(c.enabled);
    let cache_ttl = RwSignal::new(c.ttl_ms);
    let leak_percent = RwSignal::new(u64::from(k.percent));
    let leak_detect_ms = RwSignal::new(k.detect_after_ms);
    let error = RwSignal::new(None::<String>);
    let sizes = RwSignal::new("1, 2, 4, 8, 16, 32".to_owned());
    let busy = RwSignal::new(false);
    let naive = Signal::derive(move || strategy.get() == Strategy::Naive);
    let burst = Signal::derive(move || shape.get() == LoadShape::Burst);
    let no_outage = Signal::derive(move || outage.get().is_none());

    let spec = move || RunSpec {
        strategy: strategy.get_untracked(),
        requests: requests.get_untracked() as u32,
        concurrency: concurrency.get_untracked() as u32,
        instances: instances.get_untracked() as u32,
        pool: PoolSpec {
            max_connections: pool_max.get_untracked() as u32,
            min_connections: pool_min.get_untracked().min(pool_max.get_untracked()) as u32,
            acquire_timeout_ms: acquire_timeout.get_untracked(),
            idle_timeout_ms: idle_timeout.get_untracked(),
            max_lifetime_ms: max_lifetime.get_untracked(),
            test_before_acquire: test_before_acquire.get_untracked(),
        },
        work: WorkSpec {
            query: query.get_untracked(),
            sleep_ms: sleep_ms.get_untracked(),
            hold_ms: hold_ms.get_untracked(),
            users: users.get_untracked() as u32,
            transaction: transaction.get_untracked(),
            idle_in_transaction_timeout_ms: idle_in_tx_timeout.get_untracked(),
        },
        load: LoadSpec {
            shape: shape.get_untracked(),
            rate_per_s: rate.get_untracked() as u32,
            ramp_to_per_s: ramp_to.get_untracked() as u32,
            linger_ms: linger.get_untracked(),
        },
        network: NetworkSpec {
            delay_ms: delay_ms.get_untracked(),
            outage: outage.get_untracked().map(|mode| OutageSpec {
                mode,
                start_ms: outage_start.get_untracked(),
                duration_ms: outage_for.get_untracked(),
            }),
        },
        breaker: BreakerSpec {
            enabled: breaker_on.get_untracked(),
            failure_threshold: breaker_threshold.get_untracked() as u32,
            open_ms: breaker_open_ms.get_untracked(),
        },
        cache: CacheSpec { enabled: cache_on.get_untracked(), ttl_ms: cache_ttl.get_untracked() },
        leak: LeakSpec {
            percent: leak_percent.get_untracked() as u32,
            detect_after_ms: leak_detect_ms.get_untracked(),
        },
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
                    prop:checked=move || strategy.get() == value
                    on:change=move |_| strategy.set(value)
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
            <fieldset>
                <legend>"The load"</legend>
                {number_field("requests", "Requests", requests, Limits::REQUESTS, "how many in all", Signal::stored(false))}
                {number_field("concurrency", "Concurrency", concurrency, Limits::CONCURRENCY, "in flight at once", Signal::stored(false))}
                {select_field("shape", "Arrivals", shape, vec![(LoadShape::Burst, "burst"), (LoadShape::Rate, "steady rate"), (LoadShape::Ramp, "ramp")])}
                {number_field("rate", "Rate (requests/s)", rate, Limits::RATE_PER_S, "steady rate, or where a ramp starts", burst)}
                {number_field("ramp-to", "Ramp to (requests/s)", ramp_to, Limits::RATE_PER_S, "where a ramp ends", burst)}
                {number_field("linger", "Watch afterwards (ms)", linger, Limits::LINGER_MS, "keep watching the idle pool after the last request", Signal::stored(false))}
                {number_field("instances", "App instances", instances, Limits::INSTANCES, "each with its own pool", Signal::stored(false))}
            </fieldset>
            <fieldset>
                <legend>"The work of each request"</legend>
                {select_field("query", "Query", query, vec![(Query::SelectUser, "lookup by id"), (Query::Sleep, "slow (pg_sleep)"), (Query::Heavy, "unindexed (table scan)")])}
                {number_field("sleep-ms", "Query time (ms)", sleep_ms, Limits::SLEEP_MS, "for the slow query", Signal::stored(false))}
                {number_field("hold-ms", "Hold connection (ms)", hold_ms, Limits::HOLD_MS, "other work between two queries, connection held", Signal::stored(false))}
                {number_field("users", "Distinct users", users, Limits::USERS, "fewer: more repeats for a cache", Signal::stored(false))}
                {check_field("transaction", "In a transaction", transaction, "BEGIN … COMMIT around the work (and the hold)")}
                {number_field("idle-in-tx", "Idle in transaction timeout (ms)", idle_in_tx_timeout, Limits::IDLE_IN_TRANSACTION_TIMEOUT_MS, "the server ends a session idle in a transaction this long; 0: never", Signal::stored(false))}
            </fieldset>
            <fieldset prop:disabled=naive>
                <legend>"The pool (pooled only)"</legend>
                {number_field("pool-max", "Pool max size", pool_max, Limits::MAX_CONNECTIONS, "connections at most, per instance", naive)}
                {number_field("pool-min", "Pool min size", pool_min, Limits::MIN_CONNECTIONS, "opened before the burst", naive)}
                {number_field("acquire-timeout", "Acquire timeout (ms)", acquire_timeout, Limits::ACQUIRE_TIMEOUT_MS, "wait this long for a connection, then fail", naive)}
                {number_field("idle-timeout", "Idle timeout (ms)", idle_timeout, Limits::IDLE_TIMEOUT_MS, "close idle connections after; 0: never", naive)}
                {number_field("max-lifetime", "Max lifetime (ms)", max_lifetime, Limits::MAX_LIFETIME_MS, "replace connections older than; 0: never", naive)}
                {check_field("test-before-acquire", "Test before acquire", test_before_acquire, "ping an idle connection before handing it out")}
            </fieldset>
            <fieldset>
                <legend>"The network"</legend>
                {number_field("delay-ms", "Added round trip (ms)", delay_ms, Limits::DELAY_MS, "distance between app and database", Signal::stored(false))}
                {select_field("outage", "Outage", outage, vec![(None, "none"), (Some(OutageMode::Refuse), "refuse (server gone)"), (Some(OutageMode::Blackhole), "blackhole (packets lost)")])}
                {number_field("outage-start", "Outage starts at (ms)", outage_start, Limits::OUTAGE_START_MS, "after the run starts", no_outage)}
                {number_field("outage-for", "Outage lasts (ms)", outage_for, Limits::OUTAGE_DURATION_MS, "", no_outage)}
            </fieldset>
            <fieldset>
                <legend>"Guards in front of the database"</legend>
                {check_field("breaker", "Circuit breaker", breaker_on, "fail fast while the database is failing")}
                {number_field("breaker-threshold", "Opens after failures in a row", breaker_threshold, Limits::BREAKER_FAILURE_THRESHOLD, "", Signal::stored(false))}
                {number_field("breaker-open", "Stays open (ms)", breaker_open_ms, Limits::BREAKER_OPEN_MS, "then lets one trial through", Signal::stored(false))}
                {check_field("cache", "Cache answers", cache_on, "a hit needs no connection")}
                {number_field("cache-ttl", "Cache freshness (ms)", cache_ttl, Limits::CACHE_TTL_MS, "", Signal::stored(false))}
            </fieldset>
            <fieldset>
                <legend>"A bug to study: leaks"</legend>
                {number_field("leak-percent", "Requests that leak (%)", leak_percent, Limits::LEAK_PERCENT, "never give their connection back", Signal::stored(false))}
                {number_field("leak-detect", "Leak detection (ms)", leak_detect_ms, Limits::LEAK_DETECT_AFTER_MS, "flag connections held longer; 0: off", Signal::stored(false))}
            </fieldset>
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
