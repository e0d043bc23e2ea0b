//! The course's claims are true on this lab: every lesson parses, and every step's reference
//! experiment, run against a real private PostgreSQL configured as `./lab run` configures it,
//! meets the step's goal.

mod support;

use poollab_shared::{Lesson, RunState};
use support::spawn_app;

#[test]
fn the_course_has_every_lesson_and_each_one_is_valid() {
    let lessons = poollab::lessons::load().expect("every lesson file is valid");
    assert_eq!(lessons.len(), 15, "the course has fifteen lessons");
    for lesson in &lessons {
        assert!(!lesson.title.is_empty() && !lesson.summary.is_empty(), "{}", lesson.id);
        for step in &lesson.steps {
            assert!(step.text.split_whitespace().count() >= 20, "{}: '{}' explains too little", lesson.id, step.title);
        }
    }
    assert!(lessons.iter().all(|l| l.steps.iter().any(|s| s.goal.is_some())), "every lesson checks something");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_steps_reference_experiment_meets_its_goal() {
    // The lab's default server: max_connections 100, as `./lab run` starts it.
    let app = spawn_app(100).await;
    let (status, body) = app.get("/api/lessons").await;
    assert_eq!(status, 200);
    let lessons: Vec<Lesson> = serde_json::from_value(body).expect("lessons JSON");
    assert_eq!(lessons.len(), 15);
    let mut failures = Vec::new();
    for lesson in &lessons {
        for (i, step) in lesson.steps.iter().enumerate() {
            let run = app.run(serde_json::to_value(&step.preset).expect("preset JSON")).await;
            let where_ = format!("{} step {} ({})", lesson.id, i + 1, step.title);
            let Some(summary) = run.summary.filter(|_| run.state == RunState::Done) else {
                failures.push(format!("{where_}: the run did not finish: {:?}", run.error));
                continue;
            };
            if let Some(goal) = &step.goal
                && !goal.check(&summary).expect("goals were validated")
            {
                failures.push(format!("{where_}: `{}` does not hold: {summary:?}", goal.check));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    app.stop().await;
}
