//! The line runs wait in, fair across learners.
//!
//! One database serves the whole class, so runs go one at a time. Taking them first come, first
//! served would let one eager learner's ten runs hold everyone else back; instead the line is
//! round robin: each learner with runs waiting gets a turn in order, one run per turn. The
//! instructor's runs go before everyone's (the class watches them).

use std::collections::VecDeque;

use poollab_shared::ValidRunSpec;

/// Who submitted a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Instructor,
    /// A learner, by the id their page made up (scripts without one share `anonymous`).
    Learner(String),
}

#[derive(Debug, Clone)]
pub struct Waiting {
    pub id: String,
    pub spec: ValidRunSpec,
}

#[derive(Debug, Default)]
pub struct FairQueue {
    instructor: VecDeque<Waiting>,
    /// Learners with runs waiting, in the order of their next turn.
    learners: VecDeque<(String, VecDeque<Waiting>)>,
}

impl FairQueue {
    pub fn push(&mut self, who: &Who, run: Waiting) {
        match who {
            Who::Instructor => self.instructor.push_back(run),
            Who::Learner(name) => match self.learners.iter_mut().find(|(n, _)| n == name) {
                Some((_, runs)) => runs.push_back(run),
                None => self.learners.push_back((name.clone(), VecDeque::from([run]))),
            },
        }
    }

    /// The next run: the instructor's first, then the learner whose turn it is.
    pub fn pop(&mut self) -> Option<Waiting> {
        if let Some(run) = self.instructor.pop_front() {
            return Some(run);
        }
        let (name, mut runs) = self.learners.pop_front()?;
        let run = runs.pop_front();
        if !runs.is_empty() {
            // Back of the line for this learner's next run.
            self.learners.push_back((name, runs));
        }
        run
    }

    pub fn len(&self) -> usize {
        self.instructor.len() + self.learners.iter().map(|(_, r)| r.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn queued_by(&self, learner: &str) -> usize {
        self.learners.iter().find(|(n, _)| n == learner).map_or(0, |(_, r)| r.len())
    }

    /// Run ids in the order they will go.
    pub fn order(&self) -> Vec<String> {
        let mut order: Vec<String> = self.instructor.iter().map(|w| w.id.clone()).collect();
        let rounds = self.learners.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        for round in 0..rounds {
            order.extend(self.learners.iter().filter_map(|(_, r)| r.get(round)).map(|w| w.id.clone()));
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poollab_shared::RunSpec;

    fn run(id: &str) -> Waiting {
        Waiting { id: id.into(), spec: RunSpec::default().validate().expect("valid") }
    }

    #[test]
    fn learners_take_turns_and_the_instructor_goes_first() {
        let mut q = FairQueue::default();
        let (ann, bob) = (Who::Learner("ann".into()), Who::Learner("bob".into()));
        for id in ["a1", "a2", "a3"] {
            q.push(&ann, run(id));
        }
        q.push(&bob, run("b1"));
        q.push(&bob, run("b2"));
        q.push(&Who::Instructor, run("i1"));
        assert_eq!(q.order(), ["i1", "a1", "b1", "a2", "b2", "a3"]);
        assert_eq!((q.len(), q.queued_by("ann"), q.queued_by("carol")), (6, 3, 0));
        let popped: Vec<String> = std::iter::from_fn(|| q.pop()).map(|w| w.id).collect();
        assert_eq!(popped, ["i1", "a1", "b1", "a2", "b2", "a3"]);
        assert!(q.is_empty());
    }
}
