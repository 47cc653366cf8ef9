//! Fixed-size time series that keep gaps: a failed or missing sample is `None`, never a zero.

use std::collections::VecDeque;

/// The last `cap` samples, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Series {
    cap: usize,
    points: VecDeque<Option<f64>>,
}

impl Series {
    pub fn new(cap: usize) -> Self {
        Self { cap: cap.max(1), points: VecDeque::with_capacity(cap.max(1)) }
    }

    pub fn push(&mut self, v: Option<f64>) {
        if self.points.len() == self.cap {
            self.points.pop_front();
        }
        self.points.push_back(v);
    }

    pub fn last(&self) -> Option<f64> {
        self.points.back().copied().flatten()
    }

    /// The newest `n` points, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = Option<f64>> + '_ {
        self.points.iter().skip(self.points.len().saturating_sub(n)).copied()
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Min, average, max and failures over the newest `n` points.
    pub fn stats(&self, n: usize) -> SeriesStats {
        let mut st = SeriesStats::default();
        let mut vals: Vec<f64> = Vec::new();
        for p in self.tail(n) {
            match p {
                Some(v) => vals.push(v),
                None => st.gaps += 1,
            }
        }
        if !vals.is_empty() {
            st.min = vals.iter().copied().reduce(f64::min);
            st.max = vals.iter().copied().reduce(f64::max);
            st.avg = Some(vals.iter().sum::<f64>() / vals.len() as f64);
            vals.sort_by(f64::total_cmp);
            let idx = ((vals.len() as f64) * 0.95).ceil() as usize;
            st.p95 = vals.get(idx.saturating_sub(1).min(vals.len() - 1)).copied();
        }
        st
    }
}

/// Summary of a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SeriesStats {
    pub min: Option<f64>,
    pub avg: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
    pub gaps: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_gaps_and_capacity() {
        let mut s = Series::new(3);
        for v in [Some(1.0), None, Some(3.0), Some(5.0)] {
            s.push(v);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.tail(3).collect::<Vec<_>>(), vec![None, Some(3.0), Some(5.0)]);
        let st = s.stats(3);
        assert_eq!((st.min, st.max, st.gaps), (Some(3.0), Some(5.0), 1));
        assert_eq!(st.avg, Some(4.0));
    }

    #[test]
    fn p95_of_twenty() {
        let mut s = Series::new(100);
        for i in 1..=20 {
            s.push(Some(i as f64));
        }
        assert_eq!(s.stats(100).p95, Some(19.0));
        assert_eq!(Series::new(5).stats(5).p95, None);
    }
}
