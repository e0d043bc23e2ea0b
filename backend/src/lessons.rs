//! The course, embedded: the lesson files in `lessons/`, parsed and checked at start-up.
//!
//! A lesson that does not parse, a preset outside the documented ranges, or a text, model, goal,
//! prediction or view naming a figure that does not exist stops the lab with a message naming the
//! file, the step and the part, so a teacher's typo never reaches a class. `GET /api/lessons`
//! serves them as JSON.

use poollab_shared::{CompareError, GoalError, Lesson, Libraries, Moment, SpecError, SweepError, SweepSpec};

include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    #[error("lessons/{file}.toml does not parse: {source}")]
    Parse { file: String, source: toml::de::Error },
    #[error("lessons/{file}.toml, step {step}: the preset is not a valid run: {source}")]
    Preset { file: String, step: usize, source: SpecError },
    #[error("lessons/{file}.toml, step {step}: {source}")]
    Goal { file: String, step: usize, source: GoalError },
    #[error("lessons/{file}.toml, step {step}: {source}")]
    Compare { file: String, step: usize, source: CompareError },
    #[error("lessons/{file}.toml has no steps")]
    NoSteps { file: String },
    #[error("lessons/{file}.toml, step {step}: the sweep is not valid: {source}")]
    Sweep { file: String, step: usize, source: SweepError },
    #[error(
        "lessons/{file}.toml, step {step}: its picture opens during the outage (moment = \"outage\"), and its preset stages none"
    )]
    NoOutage { file: String, step: usize },
    #[error("lessons/libraries.toml does not parse: {0}")]
    Libraries(toml::de::Error),
    #[error("lessons/libraries.toml: knob {knob} {problem}")]
    LibraryKnob { knob: String, problem: String },
}

/// Every library's names for the pool knobs, checked: each knob names every library once, in
/// the order of `libraries`.
pub fn libraries() -> Result<Libraries, LessonError> {
    let libs: Libraries = toml::from_str(LIBRARIES).map_err(LessonError::Libraries)?;
    for knob in &libs.knobs {
        let listed: Vec<&str> = knob.names.iter().map(|n| n.library.as_str()).collect();
        if listed != libs.libraries.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(LessonError::LibraryKnob {
                knob: knob.id.clone(),
                problem: format!("lists {listed:?}, not every library once in order"),
            });
        }
    }
    Ok(libs)
}

/// Every lesson, in file-name order, checked.
pub fn load() -> Result<Vec<Lesson>, LessonError> {
    LESSON_FILES.iter().map(|(id, text)| parse(id, text)).collect()
}

/// One lesson file.
pub fn parse(id: &str, text: &str) -> Result<Lesson, LessonError> {
    let file = id.to_owned();
    let mut lesson: Lesson =
        toml::from_str(text).map_err(|source| LessonError::Parse { file: file.clone(), source })?;
    lesson.id = file.clone();
    if lesson.steps.is_empty() {
        return Err(LessonError::NoSteps { file });
    }
    for (i, step) in lesson.steps.iter().enumerate() {
        let step_no = i + 1;
        step.preset.clone().validate().map_err(|source| LessonError::Preset {
            file: file.clone(),
            step: step_no,
            source,
        })?;
        step.check_names().map_err(|source| LessonError::Goal { file: file.clone(), step: step_no, source })?;
        if !step.sweep.is_empty() {
            let sweep = SweepSpec { run: step.preset.clone(), sizes: step.sweep.clone() };
            sweep.runs().map_err(|source| LessonError::Sweep { file: file.clone(), step: step_no, source })?;
        }
        lesson.compared(i).map_err(|source| LessonError::Compare { file: file.clone(), step: step_no, source })?;
        if step.view.moment == Moment::Outage && step.preset.network.outage.is_none() {
            return Err(LessonError::NoOutage { file, step: step_no });
        }
    }
    Ok(lesson)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_lesson_names_its_file_and_step() {
        let text = r#"
title = "t"
summary = "s"
[[steps]]
title = "one"
text = "x"
preset = { strategy = "naive", requests = 0 }
"#;
        let err = parse("99-broken", text).unwrap_err().to_string();
        assert!(err.contains("lessons/99-broken.toml, step 1") && err.contains("requests must be between"), "{err}");
        let err = parse("98-typo", "title = ").unwrap_err().to_string();
        assert!(err.starts_with("lessons/98-typo.toml does not parse"), "{err}");
        let goal =
            text.replace("requests = 0", "requests = 1") + "[steps.goal]\ncheck = \"peak < 3\"\nexplain = \"\"\n";
        let err = parse("97-goal", &goal).unwrap_err().to_string();
        assert!(err.contains("step 1: goal.check: `peak` is not a figure"), "{err}");
        // A step answers an earlier one: one that points ahead (or at itself) is refused.
        let step = "[[steps]]\ntitle = \"s\"\ntext = \"x\"\npreset = { strategy = \"naive\" }\n";
        let ahead = format!("title = \"t\"\nsummary = \"s\"\n{step}compare = 2\n{step}");
        let err = parse("96-compare", &ahead).unwrap_err().to_string();
        assert!(err.contains("96-compare.toml, step 1: compare = 2: a step is compared with an earlier"), "{err}");
        let back = format!("title = \"t\"\nsummary = \"s\"\n{step}{step}compare = 1\n");
        assert_eq!(parse("95-compare", &back).expect("step 2 answers step 1").steps[1].compare, Some(1));
        // A picture opened during the outage needs one.
        let outage = format!("title = \"t\"\nsummary = \"s\"\n{step}view = {{ moment = \"outage\" }}\n");
        let err = parse("94-outage", &outage).unwrap_err().to_string();
        assert!(err.contains("94-outage.toml, step 1: its picture opens during the outage"), "{err}");
    }
}
