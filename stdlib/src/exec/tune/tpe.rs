//! The Tree-structured Parzen Estimator (Bergstra et al., 2011), per dimension, as Optuna's
//! default `TPESampler` does it.
//!
//! After [`STARTUP_TRIALS`] random trials, the finished trials are split by loss: the best
//! `γ(n) = min(⌈0.1·n⌉, 25)` are "good", the rest "bad". For each dimension, two Parzen
//! densities are built — `l(x)` over the good values, `g(x)` over the bad — and
//! [`CANDIDATES`] values are drawn from `l`; the one maximising `l(x)/g(x)` is taken.
//!
//! - `uniform` and `log-uniform` (in log space): a mixture of normals truncated to the range,
//!   one per observation plus a prior (centred, as wide as the range), equal weights. Each
//!   observation's width is the larger gap to its sorted neighbours, the prior's centre
//!   included (the inner gap for the outermost), clipped to `[range / min(100, k + 1), range]`
//!   for `k` components.
//! - `int`: the same over `[low − ½, high + ½]`, drawn values rounded, and `l`, `g` measured as
//!   the probability of the whole number's unit interval.
//! - `choice`: counts of each value plus a prior weight of 1 spread evenly.
//!
//! Everything is plain `f64` arithmetic on a seeded [`Stream`], so a seed gives the same
//! trials on every machine.

use super::space::{Dimension, Distribution, SearchSpace, Stream};

/// Random trials before the estimator takes over.
pub(crate) const STARTUP_TRIALS: usize = 10;

/// Candidates drawn from the good density per dimension.
pub(crate) const CANDIDATES: usize = 24;

/// The next point after `history` (each point with its loss, lower is better).
pub(crate) fn suggest(space: &SearchSpace, history: &[(Vec<f64>, f64)], stream: &mut Stream) -> Vec<f64> {
    if history.len() < STARTUP_TRIALS {
        return space.random(stream);
    }
    let mut order: Vec<usize> = (0..history.len()).collect();
    // Stable: equal losses keep trial order. NaN losses sort last.
    order.sort_by(|&a, &b| history[a].1.total_cmp(&history[b].1));
    let good_count = (history.len() as f64 * 0.1).ceil().clamp(1.0, 25.0) as usize;
    let (good, bad) = order.split_at(good_count);
    space
        .dimensions
        .iter()
        .enumerate()
        .map(|(index, dimension)| {
            let good: Vec<f64> = good.iter().map(|&trial| history[trial].0[index]).collect();
            let bad: Vec<f64> = bad.iter().map(|&trial| history[trial].0[index]).collect();
            suggest_dimension(dimension, &good, &bad, stream)
        })
        .collect()
}

fn suggest_dimension(dimension: &Dimension, good: &[f64], bad: &[f64], stream: &mut Stream) -> f64 {
    match &dimension.distribution {
        Distribution::Uniform { low, high } => {
            let (l, g) = (Parzen::new(good, *low, *high), Parzen::new(bad, *low, *high));
            best_candidate(stream, |stream| l.sample(stream), |x| l.log_pdf(x) - g.log_pdf(x))
        }
        Distribution::LogUniform { low, high } => {
            let (low_log, high_log) = (low.ln(), high.ln());
            let logs = |values: &[f64]| values.iter().map(|value| value.ln()).collect::<Vec<_>>();
            let (l, g) = (Parzen::new(&logs(good), low_log, high_log), Parzen::new(&logs(bad), low_log, high_log));
            let best = best_candidate(stream, |stream| l.sample(stream), |y| l.log_pdf(y) - g.log_pdf(y));
            best.exp().clamp(*low, *high)
        }
        Distribution::Int { low, high } => {
            let (low, high) = (*low as f64, *high as f64);
            let (l, g) = (Parzen::new(good, low - 0.5, high + 0.5), Parzen::new(bad, low - 0.5, high + 0.5));
            best_candidate(
                stream,
                |stream| l.sample(stream).round().clamp(low, high),
                |x| l.log_mass(x - 0.5, x + 0.5) - g.log_mass(x - 0.5, x + 0.5),
            )
        }
        Distribution::Choice(values) => {
            let weights = |observed: &[f64]| -> Vec<f64> {
                let prior = 1.0 / values.len() as f64;
                values
                    .iter()
                    .map(|value| prior + observed.iter().filter(|&seen| seen == value).count() as f64)
                    .collect()
            };
            let (l, g) = (weights(good), weights(bad));
            let (l_total, g_total) = (l.iter().sum::<f64>(), g.iter().sum::<f64>());
            let index = best_candidate(
                stream,
                |stream| pick(&l, l_total, stream.uniform()) as f64,
                |index| {
                    let index = index as usize;
                    (l[index] / l_total).ln() - (g[index] / g_total).ln()
                },
            );
            values[index as usize]
        }
    }
}

