//! The search space of `tune`: one dimension per tuned `xgboost` option, random draws from it,
//! and the seeded random stream every sampler uses.
//!
//! Draws use only `next_u64` of ChaCha8 (a stream fixed by its specification), turned into
//! floats and normals here, so the trials of a seed never change with a library upgrade.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::exec::train::booster::INTEGER_PARAMS;
use crate::exec::StepError;

/// How one option is searched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Distribution {
    /// Uniform between two numbers.
    Uniform { low: f64, high: f64 },
    /// Uniform in the logarithm between two positive numbers.
    LogUniform { low: f64, high: f64 },
    /// A whole number between two, both included.
    Int { low: i64, high: i64 },
    /// One of a list of numbers.
    Choice(Vec<f64>),
}

/// One tuned option.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dimension {
    /// The `xgboost` option.
    pub name: String,
    /// Its distribution.
    pub distribution: Distribution,
}

/// A dimension as the plan writes it: `{"distribution": "int", "values": [3, 10]}`.
#[derive(Debug, Deserialize)]
struct PlanDimension {
    distribution: String,
    values: Vec<f64>,
}

/// Every tuned option, in name order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchSpace {
    /// The dimensions.
    pub dimensions: Vec<Dimension>,
}

impl SearchSpace {
    /// Reads the plan's `space` param (checked by `mlopsc check`; a malformed one is our bug).
    pub fn from_json(space: &Map<String, Json>) -> Result<SearchSpace, StepError> {
        let mut dimensions = Vec::new();
        for (name, value) in space {
            let plan: PlanDimension = serde_json::from_value(value.clone()).map_err(|error| {
                StepError::Internal(format!("the search space of `{name}` has an unexpected shape: {error}"))
            })?;
            let malformed = || StepError::Internal(format!("the search space of `{name}` is malformed: {value}"));
            let distribution = match (plan.distribution.as_str(), plan.values.as_slice()) {
                ("uniform", &[low, high]) if low < high => Distribution::Uniform { low, high },
                ("log-uniform", &[low, high]) if 0.0 < low && low < high => Distribution::LogUniform { low, high },
                ("int", &[low, high]) if low <= high => {
                    Distribution::Int { low: low.round() as i64, high: high.round() as i64 }
                }
                ("choice", values) if !values.is_empty() => Distribution::Choice(values.to_vec()),
                _ => return Err(malformed()),
            };
            dimensions.push(Dimension { name: name.clone(), distribution });
        }
        dimensions.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(SearchSpace { dimensions })
    }

    /// A random point: one value per dimension.
    pub fn random(&self, stream: &mut Stream) -> Vec<f64> {
        self.dimensions.iter().map(|dimension| dimension.distribution.random(stream)).collect()
    }

    /// A point as `xgboost` option overrides: whole numbers for integer options.
    pub fn overrides(&self, point: &[f64]) -> Map<String, Json> {
        self.dimensions
            .iter()
            .zip(point)
            .map(|(dimension, &value)| {
                let json = if INTEGER_PARAMS.contains(&dimension.name.as_str())
                    || matches!(dimension.distribution, Distribution::Int { .. })
                {
                    Json::from(value.round() as i64)
                } else {
                    serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number)
                };
                (dimension.name.clone(), json)
            })
            .collect()
    }
}

impl Distribution {
    fn random(&self, stream: &mut Stream) -> f64 {
        let u = stream.uniform();
        match *self {
            Distribution::Uniform { low, high } => low + u * (high - low),
            Distribution::LogUniform { low, high } => (low.ln() + u * (high.ln() - low.ln())).exp().clamp(low, high),
            Distribution::Int { low, high } => {
                let span = (high - low + 1) as f64;
                (low + ((u * span).floor() as i64).min(high - low)) as f64
            }
            Distribution::Choice(ref values) => values[((u * values.len() as f64) as usize).min(values.len() - 1)],
        }
    }
}

/// The random stream of one trial: ChaCha8 seeded from the tune seed and the trial number.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    rng: ChaCha8Rng,
    spare_normal: Option<f64>,
}

impl Stream {
    /// The stream of trial `trial` under `seed`.
    pub fn new(seed: u64, trial: u64) -> Stream {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(trial);
        Stream { rng, spare_normal: None }
    }

    /// A number in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal number (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        if let Some(spare) = self.spare_normal.take() {
            return spare;
        }
        let radius = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        let angle = std::f64::consts::TAU * self.uniform();
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn space() -> SearchSpace {
        let plan = json!({
            "subsample": {"distribution": "uniform", "values": [0.5, 1.0]},
            "eta": {"distribution": "log-uniform", "values": [0.01, 0.3]},
            "max_depth": {"distribution": "int", "values": [3, 10]},
            "min_child_weight": {"distribution": "choice", "values": [1, 5, 10]}
        });
        SearchSpace::from_json(plan.as_object().unwrap()).unwrap()
    }

    #[test]
    fn random_points_stay_in_range_and_repeat_per_seed() {
        let space = space();
        let names: Vec<&str> = space.dimensions.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["eta", "max_depth", "min_child_weight", "subsample"]);
        let mut depths = std::collections::BTreeSet::new();
        for trial in 0..200 {
            let point = space.random(&mut Stream::new(7, trial));
            assert_eq!(point, space.random(&mut Stream::new(7, trial)));
            assert!((0.01..=0.3).contains(&point[0]), "{point:?}");
            assert!((3.0..=10.0).contains(&point[1]) && point[1].fract() == 0.0, "{point:?}");
            assert!([1.0, 5.0, 10.0].contains(&point[2]), "{point:?}");
            assert!((0.5..1.0).contains(&point[3]), "{point:?}");
            depths.insert(point[1] as i64);
        }
        assert_eq!(depths.len(), 8, "every depth is drawn: {depths:?}");
        assert_ne!(space.random(&mut Stream::new(7, 0)), space.random(&mut Stream::new(8, 0)));
    }

    #[test]
    fn overrides_are_whole_for_integer_options() {
        let space = space();
        let overrides = space.overrides(&[0.05, 6.0, 5.0, 0.75]);
        assert_eq!(
            Json::Object(overrides),
            json!({"eta": 0.05, "max_depth": 6, "min_child_weight": 5.0, "subsample": 0.75})
        );
    }

    #[test]
    fn normals_have_the_right_moments() {
        let mut stream = Stream::new(1, 0);
        let draws: Vec<f64> = (0..20000).map(|_| stream.normal()).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / draws.len() as f64;
        assert!(mean.abs() < 0.03 && (variance - 1.0).abs() < 0.05, "{mean} {variance}");
    }
}
