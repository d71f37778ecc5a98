//! A small safe interface to XGBoost's C API: dense matrices, boosters, one round at a time,
//! predictions and JSON models. The only unsafe code of the step implementations lives here.
//!
//! XGBoost itself is built from its C++ source by the `xgboost_lib-sys` crate (CMake, see
//! `.cargo/config.toml` and `build/xgboost.cmake` for how it is built: a static library,
//! optimised like the Python wheels). Parameters go to XGBoost exactly as given, one
//! `XGBoosterSetParam` each, so anything not set keeps XGBoost's own default — the defaults the
//! Python package has, including the intercept (`base_score`) XGBoost estimates from the labels.
//!
//! Every call checks XGBoost's return code and turns a failure into an [`Error`] carrying
//! `XGBGetLastError`'s text. Handles are freed on drop. A matrix or booster is used by one
//! thread at a time (`&mut` for anything that changes it, `Send` to move it to a worker), which
//! is what XGBoost's C API allows.

#![allow(unsafe_code)]

use std::ffi::{c_char, CStr, CString};

use xgboost_lib_sys as sys;

/// An error XGBoost reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// XGBoost's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Checks a C API return code.
fn check(code: i32) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    // SAFETY: `XGBGetLastError` returns a pointer to a NUL-terminated thread-local string that
    // stays valid until the next XGBoost call on this thread; it is copied at once.
    let text = unsafe {
        let pointer = sys::XGBGetLastError();
        if pointer.is_null() {
            String::from("unknown XGBoost error")
        } else {
            CStr::from_ptr(pointer).to_string_lossy().into_owned()
        }
    };
    Err(Error(text.trim().to_string()))
}

fn c_string(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| Error(format!("`{}` holds a NUL byte", text.escape_default())))
}

/// A dense matrix of features (and, for training, labels) in XGBoost's memory.
#[derive(Debug)]
pub struct DMatrix {
    handle: sys::DMatrixHandle,
    rows: usize,
}

// SAFETY: a DMatrix handle is owned by this value alone and may be used from any thread, one
// at a time; nothing here shares it.
unsafe impl Send for DMatrix {}

impl DMatrix {
    /// A matrix of `rows` rows from `values` laid out row by row; NaN is a missing value.
    /// XGBoost copies the values, reading them on up to `threads` threads.
    pub fn from_dense(values: &[f32], rows: usize, threads: usize) -> Result<DMatrix> {
        if rows == 0 || values.is_empty() || !values.len().is_multiple_of(rows) {
            return Err(Error(format!("{} values do not make {rows} rows of a matrix", values.len())));
        }
        let columns = values.len() / rows;
        let mut handle: sys::DMatrixHandle = std::ptr::null_mut();
        let threads = i32::try_from(threads.max(1)).unwrap_or(i32::MAX);
        // SAFETY: `values` holds `rows * columns` floats and outlives the call (XGBoost copies
        // them); `handle` is a valid out-pointer.
        check(unsafe {
            sys::XGDMatrixCreateFromMat_omp(
                values.as_ptr(),
                rows as sys::bst_ulong,
                columns as sys::bst_ulong,
                f32::NAN,
                &mut handle,
                threads,
            )
        })?;
        Ok(DMatrix { handle, rows })
    }

    /// Sets the labels, one per row.
    pub fn set_labels(&mut self, labels: &[f32]) -> Result<()> {
        if labels.len() != self.rows {
            return Err(Error(format!("{} labels for {} rows", labels.len(), self.rows)));
        }
        let field = c_string("label")?;
        // SAFETY: the handle is live; `labels` holds `labels.len()` floats, copied by XGBoost.
        check(unsafe {
            sys::XGDMatrixSetFloatInfo(self.handle, field.as_ptr(), labels.as_ptr(), labels.len() as sys::bst_ulong)
        })
    }

    /// Its number of rows.
    pub fn num_rows(&self) -> usize {
        self.rows
    }
}

impl Drop for DMatrix {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoost and is freed once, here.
        unsafe {
            sys::XGDMatrixFree(self.handle);
        }
    }
}

/// A gradient-boosted model, being trained or loaded.
#[derive(Debug)]
pub struct Booster {
    handle: sys::BoosterHandle,
}

// SAFETY: as for `DMatrix`: one owner, used from one thread at a time.
unsafe impl Send for Booster {}

impl Booster {
    /// A new booster that keeps prediction caches for `cached` (the training matrix, and the
    /// validation matrix it is scored on every round). The matrices must outlive the booster's
    /// use of them, which the borrow in every call that takes them guarantees.
    pub fn new(cached: &[&DMatrix]) -> Result<Booster> {
        let handles: Vec<sys::DMatrixHandle> = cached.iter().map(|matrix| matrix.handle).collect();
        let mut handle: sys::BoosterHandle = std::ptr::null_mut();
        // SAFETY: `handles` are live DMatrix handles, `handle` a valid out-pointer.
        check(unsafe { sys::XGBoosterCreate(handles.as_ptr(), handles.len() as sys::bst_ulong, &mut handle) })?;
        Ok(Booster { handle })
    }

    /// Sets one parameter, as XGBoost names it.
    pub fn set_param(&mut self, name: &str, value: &str) -> Result<()> {
        let (name, value) = (c_string(name)?, c_string(value)?);
        // SAFETY: the handle is live; both strings are NUL-terminated and outlive the call.
        check(unsafe { sys::XGBoosterSetParam(self.handle, name.as_ptr(), value.as_ptr()) })
    }

