//! What learners report to their instructor: each step's prediction and result, and the class's
//! predictions for one step as a histogram (shown before the measured answer is revealed).

use serde::{Deserialize, Serialize};

/// A learner's report on one step (`POST /api/class/progress`): sent when they press Run (with
/// their prediction) and again when the run ends (with what was measured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepReport {
    pub lesson: String,
    pub step: u32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub prediction: Option<f64>,
    #[serde(default)]
    pub measured: Option<f64>,
    /// Whether the step's claim held on the learner's run.
    #[serde(default)]
    pub passed: Option<bool>,
    /// Whether the prediction was within a quarter of what was measured
    /// ([`crate::lesson::prediction_close`]); worked out when both are known.
    #[serde(default)]
    pub close: Option<bool>,
}

impl StepReport {
    /// Takes what a later report adds (the prediction comes at Run, the measured figure at the
    /// end) and works out whether the prediction was close.
    pub fn merge(&mut self, later: &StepReport) {
        self.prediction = later.prediction.or(self.prediction);
        self.measured = later.measured.or(self.measured);
        self.passed = later.passed.or(self.passed);
        self.close = match (self.prediction, self.measured) {
            (Some(p), Some(m)) => Some(crate::lesson::prediction_close(p, m)),
            _ => None,
        };
    }
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
