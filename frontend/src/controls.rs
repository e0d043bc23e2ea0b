//! The run form: every knob has a label, a documented range, and is reachable by keyboard.

use leptos::prelude::*;
use poollab_shared::{LeakSpec, Limits, PoolSpec, Query, RunSpec, RunView, Strategy, WorkSpec};

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

#[component]
pub fn Controls(on_started: impl Fn(RunView) + Copy + 'static) -> impl IntoView {
    let strategy = RwSignal::new(Strategy::Naive);
    let requests = RwSignal::new(100u64);
    let concurrency = RwSignal::new(100u64);
    let pool_max = RwSignal::new(10u64);
    let acquire_timeout = RwSignal::new(2_000u64);
    // A request that does 50 ms of database work: long enough for connections to be seen.
    let sleep_ms = RwSignal::new(50u64);
    let leak_percent = RwSignal::new(0u64);
    let leak_detect_ms = RwSignal::new(0u64);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let naive = Signal::derive(move || strategy.get() == Strategy::Naive);

    let spec = move || RunSpec {
        strategy: strategy.get_untracked(),
        requests: requests.get_untracked() as u32,
        concurrency: concurrency.get_untracked() as u32,
        pool: PoolSpec {
            max_connections: pool_max.get_untracked() as u32,
            acquire_timeout_ms: acquire_timeout.get_untracked(),
            ..PoolSpec::default()
        },
        work: WorkSpec {
            query: if sleep_ms.get_untracked() > 0 { Query::Sleep } else { Query::SelectUser },
            sleep_ms: sleep_ms.get_untracked(),
        },
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
                <legend>"The burst"</legend>
                <NumberField id="requests" label="Requests" value=requests range=Limits::REQUESTS hint="how many in all" />
                <NumberField id="concurrency" label="Concurrency" value=concurrency range=Limits::CONCURRENCY hint="in flight at once" />
                <NumberField id="sleep-ms" label="Query time (ms)" value=sleep_ms range=Limits::SLEEP_MS hint="0: a quick lookup; more: pg_sleep" />
            </fieldset>
            <fieldset prop:disabled=naive>
                <legend>"The pool (pooled only)"</legend>
                <NumberField id="pool-max" label="Pool max size" value=pool_max range=Limits::MAX_CONNECTIONS hint="connections at most" disabled=naive />
                <NumberField id="acquire-timeout" label="Acquire timeout (ms)" value=acquire_timeout range=Limits::ACQUIRE_TIMEOUT_MS hint="wait this long for a connection, then fail" disabled=naive />
            </fieldset>
            <fieldset>
                <legend>"A bug to study: leaks"</legend>
                <NumberField id="leak-percent" label="Requests that leak (%)" value=leak_percent range=Limits::LEAK_PERCENT hint="never give their connection back" />
                <NumberField id="leak-detect" label="Leak detection (ms)" value=leak_detect_ms range=Limits::LEAK_DETECT_AFTER_MS hint="flag connections held longer; 0: off" />
            </fieldset>
            <button id="run" type="submit" prop:disabled=move || busy.get()>"Run"</button>
            <p class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}
