//! The experiment engine against real PostgreSQL: load shapes, app instances, network distance
//! and outages, the circuit breaker, the cache, idle and lifetime closes, sizing sweeps, and runs
//! stored with their timelines.

mod support;

use std::collections::BTreeSet;

use poollab_shared::activity::{self, AppCounts, AppFigure, AppPeaks};
use poollab_shared::{BreakerState, RunEventKind, RunState, RunView, SweepView};
use serde_json::json;
use support::spawn_app;

fn summary(run: &RunView) -> &poollab_shared::Summary {
    assert_eq!(run.state, RunState::Done, "{run:?}");
    run.summary.as_ref().expect("a done run has a summary")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_steady_rate_and_a_ramp_release_requests_on_schedule() {
    let app = spawn_app(50).await;
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 40, "load": { "shape": "rate", "rate_per_s": 40 } }))
        .await;
    let run = app.finished(&id).await;
    assert_eq!(summary(&run).completed, 40);
    let t = app.timeline(&id).await;
    assert_eq!(t.requests.len(), 40);
    // Request n is due at n / 40 s: the last one at 975 ms, not all at once.
    let last = t.requests[39].start_ms;
    assert!((950.0..1300.0).contains(&last), "the 40th request started at {last} ms");

    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 60,
                           "load": { "shape": "ramp", "rate_per_s": 10, "ramp_to_per_s": 110 } }))
        .await;
    app.finished(&id).await;
    let t = app.timeline(&id).await;
    let gap = |a: usize, b: usize| (t.requests[b].start_ms - t.requests[a].start_ms) / (b - a) as f64;
    let (early, late) = (gap(0, 5), gap(54, 59));
    assert!(early > 3.0 * late, "a ramp speeds up: early gaps {early:.1} ms, late gaps {late:.1} ms");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn app_instances_each_bring_a_pool_and_together_meet_the_servers_limit() {
    // 25 slots, 3 of them reserved for superusers (the sampler): 22 for the app role, of which
    // the coordinator's own pools (the line's and the pages' reads) may hold 7: the fleet's 12 fit.
    let app = spawn_app(25).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({ "strategy": "pooled", "instances": 3, "requests": 24, "concurrency": 24,
                           "pool": { "max_connections": 4 }, "work": { "query": "sleep", "sleep_ms": 400 } }))
        .await;
    let (mut names, mut most_pool) = (BTreeSet::new(), 0);
    let run = support::follow_run(&mut ws, &id, |f| {
        names.extend(
            f.server.by_application.iter().filter(|c| c.name.starts_with("poollab-pool")).map(|c| c.name.clone()),
        );
        if let Some(p) = f.pool {
            assert_eq!((p.instances, p.max_connections), (3, 12), "{p:?}");
            most_pool = most_pool.max(p.size);
        }
    })
    .await;
    let s = summary(&run);
    assert_eq!(s.failed, 0, "{s:?}");
    assert_eq!(names, BTreeSet::from(["poollab-pool-1".into(), "poollab-pool-2".into(), "poollab-pool-3".into()]));
    assert!(s.peak_server_connections > 4 && s.peak_server_connections <= 12, "{s:?}");
    assert!(most_pool > 4 && most_pool <= 12, "the fleet's pools held {most_pool}");

    // 4 instances x 10 connections > 17 slots: some pools cannot open theirs. sqlx retries a
    // refused connect (53300) until the acquire timeout, so the pooled app sees acquire timeouts,
    // and only the server's log counts the refusals.
    let id = app
        .start_run(json!({ "strategy": "pooled", "instances": 4, "requests": 40, "concurrency": 40,
                           "pool": { "max_connections": 10, "acquire_timeout_ms": 1000 },
                           "work": { "query": "sleep", "sleep_ms": 1500 } }))
        .await;
    let (mut most_in_use, mut most_connecting, mut refused) = (0, 0, 0);
    let run = support::follow_run(&mut ws, &id, |f| {
        let fleet = f.pool.expect("a pooled fleet has a pool");
        // Every connection a pool counts is idle, in use, or still being opened: never more in
        // use than the server could have given.
        assert_eq!(fleet.idle + fleet.in_use + fleet.connecting, fleet.size, "{fleet:?}");
        assert!(fleet.in_use <= 17, "in use {} past the server's 17 slots: {fleet:?}", fleet.in_use);
        assert_eq!(f.instances.len(), 4);
        let sum = |pick: fn(&poollab_shared::PoolFrame) -> u64| {
            f.instances.iter().filter_map(|i| i.pool.as_ref()).map(pick).sum::<u64>()
        };
        assert_eq!((sum(|p| p.size), sum(|p| p.in_use), sum(|p| p.waiters)), (fleet.size, fleet.in_use, fleet.waiters));
        assert_eq!(f.instances.iter().map(|i| i.server_backends).sum::<u64>(), f.server.run_backends, "{f:?}");
        assert_eq!(f.server.run_by_state.iter().map(|c| c.count).sum::<u64>(), f.server.run_backends);
        assert_eq!(f.server.reserved_connections, 3);
        most_in_use = most_in_use.max(fleet.in_use);
        most_connecting = most_connecting.max(fleet.connecting);
        refused = f.server.refused.expect("the private cluster's log is read");
    })
    .await;
    let s = summary(&run);
    assert!(s.failed > 0 && s.errors.acquire_timeout == s.failed, "{s:?}");
    assert_eq!(s.errors.too_many_clients, 0, "sqlx hides the refusals from the app: {s:?}");
    assert!(s.peak_server_connections <= 17, "{s:?}");
    // The lab's own connections (the line's, its LISTEN among them) held slots at the fleet's
    // peak too, in the same reading: together with the fleet's, never more than the server has
    // besides the sampler's.
    println!("fleet {} + others {} at the peak", s.peak_server_connections, s.other_backends_at_peak);
    assert!(s.other_backends_at_peak >= 1, "{s:?}");
    assert!(s.peak_server_connections + s.other_backends_at_peak < 25, "{s:?}");
    assert!(most_in_use > 4 && most_connecting > 0, "in use {most_in_use}, connecting {most_connecting}");
    assert!(refused > 0 && s.refused_connects == Some(refused), "the server refused {refused}: {s:?}");
    // The summary's app peaks are counted from the requests' own records, at exact instants.
    let t = app.timeline(&id).await;
    assert_eq!(s.peak_in_use, AppFigure::Holding.peak(&t.requests).count, "{s:?}");
    assert!(s.peak_in_use > 4 && s.peak_in_use <= 17, "{s:?}");
    app.stop().await;
}