/// Draws [`CANDIDATES`] values and returns the first with the highest score.
fn best_candidate(stream: &mut Stream, mut draw: impl FnMut(&mut Stream) -> f64, score: impl Fn(f64) -> f64) -> f64 {
    let mut best = (f64::NAN, f64::NEG_INFINITY);
    for _ in 0..CANDIDATES {
        let candidate = draw(stream);
        let value = score(candidate);
        if best.0.is_nan() || value > best.1 {
            best = (candidate, value);
        }
    }
    best.0
}

/// The index whose cumulative weight first exceeds `u · total`.
fn pick(weights: &[f64], total: f64, u: f64) -> usize {
    let target = u * total;
    let mut cumulative = 0.0;
    for (index, weight) in weights.iter().enumerate() {
        cumulative += weight;
        if target < cumulative {
            return index;
        }
    }
    weights.len() - 1
}

/// An equally weighted mixture of normals truncated to `[low, high]`.
#[derive(Debug, Clone)]
struct Parzen {
    low: f64,
    high: f64,
    /// (mean, width, probability mass inside the range).
    components: Vec<(f64, f64, f64)>,
}

impl Parzen {
    fn new(observations: &[f64], low: f64, high: f64) -> Parzen {
        let range = high - low;
        let prior_mean = (low + high) / 2.0;
        // The prior takes part in the neighbour gaps, as in Optuna, then gets its own width.
        let mut means: Vec<(f64, bool)> = observations.iter().map(|&mean| (mean, false)).collect();
        means.push((prior_mean, true));
        means.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let min_width = range / (100f64).min(means.len() as f64 + 1.0);
        let last = means.len() - 1;
        let components = means
            .iter()
            .enumerate()
            .map(|(index, &(mean, is_prior))| {
                let left = (index > 0).then(|| mean - means[index - 1].0);
                let right = (index < last).then(|| means[index + 1].0 - mean);
                // The outermost means take the gap to their inner neighbour only (Optuna's
                // `consider_endpoints=False`), so a point near an end is not smeared over the range.
                let gap = match (left, right) {
                    (Some(left), Some(right)) => left.max(right),
                    (Some(gap), None) | (None, Some(gap)) => gap,
                    (None, None) => range,
                };
                let width = if is_prior { range } else { gap.clamp(min_width, range) };
                let mass = normal_cdf((high - mean) / width) - normal_cdf((low - mean) / width);
                (mean, width, mass)
            })
            .collect();
        Parzen { low, high, components }
    }

    fn sample(&self, stream: &mut Stream) -> f64 {
        let index = ((stream.uniform() * self.components.len() as f64) as usize).min(self.components.len() - 1);
        let (mean, width, _) = self.components[index];
        // Rejection: every component keeps at least a third of its mass inside the range.
        for _ in 0..64 {
            let x = mean + width * stream.normal();
            if (self.low..=self.high).contains(&x) {
                return x;
            }
        }
        mean.clamp(self.low, self.high)
    }

    fn log_pdf(&self, x: f64) -> f64 {
        let density: f64 = self
            .components
            .iter()
            .map(|&(mean, width, mass)| {
                let z = (x - mean) / width;
                (-0.5 * z * z).exp() / (width * (2.0 * std::f64::consts::PI).sqrt() * mass.max(f64::MIN_POSITIVE))
            })
            .sum::<f64>()
            / self.components.len() as f64;
        density.max(f64::MIN_POSITIVE).ln()
    }

    fn log_mass(&self, from: f64, to: f64) -> f64 {
        let mass: f64 = self
            .components
            .iter()
            .map(|&(mean, width, inside)| {
                (normal_cdf((to - mean) / width) - normal_cdf((from - mean) / width)) / inside.max(f64::MIN_POSITIVE)
            })
            .sum::<f64>()
            / self.components.len() as f64;
        mass.max(f64::MIN_POSITIVE).ln()
    }
}

