//! A small safe interface to XGBoost's C API: dense, columnar and quantile matrices, boosters,
//! one round at a time, predictions and JSON models. The only unsafe code of the step
//! implementations lives here.
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

    /// A matrix of the feature columns `columns` (each one value a row; NaN is a missing
    /// value), handed to XGBoost as columnar data, which it copies on up to `threads` threads.
    pub fn from_columns(columns: &[&[f32]], threads: usize) -> Result<DMatrix> {
        let (data, rows) = columnar_interface(columns)?;
        let config = c_string(&format!("{{\"missing\": NaN, \"nthread\": {}}}", threads.max(1)))?;
        let mut handle: sys::DMatrixHandle = std::ptr::null_mut();
        // SAFETY: `data` describes buffers borrowed for the call (XGBoost copies them); both
        // strings are NUL-terminated; `handle` is a valid out-pointer.
        check(unsafe { sys::XGDMatrixCreateFromColumnar(data.as_ptr(), config.as_ptr(), &mut handle) })?;
        Ok(DMatrix { handle, rows })
    }

    /// A quantile matrix of the feature columns `columns` (NaN is a missing value) and their
    /// `labels`: what the `hist` tree method trains on. XGBoost reads the columns twice (once
    /// to find each feature's bin boundaries, once to bin the values) and keeps the bin of
    /// every value, one byte each for up to 256 bins, instead of a copy of the values; it then
    /// has no histogram index to build on the first round. `max_bin` must be the booster's. A
    /// validation matrix passes the training matrix as `reference`, to be binned at its
    /// boundaries.
    pub fn quantile_from_columns(
        columns: &[&[f32]],
        labels: &[f32],
        max_bin: u32,
        threads: usize,
        reference: Option<&DMatrix>,
    ) -> Result<DMatrix> {
        let (data, rows) = columnar_interface(columns)?;
        if labels.len() != rows {
            return Err(Error(format!("{} labels for {rows} rows", labels.len())));
        }
        let labels = c_string(&array_interface(labels))?;
        let mut proxy: sys::DMatrixHandle = std::ptr::null_mut();
        // SAFETY: `proxy` is a valid out-pointer.
        check(unsafe { sys::XGProxyDMatrixCreate(&mut proxy) })?;
        // Freed when this function returns.
        let proxy = DMatrix { handle: proxy, rows };
        let mut batch = OneBatch { proxy: proxy.handle, data, labels, given: false, error: None };
        let config =
            c_string(&format!("{{\"missing\": NaN, \"nthread\": {}, \"max_bin\": {max_bin}}}", threads.max(1)))?;
        let reference = reference.map_or(std::ptr::null_mut(), |reference| reference.handle);
        let mut handle: sys::DMatrixHandle = std::ptr::null_mut();
        // SAFETY: `batch` outlives the call and only the callbacks touch it during it, on this
        // thread; the buffers its JSON describes (`columns`, `labels`) are borrowed for the
        // whole call; `reference` is null or a live matrix; `handle` is a valid out-pointer.
        let code = unsafe {
            sys::XGQuantileDMatrixCreateFromCallback(
                (&mut batch as *mut OneBatch).cast(),
                proxy.handle,
                reference,
                Some(OneBatch::reset),
                Some(OneBatch::next),
                config.as_ptr(),
                &mut handle,
            )
        };
        let matrix = (!handle.is_null()).then_some(DMatrix { handle, rows });
        if let Some(error) = batch.error {
            return Err(error);
        }
        check(code)?;
        matrix.ok_or_else(|| Error("XGBoost returned no matrix".to_string()))
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

/// The `__array_interface__` JSON of a read-only `f32` buffer, as XGBoost reads arrays.
fn array_interface(values: &[f32]) -> String {
    format!(
        "{{\"data\": [{}, true], \"shape\": [{}], \"typestr\": \"<f4\", \"version\": 3}}",
        values.as_ptr() as usize,
        values.len()
    )
}

/// The prediction config XGBoost's predict calls read (`extra` adds fields): every tree, the
/// objective's transform unless `margin`.
fn prediction_config(margin: bool, extra: &str) -> Result<CString> {
    let kind = if margin { 1 } else { 0 };
    c_string(&format!(
        "{{\"type\": {kind}, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, \"strict_shape\": false{extra}}}"
    ))
}

/// Where a predict call leaves its result: a buffer XGBoost owns, valid until the next call on
/// the booster.
struct Prediction {
    shape: *const sys::bst_ulong,
    dimensions: sys::bst_ulong,
    result: *const f32,
}

impl Default for Prediction {
    fn default() -> Self {
        Prediction { shape: std::ptr::null(), dimensions: 0, result: std::ptr::null() }
    }
}

impl Prediction {
    /// A copy of the values, taken before anything else calls the booster.
    fn copied(&self) -> Result<Vec<f32>> {
        if self.result.is_null() || self.shape.is_null() {
            return Err(Error("XGBoost returned no predictions".to_string()));
        }
        // SAFETY: after a successful predict call, `shape` holds `dimensions` sizes and
        // `result` their product of floats, alive until the next call on the booster, which
        // the borrow of the booster by the caller rules out.
        unsafe {
            let shape = std::slice::from_raw_parts(self.shape, self.dimensions as usize);
            let count = shape.iter().map(|&size| size as usize).product::<usize>();
            Ok(std::slice::from_raw_parts(self.result, count).to_vec())
        }
    }
}

/// XGBoost's columnar data: a JSON list of one array interface a column. Returns it and the
/// number of rows, the same for every column.
fn columnar_interface(columns: &[&[f32]]) -> Result<(CString, usize)> {
    let rows = columns.first().map_or(0, |column| column.len());
    if rows == 0 || columns.iter().any(|column| column.len() != rows) {
        let lengths: Vec<usize> = columns.iter().map(|column| column.len()).collect();
        return Err(Error(format!("columns of {lengths:?} values do not make a matrix")));
    }
    let list: Vec<String> = columns.iter().map(|column| array_interface(column)).collect();
    Ok((c_string(&format!("[{}]", list.join(", ")))?, rows))
}

/// The data iterator [`DMatrix::quantile_from_columns`] hands XGBoost: one batch, the whole
/// table, set on the proxy matrix each time XGBoost asks for it.
struct OneBatch {
    proxy: sys::DMatrixHandle,
    data: CString,
    labels: CString,
    given: bool,
    error: Option<Error>,
}

impl OneBatch {
    /// XGBoost's `next`: 1 when a batch was set on the proxy, 0 at the end (and on an error,
    /// which is kept and reported once XGBoost returns, as the Python package does).
    unsafe extern "C" fn next(iterator: sys::DataIterHandle) -> std::ffi::c_int {
        // SAFETY: `iterator` is the `OneBatch` given to `XGQuantileDMatrixCreateFromCallback`,
        // alive and borrowed by nothing else while XGBoost runs the callbacks.
        let batch = unsafe { &mut *iterator.cast::<OneBatch>() };
        if batch.given || batch.error.is_some() {
            return 0;
        }
        batch.given = true;
        let field = c"label";
        // SAFETY: the proxy is live; the JSON strings are NUL-terminated and describe buffers
        // borrowed until the matrix is built.
        let outcome = check(unsafe { sys::XGProxyDMatrixSetDataColumnar(batch.proxy, batch.data.as_ptr()) })
            // SAFETY: as above.
            .and_then(|()| {
                check(unsafe { sys::XGDMatrixSetInfoFromInterface(batch.proxy, field.as_ptr(), batch.labels.as_ptr()) })
            });
        match outcome {
            Ok(()) => 1,
            Err(error) => {
                batch.error = Some(error);
                0
            }
        }
    }

    /// XGBoost's `reset`: the next `next` gives the batch again.
    unsafe extern "C" fn reset(iterator: sys::DataIterHandle) {
        // SAFETY: as in `next`.
        let batch = unsafe { &mut *iterator.cast::<OneBatch>() };
        batch.given = false;
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
        let config = prediction_config(margin, "")?;
        let mut output = Prediction::default();
        // SAFETY: the handles are live; the out-pointers are valid.
        check(unsafe {
            sys::XGBoosterPredictFromDMatrix(
                self.handle,
                matrix.handle,
                config.as_ptr(),
                &mut output.shape,
                &mut output.dimensions,
                &mut output.result,
            )
        })?;
        output.copied()
    }

    /// Predictions transformed by the objective.
    pub fn predict(&self, matrix: &DMatrix) -> Result<Vec<f32>> {
        self.predict_with(matrix, false)
    }

    /// Raw margins.
    pub fn predict_margin(&self, matrix: &DMatrix) -> Result<Vec<f32>> {
        self.predict_with(matrix, true)
    }

    /// Like [`Booster::predict`] (or raw margins when `margin` is set), for the rows of the
    /// feature columns `columns` (NaN is a missing value), read in place: no matrix is built.
    pub fn predict_columns(&self, columns: &[&[f32]], margin: bool) -> Result<Vec<f32>> {
        let (data, _) = columnar_interface(columns)?;
        let config = prediction_config(margin, ", \"missing\": NaN")?;
        let mut output = Prediction::default();
        // SAFETY: the handle is live; `data` describes buffers borrowed for the call; a null
        // proxy matrix asks XGBoost for a fresh one; the out-pointers are valid.
        check(unsafe {
            sys::XGBoosterPredictFromColumnar(
                self.handle,
                data.as_ptr(),
                config.as_ptr(),
                std::ptr::null_mut(),
                &mut output.shape,
                &mut output.dimensions,
                &mut output.result,
            )
        })?;
        output.copied()
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

    fn columns(values: &[f32], width: usize) -> Vec<Vec<f32>> {
        (0..width).map(|column| values.iter().skip(column).step_by(width).copied().collect()).collect()
    }

    #[test]
    fn columnar_and_quantile_matrices_train_the_same_model_as_dense_ones() {
        let (values, labels) = matrix(300);
        let columns = columns(&values, 3);
        let columns: Vec<&[f32]> = columns.iter().map(Vec::as_slice).collect();
        let params = [("objective", "binary:logistic"), ("max_depth", "3"), ("verbosity", "0"), ("max_bin", "16")];
        let train = |matrix: &DMatrix| {
            let mut booster = Booster::new(&[matrix]).unwrap();
            for (name, value) in params {
                booster.set_param(name, value).unwrap();
            }
            for round in 0..5 {
                booster.update(matrix, round).unwrap();
            }
            booster
        };
        let mut dense = DMatrix::from_dense(&values, 300, 2).unwrap();
        dense.set_labels(&labels).unwrap();
        let mut columnar = DMatrix::from_columns(&columns, 2).unwrap();
        columnar.set_labels(&labels).unwrap();
        let quantile = DMatrix::quantile_from_columns(&columns, &labels, 16, 2, None).unwrap();
        assert_eq!(quantile.num_rows(), 300);
        let valid = DMatrix::quantile_from_columns(&columns, &labels, 16, 2, Some(&quantile)).unwrap();

        let expected = train(&dense).predict(&dense).unwrap();
        assert_eq!(train(&columnar).predict(&dense).unwrap(), expected);
        let from_quantile = train(&quantile);
        assert_eq!(from_quantile.predict(&dense).unwrap(), expected);
        assert_eq!(from_quantile.predict(&valid).unwrap(), expected);
        // Read in place, the columns predict what their matrix does; margins too.
        assert_eq!(from_quantile.predict_columns(&columns, false).unwrap(), expected);
        assert_eq!(
            from_quantile.predict_columns(&columns, true).unwrap(),
            from_quantile.predict_margin(&dense).unwrap()
        );
    }

    #[test]
    fn in_place_prediction_reads_missing_values_and_refuses_ragged_columns() {
        let (values, labels) = matrix(300);
        let mut columns = columns(&values, 3);
        let mut dense = DMatrix::from_dense(&values, 300, 1).unwrap();
        dense.set_labels(&labels).unwrap();
        let mut booster = Booster::new(&[&dense]).unwrap();
        booster.set_param("verbosity", "0").unwrap();
        for round in 0..3 {
            booster.update(&dense, round).unwrap();
        }
        columns[1][7] = f32::NAN;
        let mut with_missing = values.clone();
        with_missing[7 * 3 + 1] = f32::NAN;
        let slices: Vec<&[f32]> = columns.iter().map(Vec::as_slice).collect();
        let expected = booster.predict(&DMatrix::from_dense(&with_missing, 300, 1).unwrap()).unwrap();
        assert_eq!(booster.predict_columns(&slices, false).unwrap(), expected);
        assert!(booster.predict_columns(&[&slices[0][..10], slices[1]], false).is_err());
    }

    #[test]
    fn matrices_refuse_ragged_columns_and_wrong_labels() {
        let (a, b) = ([1.0f32, 2.0, 3.0], [1.0f32, 2.0]);
        assert!(DMatrix::from_columns(&[&a, &b], 1).unwrap_err().to_string().contains("[3, 2]"));
        assert!(DMatrix::from_columns(&[], 1).is_err());
        let error = DMatrix::quantile_from_columns(&[&a], &[1.0], 16, 1, None).unwrap_err();
        assert_eq!(error.to_string(), "1 labels for 3 rows");
        let quantile = DMatrix::quantile_from_columns(&[&a], &[0.0, 1.0, 0.0], 16, 1, None).unwrap();
        // A reference with other columns than the matrix: XGBoost's own error comes back.
        assert!(DMatrix::quantile_from_columns(&[&a, &a], &[0.0, 1.0, 0.0], 16, 1, Some(&quantile)).is_err());
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