/// The app's figures at any instant, and their peaks, are counted from the requests' records;
/// the summary's peaks are those counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_apps_peaks_are_counted_from_every_requests_own_record() {
    let app = spawn_app(50).await;
    // A pool of 5 and 30 requests at once, each holding its connection 100 ms.
    let pooled = app
        .run(json!({ "strategy": "pooled", "requests": 30, "concurrency": 30, "pool": { "max_connections": 5 },
                     "work": { "query": "sleep", "sleep_ms": 100 } }))
        .await;
    // No pool: 10 requests at once, each opening its own connection and holding it 200 ms.
    let naive = app
        .run(json!({ "strategy": "naive", "requests": 10, "concurrency": 10,
                     "work": { "query": "sleep", "sleep_ms": 200 } }))
        .await;
    for (run, in_use) in [(&pooled, 5), (&naive, 10)] {
        let s = summary(run);
        assert_eq!(s.failed, 0, "{s:?}");
        let t = app.timeline(&run.id).await;
        let p = AppPeaks::of(&t.requests);
        assert_eq!(
            (s.peak_in_use, s.peak_waiters, s.peak_in_flight, s.peak_connecting),
            (p.holding.count, p.waiting.count, p.in_flight.count, p.connecting.count),
            "{s:?}"
        );
        assert_eq!(s.busiest_ms, p.busiest().map(|(_, _, at)| at), "{s:?}");
        // Every request held a connection within its own time, and gave it back.
        for r in &t.requests {
            let (asked, from, back) = (r.asked_ms.unwrap(), r.held_from_ms.unwrap(), r.given_back_ms.unwrap());
            assert!(r.start_ms <= asked && asked <= from && from < back && back <= r.start_ms + r.total_ms, "{r:?}");
        }
        assert_eq!(s.peak_in_use, in_use, "all of them in use at once: {s:?}");
        assert_eq!(s.peak_in_flight, s.completed, "all arrived before the first answer: {s:?}");
        let busiest = s.busiest_ms.expect("a run with requests has a busiest moment");
        assert_eq!(AppFigure::Holding.at(&t.requests, busiest), in_use);
        // After the last answer nothing goes on.
        let end = activity::last_answer_ms(&t.requests).expect("requests");
        let after = AppCounts::at(&t.requests, end);
        assert_eq!((after.in_flight, after.waiting, after.connecting, after.holding), (0, 0, 0, 0));
    }
    let (pooled, naive) = (summary(&pooled), summary(&naive));
    // The pool makes 25 wait at once (it opens its five while the burst arrives); a naive app
    // waits for no pool, but opens connections.
    assert!(pooled.peak_waiters >= 25 && pooled.peak_connecting == 0, "{pooled:?}");
    assert!(naive.peak_waiters == 0 && naive.peak_connecting > 0, "{naive:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn network_distance_costs_a_connect_several_round_trips_and_a_pooled_query_one() {
    let app = spawn_app(50).await;
    let delay = 40.0;
    let naive = app
        .run(json!({ "strategy": "naive", "requests": 10, "concurrency": 5, "work": { "query": "select_user" },
                     "network": { "delay_ms": 40 } }))
        .await;
    let s = summary(&naive);
    assert_eq!(s.completed, 10);
    // TCP is local to the proxy; then startup, SCRAM's two exchanges and the final answer.
    assert!(s.connect_ms.p50 >= 2.5 * delay, "a connect over 40 ms took only {} ms", s.connect_ms.p50);
    let pooled = app
        .run(json!({ "strategy": "pooled", "requests": 40, "concurrency": 2, "pool": { "max_connections": 2 },
                     "work": { "query": "select_user" }, "network": { "delay_ms": 40 } }))
        .await;
    let s = summary(&pooled);
    assert_eq!(s.completed, 40);
    assert!(
        s.query_ms.p50 >= delay && s.query_ms.p50 < 2.0 * delay,
        "a pooled query over 40 ms took {} ms (p50)",
        s.query_ms.p50
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_trips_the_breaker_which_fails_fast_and_closes_when_the_database_is_back() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 300, "load": { "shape": "rate", "rate_per_s": 100 },
                           "pool": { "max_connections": 5, "acquire_timeout_ms": 500 },
                           "network": { "outage": { "mode": "refuse", "start_ms": 800, "duration_ms": 1000 } },
                           "breaker": { "enabled": true, "failure_threshold": 3, "open_ms": 200 } }))
        .await;
    let (mut states, mut saw_outage) = (Vec::new(), false);
    let run = support::follow_run(&mut ws, &id, |f| {
        saw_outage |= f.app.outage;
        if let Some(b) = f.app.breaker
            && states.last() != Some(&b)
        {
            states.push(b);
        }
    })
    .await;
    let s = summary(&run);
    assert!(saw_outage, "no frame showed the outage");
    assert!(states.contains(&BreakerState::Open), "the breaker never opened: {states:?}");
    assert_eq!(states.last(), Some(&BreakerState::Closed), "the breaker did not close again: {states:?}");
    assert!(s.breaker_opened >= 1 && s.errors.circuit_open > 0, "{s:?}");
    // Refused connections fail at once, and the breaker spares most requests even that.
    assert!(s.errors.circuit_open > s.errors.database_down, "{s:?}");
    let t = app.timeline(&id).await;
    // The run recorded when the outage began and ended, 800 ms into its load and 1000 ms later,
    // and every time the breaker opened and closed, in order, on its requests' clock.
    let load = s.load_started_ms as f64;
    let at = |kind: RunEventKind| t.events.iter().filter(|e| e.kind == kind).map(|e| e.at_ms).collect::<Vec<_>>();
    let (begins, ends) = (at(RunEventKind::OutageBegins), at(RunEventKind::OutageEnds));
    assert!(begins.len() == 1 && ends.len() == 1, "{:?}", t.events);
    assert!((load + 800.0..load + 850.0).contains(&begins[0]), "{begins:?}, load from {load}");
    assert!((begins[0] + 1000.0..begins[0] + 1050.0).contains(&ends[0]), "{begins:?} {ends:?}");
    let opens = at(RunEventKind::BreakerOpens);
    assert_eq!(opens.len() as u64, s.breaker_opened, "{:?}", t.events);
    assert!(opens[0] > begins[0], "the breaker opened after the outage began: {:?}", t.events);
    assert_eq!(t.events.last().map(|e| e.kind), Some(RunEventKind::BreakerCloses), "{:?}", t.events);
    assert!(t.events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "{:?}", t.events);
    let after: Vec<_> = t.requests.iter().filter(|r| r.start_ms > 2_300.0).collect();
    let failed: Vec<_> = after.iter().filter(|r| r.outcome != "ok").collect();
    assert!(!after.is_empty() && failed.is_empty(), "requests after the outage failed: {failed:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_blackhole_is_only_noticed_by_timeouts() {
    let app = spawn_app(50).await;
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 120, "load": { "shape": "rate", "rate_per_s": 60 },
                           "pool": { "max_connections": 3, "acquire_timeout_ms": 300 },
                           "network": { "outage": { "mode": "blackhole", "start_ms": 500, "duration_ms": 800 } } }))
        .await;
    let run = app.finished(&id).await;
    let s = summary(&run);
    assert!(s.errors.acquire_timeout > 0, "{s:?}");
    assert_eq!(s.errors.database_down, 0, "nothing refuses in a blackhole: {s:?}");
    // Requests that met the blackhole waited out their whole acquire timeout.
    assert!(s.acquire_wait_ms.max >= 290.0, "{s:?}");
    let t = app.timeline(&id).await;
    assert!(t.requests.iter().filter(|r| r.start_ms > 1_700.0).all(|r| r.outcome == "ok"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cache_answers_repeats_without_a_connection() {
    let app = spawn_app(50).await;
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 200, "concurrency": 20,
                           "work": { "query": "select_user", "users": 10 }, "cache": { "enabled": true } }))
        .await;
    let run = app.finished(&id).await;
    let s = summary(&run);
    assert_eq!(s.completed, 200);
    // Ten users, and moka loads each once even when twenty ask at the same moment.
    assert_eq!((s.cache_misses, s.cache_hits), (10, 190), "{s:?}");
    let t = app.timeline(&id).await;
    assert_eq!(t.requests.iter().filter(|r| r.cache_hit).count(), 190);
    assert!(t.requests.iter().filter(|r| r.cache_hit).all(|r| r.acquire_wait_ms == 0.0));
    let no_cache =
        app.run(json!({ "strategy": "pooled", "requests": 200, "concurrency": 20, "work": { "users": 10 } })).await;
    assert_eq!(summary(&no_cache).cache_hits, 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn holding_a_connection_between_queries_starves_the_pool_and_a_heavy_query_is_slower() {
    let app = spawn_app(50).await;
    let run = app
        .run(json!({ "strategy": "pooled", "requests": 10, "concurrency": 10, "pool": { "max_connections": 2 },
                     "work": { "query": "select_user", "hold_ms": 100 } }))
        .await;
    let s = summary(&run);
    assert_eq!(s.completed, 10);
    // Each request holds its connection 100 ms with little query time: five waves of two.
    assert!(s.query_ms.p99 < 100.0, "the hold is not query time: {s:?}");
    assert!(s.acquire_wait_ms.p99 >= 300.0, "later waves waited for the holders: {s:?}");

    let spec = |query: &str| {
        json!({ "strategy": "pooled", "requests": 100, "concurrency": 1, "pool": { "max_connections": 1 },
                "work": { "query": query } })
    };
    let lookup = app.run(spec("select_user")).await;
    let heavy = app.run(spec("heavy")).await;
    let (lookup, heavy) = (summary(&lookup).query_ms.p50, summary(&heavy).query_ms.p50);
    assert!(heavy > 2.0 * lookup, "a table scan ({heavy} ms) vs an index lookup ({lookup} ms)");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_pool_shrinks_and_frames_say_why_connections_close() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 30, "concurrency": 30,
                           "pool": { "max_connections": 10, "idle_timeout_ms": 200, "max_lifetime_ms": 0 },
                           "work": { "query": "sleep", "sleep_ms": 100 }, "load": { "linger_ms": 1500 } }))
        .await;
    let (mut biggest, mut last, mut closes, mut lifetime) = (0, u64::MAX, 0, 0);
    let run = support::follow_run(&mut ws, &id, |f| {
        if let Some(p) = f.pool {
            biggest = biggest.max(p.size);
            last = p.size;
        }
        closes += f.app.closes_delta;
        lifetime += f.app.closes_lifetime_delta;
    })
    .await;
    assert_eq!(summary(&run).completed, 30);
    assert_eq!(biggest, 10, "the burst filled the pool");
    assert_eq!(last, 0, "idle connections were closed while the run lingered");
    assert_eq!((closes, lifetime), (10, 0), "ten idle closes, no retirement");

    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 200, "concurrency": 4,
                           "pool": { "max_connections": 4, "max_lifetime_ms": 100 },
                           "work": { "query": "sleep", "sleep_ms": 20 } }))
        .await;
    let mut lifetime = 0;
    let run = support::follow_run(&mut ws, &id, |f| lifetime += f.app.closes_lifetime_delta).await;
    let s = summary(&run);
    assert!(lifetime >= 4 && s.connections_opened >= 8, "lifetime closes {lifetime}: {s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sizing_sweep_measures_each_pool_size() {
    let app = spawn_app(50).await;
    let resp = app
        .http
        .post(app.url("/api/sweeps"))
        .json(&json!({ "run": { "strategy": "pooled", "requests": 40, "concurrency": 40,
                                "work": { "query": "sleep", "sleep_ms": 25 } },
                       "sizes": [1, 4, 16] }))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 202);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    let id = body["id"].as_str().expect("id").to_owned();
    let sweep = loop {
        let (status, body) = app.get(&format!("/api/sweeps/{id}")).await;
        assert_eq!(status, 200, "{body}");
        let sweep: SweepView = serde_json::from_value(body).expect("sweep JSON");
        if sweep.done {
            break sweep;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let sizes: Vec<u32> = sweep.points.iter().map(|p| p.max_connections).collect();
    assert_eq!(sizes, [1, 4, 16]);
    assert!(sweep.points.iter().all(|p| p.state == RunState::Done && p.failed == 0), "{sweep:?}");
    let t: Vec<f64> = sweep.points.iter().map(|p| p.throughput_per_s).collect();
    assert!(t[1] > 2.0 * t[0] && t[2] > t[1], "throughput by size: {t:?}");
    assert!(sweep.points[0].peak_server_connections <= 1);

    let resp = app
        .http
        .post(app.url("/api/sweeps"))
        .json(&json!({ "run": { "strategy": "naive" }, "sizes": [1] }))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 422);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert!(body["error"].as_str().unwrap_or("").contains("pooled"), "{body}");
    let (status, _) = app.get("/api/sweeps/nope").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_are_stored_with_their_timeline_and_survive_a_restart() {
    let dir = support::lab_dir();
    let app = support::spawn_in(support::config(&dir, 50)).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({ "strategy": "naive", "requests": 30, "concurrency": 10,
                           "work": { "query": "sleep", "sleep_ms": 30 } }))
        .await;
    let mut live = Vec::new();
    support::follow_run(&mut ws, &id, |f| live.push(f.clone())).await;
    drop(ws);
    app.stop().await;

    let app = support::spawn_in(support::config(&dir, 50)).await;
    let (status, body) = app.get("/api/runs").await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["id"], id.as_str(), "the stored run is listed after a restart: {body}");
    let t = app.timeline(&id).await;
    let (status, body) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(status, 200);
    let run: RunView = serde_json::from_value(body).expect("run");
    let s = summary(&run);
    assert_eq!(t.requests.len(), 30);
    assert_eq!(t.requests.iter().map(|r| r.n).collect::<Vec<_>>(), (0..30).collect::<Vec<_>>());
    assert!(t.requests.iter().all(|r| r.outcome == "ok" && r.connect_ms > 0.0 && r.total_ms >= r.query_ms));
    assert_eq!(t.frames, live, "the stored frames are the ones the live view sent");
    assert_eq!(t.frames.iter().map(|f| f.app.completed_delta).sum::<u64>(), s.completed);

    let resp = app.http.get(app.url(&format!("/api/runs/{id}/requests.csv"))).send().await.expect("GET csv");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap_or("").starts_with("text/csv"));
    let csv = resp.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "n,instance,start_ms,acquire_wait_ms,connect_ms,query_ms,total_ms,outcome,cache_hit");
    assert_eq!(lines.len(), 31);
    assert!(lines[1].starts_with("0,0,") && lines[1].ends_with(",ok,false"), "{}", lines[1]);
    let (status, _) = app.get("/api/runs/0000000000000000/requests.csv").await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_show_the_running_runs_pool_and_the_server_by_state() {
    let app = spawn_app(50).await;
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 20, "concurrency": 20, "pool": { "max_connections": 5 },
                           "work": { "query": "sleep", "sleep_ms": 400 } }))
        .await;
    let mut seen = None;
    for _ in 0..50 {
        let text = app.http.get(app.url("/metrics")).send().await.expect("GET").text().await.expect("text");
        if text.contains(r#"poollab_run_pool_connections{worker="built-in",state="in_use"} 5"#) {
            seen = Some(text);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let text = seen.expect("the run's full pool never showed in /metrics");
    assert!(text.contains(r#"poollab_run_active{worker="built-in"} 1"#), "{text}");
    assert!(text.contains(r#"poollab_run_pool_waiters{worker="built-in"} 15"#), "{text}");
    assert!(text.contains(r#"poollab_server_connections_by_state{worker="built-in",state="active"}"#), "{text}");
    app.finished(&id).await;
    let text = app.http.get(app.url("/metrics")).send().await.expect("GET").text().await.expect("text");
    assert!(
        text.contains(r#"poollab_run_active{worker="built-in"} 0"#)
            && text.contains(r#"poollab_run_pool_connections{worker="built-in",state="in_use"} 0"#),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_held_across_a_slow_call_idles_in_transaction_until_the_server_ends_it() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    // Each request opens a transaction, queries, waits 300 ms (a call to another service), queries
    // again and commits: its connection idles in the transaction meanwhile.
    let held = json!({ "strategy": "pooled", "requests": 12, "concurrency": 12, "pool": { "max_connections": 3 },
                       "work": { "query": "select_user", "hold_ms": 300, "transaction": true } });
    let id = app.start_run(held.clone()).await;
    let mut idle_in_tx = 0;
    let run = support::follow_run(&mut ws, &id, |f| {
        idle_in_tx = idle_in_tx.max(f.server.run_in_state("idle in transaction"))
    })
    .await;
    let s = summary(&run);
    assert_eq!((s.completed, s.failed), (12, 0), "{s:?}");
    assert!(idle_in_tx >= 2 && s.peak_idle_in_transaction >= idle_in_tx, "frames saw {idle_in_tx}: {s:?}");
    // The server's idle_in_transaction_session_timeout ends each such session: the request fails
    // with an error of its own, and the pool replaces the connection.
    let mut ended = held;
    ended["work"]["idle_in_transaction_timeout_ms"] = json!(100);
    let s = app.run(ended).await.summary.expect("summary");
    assert_eq!(s.errors.idle_in_transaction_timeout, 12, "{s:?}");
    assert!(s.connections_opened > 3, "ended sessions were replaced: {s:?}");
    // And the pool is healthy afterwards: no connection was handed back inside a transaction.
    let s = app
        .run(json!({ "strategy": "pooled", "requests": 20, "concurrency": 5, "pool": { "max_connections": 3 },
                     "work": { "query": "select_user", "transaction": true } }))
        .await
        .summary
        .expect("summary");
    assert_eq!((s.completed, s.failed), (20, 0), "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pgbouncer_in_transaction_mode_serves_a_fleet_of_120_client_connections_with_20_server_ones() {
    let app = spawn_app(50).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    // Four instances, each with a warm pool of 30: 120 client connections, more than the server's
    // 50 slots. Each request is one transaction with unnamed statements (what works behind a
    // transaction-mode pooler; see the next test).
    let fleet = json!({ "strategy": "pooled", "requests": 1200, "concurrency": 120, "instances": 4,
                        "pool": { "max_connections": 30, "min_connections": 30 },
                        "work": { "query": "sleep", "sleep_ms": 2, "transaction": true, "statements": "unnamed" },
                        "pooler": { "mode": "transaction", "pool_size": 20 } });
    let id = app.start_run(fleet).await;
    let (mut clients, mut servers, mut backends) = (0, 0, 0);
    let mut last = None;
    let run = support::follow_run(&mut ws, &id, |f| {
        let p = f.pooler.expect("frames carry the pooler's view");
        clients = clients.max(p.clients());
        servers = servers.max(p.servers());
        backends = backends.max(f.server.run_backends_peak);
        last = Some(f.clone());
    })
    .await;
    let s = summary(&run);
    assert_eq!((s.completed, s.failed), (1200, 0), "{s:?}");
    assert_eq!((clients, s.peak_pooler_clients), (120, 120), "{s:?}");
    assert!(servers <= 20 && s.peak_pooler_servers <= 20 && s.peak_pooler_servers >= 10, "{servers}: {s:?}");
    assert!(backends <= 20 && s.peak_server_connections <= 20, "the server never saw more: {s:?}");
    assert!(s.peak_pooler_waiting > 0, "clients queued in PgBouncer for a server connection: {s:?}");
    // The server's backends of the run are PgBouncer's server connections: at the end, when
    // nothing moves, the two views agree.
    let last = last.expect("frames");
    assert_eq!(last.server.run_backends, last.pooler.expect("pooler").servers(), "{last:?}");
    // The stored timeline keeps PgBouncer's readings of the run's first moments (every 10 ms), and
    // the summary's peaks are the most in exactly the readings its chart draws: those, then the
    // frames' taken after them.
    let timeline = app.timeline(&id).await;
    assert!(timeline.pooler_readings.len() >= 20, "{} readings of PgBouncer kept", timeline.pooler_readings.len());
    let drawn = poollab_shared::frame::pooler_readings(&timeline.pooler_readings, &timeline.frames);
    let most = |pick: fn(&poollab_shared::PoolerFrame) -> u64| drawn.iter().map(pick).max().unwrap_or(0);
    assert_eq!(
        (most(|p| p.clients()), most(|p| p.cl_waiting), most(|p| p.servers())),
        (s.peak_pooler_clients, s.peak_pooler_waiting, s.peak_pooler_servers),
        "the chart's readings peak where the summary does"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_a_transaction_mode_pooler_sqlx_prepared_statements_fail_until_they_are_unnamed_in_a_transaction() {
    let app = spawn_app(50).await;
    let run = |work: serde_json::Value| {
        json!({ "strategy": "pooled", "requests": 400, "concurrency": 20,
                "pool": { "max_connections": 10, "min_connections": 10 }, "work": work,
                "pooler": { "mode": "transaction", "pool_size": 3 } })
    };
    // sqlx's default: named statements, cached per client connection. Each lands on whichever
    // server connection PgBouncer lends, where it is missing or its name is taken.
    let s = app.run(run(json!({}))).await.summary.expect("summary");
    assert!(s.errors.prepared_statement > 0, "{s:?}");
    let said = &s.error_examples["prepared_statement"];
    assert!(said.starts_with("prepared statement \"sqlx_s_") && said.contains("SQLSTATE"), "{said}");
    // Turning the cache off does not help sqlx: it still names every statement.
    let s = app.run(run(json!({ "statements": "uncached" }))).await.summary.expect("summary");
    assert!(s.errors.prepared_statement > 0, "{s:?}");
    // Unnamed statements inside a transaction: PgBouncer keeps the transaction on one server
    // connection, and nothing named is left behind.
    let s = app.run(run(json!({ "statements": "unnamed", "transaction": true }))).await.summary.expect("summary");
    assert_eq!((s.completed, s.failed), (400, 0), "{s:?}");
    // A session-mode pooler keeps sqlx's defaults working: each client keeps its server connection.
    let mut session = run(json!({}));
    session["pooler"] = json!({ "mode": "session", "pool_size": 10 });
    let s = app.run(session).await.summary.expect("summary");
    assert_eq!((s.completed, s.failed), (400, 0), "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_mode_pooler_does_not_share_server_connections_and_the_rest_wait_then_fail() {
    let app = spawn_app(50).await;
    // 40 client connections, 10 server connections lent for whole sessions: the app's pools keep
    // their connections open, so 30 clients never get one and PgBouncer gives up on their queries.
    let s = app
        .run(json!({ "strategy": "pooled", "requests": 400, "concurrency": 40, "instances": 2,
                     "pool": { "max_connections": 20, "min_connections": 20 },
                     "pooler": { "mode": "session", "pool_size": 10, "query_wait_timeout_ms": 500 } }))
        .await
        .summary
        .expect("summary");
    assert!(s.errors.query_wait_timeout > 0, "{s:?}");
    assert!(s.peak_pooler_servers <= 10 && s.peak_pooler_waiting >= 20, "{s:?}");
    assert!(s.peak_server_connections <= 10, "{s:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tls_connects_wait_for_delayed_acks_as_sqlx_ships_and_not_through_the_no_delay_relay() {
    let app = spawn_app(30).await;
    // Four turns: plain, TLS, plain through the relay, TLS through the relay.
    let run = app
        .run(json!({ "strategy": "naive", "requests": 80, "concurrency": 1, "tls": "both", "nodelay": "both" }))
        .await;
    let s = summary(&run);
    assert_eq!((s.completed, s.failed, s.connections_opened, s.tls_connections), (80, 0, 80, 40), "{s:?}");
    let (nagle, nodelay) = (s.connect_tls_nagle_ms.p50, s.connect_tls_nodelay_ms.p50);
    // The relay's own cost: plain connects through it beside plain connects straight to the server.
    let (plain, direct, relayed) =
        (s.connect_plain_ms.p50, s.connect_plain_nagle_ms.p50, s.connect_plain_nodelay_ms.p50);
    println!(
        "median connect: plain {plain} ms (direct {direct:.2}, through the relay {relayed:.2}); \
         TLS as sqlx ships {nagle} ms; TLS through the relay {nodelay} ms; \
         the missing TCP_NODELAY costs {:.1} ms, the relay's hop {:.2} ms",
        nagle - nodelay,
        relayed - direct
    );
    // The lesson's claim (Linux's shortest delayed ACK is 40 ms, and a connect as sqlx ships waits
    // for two): as shipped, the median TLS connect is past that floor; through the relay, short of it.
    assert!(nagle > 40.0, "as sqlx ships, a TLS connect waits for delayed ACKs: {:?}", s.connect_tls_nagle_ms);
    assert!(nodelay < 40.0, "through the relay, none: {:?}", s.connect_tls_nodelay_ms);
    assert!(nodelay > relayed, "TLS itself still costs something: {nodelay} against {relayed}");

    // A pool connects through the relay just as well (and with TLS asked for, encrypted).
    let run = app
        .run(json!({ "strategy": "pooled", "requests": 20, "concurrency": 5, "tls": "on", "nodelay": "on",
                     "pool": { "max_connections": 3 } }))
        .await;
    let s = summary(&run);
    assert_eq!((s.completed, s.failed), (20, 0), "{s:?}");
    assert_eq!(s.tls_connections, s.connections_opened, "{s:?}");

    let (_, body) = app.post_run(r#"{"strategy":"pooled","tls":"both"}"#).await;
    assert!(body.to_string().contains("naive run"), "{body}");
    let (status, body) = app.post_run(r#"{"strategy":"pooled","nodelay":"both"}"#).await;
    assert_eq!(status, 422, "{body}");
    app.stop().await;
}

/// The CPUs a process may run on, as `/proc/<pid>/status` lists them (`0-1`, `0`).
/// Runs that pin the server move this whole process's threads (the app's) off its cores: two
/// tests of this file doing so at once would each see the other's move.
static PINNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The cores of a list as `/proc` writes it: "0-2,5".
fn cores(list: &str) -> BTreeSet<u32> {
    let n = |s: &str| s.trim().parse::<u32>().expect("a core");
    list.split(',')
        .filter(|p| !p.trim().is_empty())
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => n(a)..=n(b),
            None => n(part)..=n(part),
        })
        .collect()
}

fn cpus_of(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's status");
    let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:")).expect("Cpus_allowed_list");
    line.trim_start_matches("Cpus_allowed_list:").trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_can_give_the_server_fewer_cpus_and_random_arrivals() {
    let _pinning = PINNING.lock().await;
    let app = spawn_app(50).await;
    let postmaster = app.pg_pid.expect("the lab's own server");
    let all = cpus_of(postmaster);
    let ours = std::process::id();
    assert_eq!(cpus_of(ours), all, "the app and the server share every core before the run");
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    let id = app
        .start_run(json!({ "strategy": "pooled", "requests": 40, "server_cpus": 1,
                           "pool": { "max_connections": 4, "min_connections": 4 },
                           "work": { "query": "sleep", "sleep_ms": 20 },
                           "load": { "shape": "random", "rate_per_s": 100 } }))
        .await;
    // While the run goes, the server (and each backend it forked) has one CPU, and the frames say so.
    let (mut during, mut frame_cpus) = (Vec::new(), BTreeSet::new());
    let run = support::follow_run(&mut ws, &id, |f| {
        if f.run_id.as_deref() == Some(id.as_str()) {
            during.push((cpus_of(postmaster), cpus_of(ours)));
            frame_cpus.insert(f.server.cpus);
        }
    })
    .await;
    assert_eq!(summary(&run).completed, 40);
    // (The last frames may be read after the run has given the CPUs back.)
    during.truncate(during.len().saturating_sub(2));
    assert!(
        !during.is_empty() && during.iter().all(|(c, _)| !c.contains(['-', ','])),
        "one CPU while it ran: {during:?}"
    );
    // And the app (this process) ran on the other cores, not on the server's.
    if all.contains(['-', ',']) {
        assert!(
            during.iter().all(|(server, app)| cores(server).is_disjoint(&cores(app)) && !cores(app).is_empty()),
            "the app moved off: {during:?}"
        );
    }
    assert_eq!(frame_cpus, BTreeSet::from([1]), "the frames say the server had one CPU");
    assert_eq!(cpus_of(postmaster), all, "and it gets them all back afterwards");
    assert_eq!(cpus_of(ours), all, "and so does the app");
    // Random arrivals: the same schedule the spec's own function gives, not evenly spaced.
    let t = app.timeline(&id).await;
    let gaps: Vec<f64> = t.requests.windows(2).map(|w| w[1].start_ms - w[0].start_ms).collect();
    let (short, long) = (gaps.iter().filter(|g| **g < 3.0).count(), gaps.iter().filter(|g| **g > 15.0).count());
    assert!(short >= 5 && long >= 3, "bunched and spread, unlike a steady 10 ms: {gaps:?}");
    app.stop().await;
}

/// `load.busy_pct`: the lab times the query on the server the run was given, sets the rate to
/// that share of its pace, and keeps the pace for the next run of the same query and CPUs (a
/// sweep's sizes get the same arrivals).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paced_run_arrives_at_its_share_of_the_servers_measured_pace() {
    let _pinning = PINNING.lock().await;
    let app = spawn_app(50).await;
    let spec = json!({ "strategy": "pooled", "requests": 200, "server_cpus": 1,
                       "pool": { "max_connections": 2, "min_connections": 2 },
                       "work": { "query": "heavy" },
                       "load": { "shape": "random", "rate_per_s": 20, "busy_pct": 50 } });
    let paced = |s: &poollab_shared::Summary| (s.pace_query_ms, s.pace_rate_per_s);
    let first = app.run(spec.clone()).await;
    let first = summary(&first).clone();
    let pace = paced(&first);
    assert!(pace.0 > 0.0, "a paced run says its pace: {pace:?}");
    assert_eq!(pace.1, poollab::engine::runner::rate_for(50, pace.0).max(20), "{pace:?}");
    // Half busy, the server keeps up: the run answers at the rate it was given, give or take the
    // randomness of 200 arrivals.
    assert_eq!(first.completed, 200);
    let (rate, got) = (f64::from(pace.1), first.throughput_per_s);
    assert!(got > rate * 0.7 && got < rate * 1.4, "answered {got}/s at {rate}/s arrivals");
    let again = app.run(spec).await;
    assert_eq!(paced(summary(&again)), pace, "the next run of the same query and CPUs keeps the pace");
    // A run without busy_pct has no pace.
    let plain = app.run(json!({ "strategy": "pooled", "requests": 5 })).await;
    assert_eq!(paced(summary(&plain)), (0.0, 0));
    app.stop().await;
}

/// The server's frame while a client sits in the middle of authenticating: PostgreSQL before 18
/// does not list it in `pg_stat_activity`, yet it holds a connection slot, and the frame counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backend_still_authenticating_holds_a_slot_and_frames_count_it() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app(20).await;
    let pg_dir = app.pg_dir.clone().expect("a private cluster");
    // postmaster.pid: pid, data directory, start time, port, ...
    let pidfile = std::fs::read_to_string(pg_dir.join("postmaster.pid")).expect("postmaster.pid");
    let port: u16 = pidfile.lines().nth(3).and_then(|l| l.trim().parse().ok()).expect("the server's port");
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url()).await.expect("ws");
    frame_with_authenticating(&mut ws, 0).await;
    // A startup message for the app's role, then silence: the server asks for the SCRAM exchange
    // and waits (up to its authentication_timeout) in a process titled `... authentication`.
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let params = b"user\0poollab_app\0database\0poollab\0application_name\0half-open\0\0";
    let mut startup = ((8 + params.len()) as u32).to_be_bytes().to_vec();
    startup.extend_from_slice(&196_608u32.to_be_bytes());
    startup.extend_from_slice(params);
    client.write_all(&startup).await.expect("startup message");
    let mut asked = [0u8; 9];
    client.read_exact(&mut asked).await.expect("the server answers");
    assert_eq!((asked[0], &asked[5..9]), (b'R', &10u32.to_be_bytes()[..]), "the server asks for SASL (SCRAM)");
    let f = frame_with_authenticating(&mut ws, 1).await;
    assert!(
        !f.server.by_application.iter().any(|c| c.name == "half-open"),
        "pg_stat_activity does not list it yet: {:?}",
        f.server.by_application
    );
    drop(client);
    frame_with_authenticating(&mut ws, 0).await;
    app.stop().await;
}

/// The next frame whose server counts `want` backends authenticating (within 15 s: the idle
/// sampler reads the server every second).
async fn frame_with_authenticating(ws: &mut support::Ws, want: u64) -> poollab_shared::Frame {
    use futures_util::StreamExt;
    use poollab_shared::ServerMessage;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        assert!(std::time::Instant::now() < deadline, "no frame counted {want} backends authenticating");
        let msg = tokio::time::timeout(std::time::Duration::from_secs(15), ws.next()).await;
        let Ok(Some(Ok(Message::Text(t)))) = msg else { continue };
        if let Ok(ServerMessage::Frame(f)) = serde_json::from_str::<ServerMessage>(&t)
            && f.server.authenticating == want
        {
            return f;
        }
    }
}
