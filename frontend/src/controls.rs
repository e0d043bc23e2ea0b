//! The run form: every knob has a label, a documented range, and is reachable by keyboard.

use leptos::prelude::*;
use poollab_shared::{
    BreakerSpec, CacheSpec, LeakSpec, Limits, LoadShape, LoadSpec, NetworkSpec, OutageMode, OutageSpec, PoolSpec,
    Query, RunSpec, RunView, Strategy, SweepSpec, WorkSpec,
};

/// A labelled number input bound to a signal, clamped to its documented range.
#[component]
fn NumberField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<u64>,
    range: std::ops::RangeInclusive<u64>,
    #[prop(optional)] hint: &'static str,
    #[prop(into, optional)] disabled: Signal<bool>,
) -> impl IntoView {
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
#[component]
fn CheckField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<bool>,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    view! {
        <div class="field check">
            <input id=id type="checkbox" prop:checked=move || value.get() on:change=move |ev| value.set(event_target_checked(&ev)) />
            <label for=id>{label}</label>
            <small>{hint}</small>
        </div>
    }
}

/// A labelled drop-down of `(value, label)` options bound to a signal.
#[component]
fn SelectField<T: Copy + PartialEq + Send + Sync + 'static>(
    id: &'static str,
    label: &'static str,
    value: RwSignal<T>,
    options: Vec<(T, &'static str)>,
) -> impl IntoView {
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
                <NumberField id="requests" label="Requests" value=requests range=Limits::REQUESTS hint="how many in all" />
                <NumberField id="concurrency" label="Concurrency" value=concurrency range=Limits::CONCURRENCY hint="in flight at once" />
                <SelectField id="shape" label="Arrivals" value=shape options=vec![(LoadShape::Burst, "burst"), (LoadShape::Rate, "steady rate"), (LoadShape::Ramp, "ramp")] />
                <NumberField id="rate" label="Rate (requests/s)" value=rate range=Limits::RATE_PER_S hint="steady rate, or where a ramp starts" disabled=burst />
                <NumberField id="ramp-to" label="Ramp to (requests/s)" value=ramp_to range=Limits::RATE_PER_S hint="where a ramp ends" disabled=burst />
                <NumberField id="linger" label="Watch afterwards (ms)" value=linger range=Limits::LINGER_MS hint="keep watching the idle pool after the last request" />
                <NumberField id="instances" label="App instances" value=instances range=Limits::INSTANCES hint="each with its own pool" />
            </fieldset>
            <fieldset>
                <legend>"The work of each request"</legend>
                <SelectField id="query" label="Query" value=query options=vec![(Query::SelectUser, "lookup by id"), (Query::Sleep, "slow (pg_sleep)"), (Query::Heavy, "unindexed (table scan)")] />
                <NumberField id="sleep-ms" label="Query time (ms)" value=sleep_ms range=Limits::SLEEP_MS hint="for the slow query" />
                <NumberField id="hold-ms" label="Hold connection (ms)" value=hold_ms range=Limits::HOLD_MS hint="other work between two queries, connection held" />
                <NumberField id="users" label="Distinct users" value=users range=Limits::USERS hint="fewer: more repeats for a cache" />
            </fieldset>
            <fieldset prop:disabled=naive>
                <legend>"The pool (pooled only)"</legend>
                <NumberField id="pool-max" label="Pool max size" value=pool_max range=Limits::MAX_CONNECTIONS hint="connections at most, per instance" disabled=naive />
                <NumberField id="pool-min" label="Pool min size" value=pool_min range=Limits::MIN_CONNECTIONS hint="opened before the burst" disabled=naive />
                <NumberField id="acquire-timeout" label="Acquire timeout (ms)" value=acquire_timeout range=Limits::ACQUIRE_TIMEOUT_MS hint="wait this long for a connection, then fail" disabled=naive />
                <NumberField id="idle-timeout" label="Idle timeout (ms)" value=idle_timeout range=Limits::IDLE_TIMEOUT_MS hint="close idle connections after; 0: never" disabled=naive />
                <NumberField id="max-lifetime" label="Max lifetime (ms)" value=max_lifetime range=Limits::MAX_LIFETIME_MS hint="replace connections older than; 0: never" disabled=naive />
                <CheckField id="test-before-acquire" label="Test before acquire" value=test_before_acquire hint="ping an idle connection before handing it out" />
            </fieldset>
            <fieldset>
                <legend>"The network"</legend>
                <NumberField id="delay-ms" label="Added round trip (ms)" value=delay_ms range=Limits::DELAY_MS hint="distance between app and database" />
                <SelectField id="outage" label="Outage" value=outage options=vec![(None, "none"), (Some(OutageMode::Refuse), "refuse (server gone)"), (Some(OutageMode::Blackhole), "blackhole (packets lost)")] />
                <NumberField id="outage-start" label="Outage starts at (ms)" value=outage_start range=Limits::OUTAGE_START_MS hint="after the run starts" disabled=no_outage />
                <NumberField id="outage-for" label="Outage lasts (ms)" value=outage_for range=Limits::OUTAGE_DURATION_MS disabled=no_outage />
            </fieldset>
            <fieldset>
                <legend>"Guards in front of the database"</legend>
                <CheckField id="breaker" label="Circuit breaker" value=breaker_on hint="fail fast while the database is failing" />
                <NumberField id="breaker-threshold" label="Opens after failures in a row" value=breaker_threshold range=Limits::BREAKER_FAILURE_THRESHOLD />
                <NumberField id="breaker-open" label="Stays open (ms)" value=breaker_open_ms range=Limits::BREAKER_OPEN_MS hint="then lets one trial through" />
                <CheckField id="cache" label="Cache answers" value=cache_on hint="a hit needs no connection" />
                <NumberField id="cache-ttl" label="Cache freshness (ms)" value=cache_ttl range=Limits::CACHE_TTL_MS />
            </fieldset>
            <fieldset>
                <legend>"A bug to study: leaks"</legend>
                <NumberField id="leak-percent" label="Requests that leak (%)" value=leak_percent range=Limits::LEAK_PERCENT hint="never give their connection back" />
                <NumberField id="leak-detect" label="Leak detection (ms)" value=leak_detect_ms range=Limits::LEAK_DETECT_AFTER_MS hint="flag connections held longer; 0: off" />
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