/// The standard normal distribution function.
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function, with fractional error below 1.2e-7 everywhere
/// (Numerical Recipes' Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let polynomial = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let result = t * polynomial.exp();
    if x >= 0.0 {
        result
    } else {
        2.0 - result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn erfc_matches_known_values() {
        for (x, expected) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (1.0, 0.157_299_207_050_285_13),
            (-1.0, 1.842_700_792_949_715),
            (3.0, 2.209_049_699_858_544e-5),
        ] {
            assert!(((erfc(x) - expected) / expected).abs() < 1.2e-7, "erfc({x}) = {}", erfc(x));
        }
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-7);
    }

    #[test]
    fn parzen_density_integrates_to_one() {
        let parzen = Parzen::new(&[0.1, 0.15, 0.9], 0.0, 1.0);
        let steps = 10_000;
        let integral: f64 =
            (0..steps).map(|i| parzen.log_pdf((i as f64 + 0.5) / steps as f64).exp() / steps as f64).sum();
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
        assert!((parzen.log_mass(0.0, 1.0)).abs() < 1e-6);
    }

    #[test]
    fn suggestions_move_towards_good_observations() {
        let space = SearchSpace::from_json(
            json!({"x": {"distribution": "uniform", "values": [0.0, 10.0]}, "k": {"distribution": "choice", "values": [1, 2, 3]}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        // Dimensions are sorted: k, then x. Loss is |x - 8|, and k = 2 is always best.
        let mut history = Vec::new();
        for trial in 0..40u64 {
            let point = space.random(&mut Stream::new(3, trial));
            let loss = (point[1] - 8.0).abs() + if point[0] == 2.0 { 0.0 } else { 5.0 };
            history.push((point, loss));
        }
        let suggestions: Vec<Vec<f64>> =
            (0..20).map(|trial| suggest(&space, &history, &mut Stream::new(3, 100 + trial))).collect();
        let near = suggestions.iter().filter(|point| (point[1] - 8.0).abs() < 2.0).count();
        let twos = suggestions.iter().filter(|point| point[0] == 2.0).count();
        assert!(near >= 15, "{suggestions:?}");
        assert!(twos >= 15, "{suggestions:?}");
        assert_eq!(suggestions[0], suggest(&space, &history, &mut Stream::new(3, 100)), "deterministic");
        // Before the startup trials are done, suggestions are random draws.
        assert_eq!(suggest(&space, &history[..5], &mut Stream::new(3, 1)), space.random(&mut Stream::new(3, 1)));
    }

    #[test]
    fn tpe_finds_lower_losses_than_random_search() {
        let space = SearchSpace::from_json(
            json!({
                "x": {"distribution": "uniform", "values": [0.0, 10.0]},
                "eta": {"distribution": "log-uniform", "values": [0.001, 1.0]},
                "depth": {"distribution": "int", "values": [1, 12]}
            })
            .as_object()
            .unwrap(),
        )
        .unwrap();
        // Dimensions sorted: depth, eta, x. A smooth bowl with its minimum at (9, 0.05, 8).
        let loss = |point: &[f64]| {
            let depth = (point[0] - 9.0) / 11.0;
            let eta = (point[1].ln() - 0.05f64.ln()) / 1000f64.ln();
            let x = (point[2] - 8.0) / 10.0;
            depth * depth + eta * eta + x * x
        };
        let best_of = |use_tpe: bool, seed: u64| {
            let mut history: Vec<(Vec<f64>, f64)> = Vec::new();
            for trial in 0..40 {
                let mut stream = Stream::new(seed, trial);
                let point = if use_tpe { suggest(&space, &history, &mut stream) } else { space.random(&mut stream) };
                let value = loss(&point);
                history.push((point, value));
            }
            history.iter().map(|(_, value)| *value).fold(f64::INFINITY, f64::min)
        };
        let seeds = 0..20;
        let tpe: f64 = seeds.clone().map(|seed| best_of(true, seed)).sum();
        let random: f64 = seeds.map(|seed| best_of(false, seed)).sum();
        assert!(tpe < random * 0.8, "tpe {tpe} vs random {random}");
    }
}
