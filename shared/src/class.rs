//! What learners report to their instructor: each step's prediction and the run (or sweep) that
//! measured it, the lab's verdict on it, and the class's predictions for one step as a histogram
//! (shown before the measured answer is revealed).
//!
//! Only the prediction comes from the learner. What was measured, whether the prediction was
//! close and whether the step's claim held are the lab's to work out, from the stored run and the
//! lesson ([`StepVerdict::of`]): the page works the same verdict out at once from the run it was
//! shown, and then shows the lab's.

use serde::{Deserialize, Serialize};

use crate::figures::Figures;
use crate::lesson::{Step, prediction_close};

/// A learner's report on one step (`POST /api/class/progress`), sent when the step's run (or, for
/// a sweep step, its sweep) is done: the learner's prediction, and which run measured it. Fields
/// a page of an older lab sends (`measured`, `passed`, `close`) are ignored: those are the lab's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub lesson: String,
    pub step: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<f64>,
    /// The run of a run step: the learner's own, or one they shared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The sweep of a sweep step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<String>,
}

/// The lab's verdict on a step, worked out from what its run (or sweep) measured: the answer to a
/// [`StepReport`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepVerdict {
    /// The figure the step's prediction asks about, as the run measured it (none for a step
    /// without a prediction).
    pub measured: Option<f64>,
    /// Whether the prediction was within a quarter of what was measured
    /// ([`crate::lesson::prediction_close`]); none without a prediction.
    pub close: Option<bool>,
    /// Whether the step's claim ([`crate::Goal::check`]) held on the run; a step without a claim
    /// is passed by running it.
    pub claim_held: bool,
}

impl StepVerdict {
    /// The verdict on `step` from its run's (or sweep's) `figures` and the learner's prediction:
    /// one definition, used by the lab to grade a report and by the page to show it at once.
    pub fn of(step: &Step, figures: &Figures, prediction: Option<f64>) -> StepVerdict {
        let measured = step.prediction.as_ref().and_then(|p| figures.get(&p.metric));
        StepVerdict {
            measured,
            close: prediction.zip(measured).map(|(p, m)| prediction_close(p, m)),
            claim_held: step.goal.as_ref().is_none_or(|g| g.check(figures).unwrap_or(false)),
        }
    }
}

/// One learner's step as the instructor sees it (`GET /api/class/progress`): graded by the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepProgress {
    pub lesson: String,
    pub step: u32,
    /// The run (or sweep) the step was graded on.
    pub run: String,
    pub prediction: Option<f64>,
    pub measured: Option<f64>,
    /// Whether the step's claim held on that run ([`StepVerdict::claim_held`]).
    pub passed: bool,
    pub close: Option<bool>,
}

/// The class's predictions for one step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionHistogram {
    pub count: u64,
    /// Equal-width bins from the lowest to the highest prediction.
    pub bins: Vec<HistogramBin>,
    /// The median of what learners measured, for the reveal (none until someone has run it).
    pub measured_median: Option<f64>,
    /// Learners whose prediction was within a quarter of what their own run measured.
    #[serde(default)]
    pub close: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistogramBin {
    pub from: f64,
    pub to: f64,
    pub count: u64,
}

impl PredictionHistogram {
    /// Up to `bins` equal-width bins over the predictions.
    pub fn of(predictions: &[f64], measured: &[f64], bins: usize) -> PredictionHistogram {
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        let (lo, hi) =
            predictions.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        let mut out = PredictionHistogram {
            count: predictions.len() as u64,
            bins: Vec::new(),
            measured_median: median(measured),
            close: 0,
        };
        if predictions.is_empty() {
            return out;
        }
        let n = if hi > lo { bins.max(1) } else { 1 };
        let width = if hi > lo { (hi - lo) / n as f64 } else { 1.0 };
        out.bins = (0..n)
            .map(|i| HistogramBin { from: lo + i as f64 * width, to: lo + (i + 1) as f64 * width, count: 0 })
            .collect();
        for v in predictions {
            let i = (((v - lo) / width) as usize).min(n - 1);
            out.bins[i].count += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_fall_into_equal_bins() {
        let h = PredictionHistogram::of(&[1.0, 2.0, 2.5, 10.0], &[40.0, 44.0, 50.0], 3);
        assert_eq!(h.count, 4);
        assert_eq!(h.bins.iter().map(|b| b.count).collect::<Vec<_>>(), [3, 0, 1]);
        assert_eq!(h.measured_median, Some(44.0));
        assert_eq!(PredictionHistogram::of(&[5.0, 5.0], &[], 10).bins.len(), 1, "all alike: one bin");
        assert!(PredictionHistogram::of(&[], &[], 10).bins.is_empty());
    }
}