    /// Trains round `round` (0-based) on `train`.
    pub fn update(&mut self, train: &DMatrix, round: i32) -> Result<()> {
        // SAFETY: both handles are live for the duration of the call.
        check(unsafe { sys::XGBoosterUpdateOneIter(self.handle, round, train.handle) })
    }

    /// Predictions for every row of `matrix`: transformed by the objective (probabilities for
    /// `binary:logistic`, say), or raw margins when `margin` is set. Several values a row
    /// (one a class for `multi:softprob`) come row by row.
    fn predict_with(&self, matrix: &DMatrix, margin: bool) -> Result<Vec<f32>> {
        let kind = if margin { 1 } else { 0 };
        let config = c_string(&format!(
            "{{\"type\": {kind}, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false}}"
        ))?;
        let mut shape: *const sys::bst_ulong = std::ptr::null();
        let mut dimensions: sys::bst_ulong = 0;
        let mut result: *const f32 = std::ptr::null();
        // SAFETY: the handles are live; the out-pointers are valid. XGBoost owns the result
        // buffer (valid until the next call on this booster), which is copied before returning.
        unsafe {
            check(sys::XGBoosterPredictFromDMatrix(
                self.handle,
                matrix.handle,
                config.as_ptr(),
                &mut shape,
                &mut dimensions,
                &mut result,
            ))?;
            if result.is_null() || shape.is_null() {
                return Err(Error("XGBoost returned no predictions".to_string()));
            }
            let shape = std::slice::from_raw_parts(shape, dimensions as usize);
            let count = shape.iter().map(|&size| size as usize).product::<usize>();
            Ok(std::slice::from_raw_parts(result, count).to_vec())
        }
    }

    /// Predictions transformed by the objective.
    pub fn predict(&self, matrix: &DMatrix) -> Result<Vec<f32>> {
        self.predict_with(matrix, false)
    }

    /// Raw margins.
    pub fn predict_margin(&self, matrix: &DMatrix) -> Result<Vec<f32>> {
        self.predict_with(matrix, true)
    }

    /// The model as XGBoost's JSON document.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let config = c_string("{\"format\": \"json\"}")?;
        let mut length: sys::bst_ulong = 0;
        let mut bytes: *const c_char = std::ptr::null();
        // SAFETY: the handle is live; XGBoost owns the buffer until the next call on this
        // booster, and it is copied at once.
        unsafe {
            check(sys::XGBoosterSaveModelToBuffer(self.handle, config.as_ptr(), &mut length, &mut bytes))?;
            if bytes.is_null() {
                return Err(Error("XGBoost returned no model".to_string()));
            }
            Ok(std::slice::from_raw_parts(bytes.cast::<u8>(), length as usize).to_vec())
        }
    }

    /// A booster read from a model document (JSON or UBJSON, as XGBoost saves them).
    pub fn load_buffer(bytes: &[u8]) -> Result<Booster> {
        let mut booster = Booster::new(&[])?;
        // SAFETY: the handle is live; `bytes` holds `bytes.len()` bytes for the call.
        check(unsafe {
            sys::XGBoosterLoadModelFromBuffer(booster.handle, bytes.as_ptr().cast(), bytes.len() as sys::bst_ulong)
        })?;
        booster.set_param("verbosity", "0")?;
        Ok(booster)
    }
}

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from XGBoost and is freed once, here.
        unsafe {
            sys::XGBoosterFree(self.handle);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize) -> (Vec<f32>, Vec<f32>) {
        let values: Vec<f32> = (0..rows * 3).map(|i| ((i * 7919) % 101) as f32 / 101.0).collect();
        let labels: Vec<f32> = values.chunks(3).map(|row| if row[0] + row[1] > 1.0 { 1.0 } else { 0.0 }).collect();
        (values, labels)
    }

    #[test]
    fn a_model_trains_predicts_and_round_trips_through_json() {
        let (values, labels) = matrix(200);
        let mut train = DMatrix::from_dense(&values, 200, 2).unwrap();
        train.set_labels(&labels).unwrap();
        let mut booster = Booster::new(&[&train]).unwrap();
        for (name, value) in [("objective", "binary:logistic"), ("max_depth", "3"), ("verbosity", "0")] {
            booster.set_param(name, value).unwrap();
        }
        for round in 0..5 {
            booster.update(&train, round).unwrap();
        }
        let predictions = booster.predict(&train).unwrap();
        assert_eq!(predictions.len(), 200);
        assert!(predictions.iter().all(|p| (0.0..=1.0).contains(p)));
        let margins = booster.predict_margin(&train).unwrap();
        let sigmoid = |m: f32| 1.0 / (1.0 + (-m).exp());
        assert!(margins.iter().zip(&predictions).all(|(m, p)| (sigmoid(*m) - p).abs() < 1e-6));

        let json = booster.to_json().unwrap();
        assert!(json.starts_with(b"{"), "a JSON document");
        let loaded = Booster::load_buffer(&json).unwrap();
        assert_eq!(loaded.predict(&train).unwrap(), predictions);
    }

    #[test]
    fn errors_carry_xgboost_messages() {
        assert!(DMatrix::from_dense(&[1.0, 2.0, 3.0], 2, 1).is_err());
        let (values, labels) = matrix(10);
        let mut train = DMatrix::from_dense(&values, 10, 1).unwrap();
        assert!(train.set_labels(&labels[..5]).is_err());
        train.set_labels(&labels).unwrap();
        let mut booster = Booster::new(&[&train]).unwrap();
        booster.set_param("objective", "no:such").unwrap();
        let error = booster.update(&train, 0).unwrap_err();
        assert!(error.to_string().contains("no:such"), "{error}");
        assert!(Booster::load_buffer(b"not a model").is_err());
    }
}
