//! clustering:rust — an mlbench peer written in Rust (docs/peer-protocol.md).
//!
//! It speaks the JSON-lines protocol on stdin/stdout, reads the arrays the
//! engine exported (X.npy, and y.npy and silhouette_idx.npy when present),
//! and runs the clustering task's k-means (Lloyd; init first or k-means++)
//! and DBSCAN (brute force) with the same maths as plugins/clustering:
//! scikit-learn's stopping rule and empty-cluster relocation, the plugin's
//! splitmix64 draws for k-means++, sklearn's DBSCAN labels. Everything else
//! is refused with a message. Only serde_json is used (Debian's
//! librust-serde-json-dev); see README.md.

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::time::Instant;

const PROTOCOL: i64 = 1;

// ---- .npy files ------------------------------------------------------------

/// A little-endian, C-order .npy array of f8 or i8 (what mlb_npy_write
/// writes), as doubles, with its shape.
struct Array {
    shape: Vec<usize>,
    data: Vec<f64>,
}

fn read_npy(path: &str) -> Result<Array, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {}", path, e))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(format!("{}: not a .npy file", path));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("{}: .npy version {} not supported", path, v)),
    };
    if bytes.len() < start + hlen {
        return Err(format!("{}: truncated header", path));
    }
    let header = String::from_utf8_lossy(&bytes[start..start + hlen]).to_string();
    let descr = if header.contains("'<f8'") {
        'f'
    } else if header.contains("'<i8'") {
        'i'
    } else {
        return Err(format!("{}: dtype not <f8 or <i8: {}", path, header.trim()));
    };
    if header.contains("'fortran_order': True") {
        return Err(format!("{}: Fortran order not supported", path));
    }
    let open = header.find("'shape': (").ok_or(format!("{}: no shape", path))? + 10;
    let close = open + header[open..].find(')').ok_or(format!("{}: bad shape", path))?;
    let shape: Vec<usize> = header[open..close]
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|e| format!("{}: shape: {}", path, e)))
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + hlen..];
    if body.len() < count * 8 {
        return Err(format!("{}: {} values expected, file truncated", path, count));
    }
    let data = body[..count * 8]
        .chunks_exact(8)
        .map(|c| {
            let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
            if descr == 'f' {
                f64::from_le_bytes(b)
            } else {
                i64::from_le_bytes(b) as f64
            }
        })
        .collect();
    Ok(Array { shape, data })
}

// ---- the plugin's draws ----------------------------------------------------

/// splitmix64, as mlb_rand_u64 in libmlbench.
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
    fn below(&mut self, m: usize) -> usize {
        let j = (self.unit() * m as f64) as usize;
        if j < m {
            j
        } else {
            m - 1
        }
    }
}

/// sum_t (x_t - y_t)^2 in order, as the naive variant (same rounding).
fn sqdist(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).fold(0.0, |s, (a, b)| {
        let u = a - b;
        s + u * u
    })
}

// ---- k-means ---------------------------------------------------------------

struct KMeansCfg {
    k: usize,
    kmeanspp: bool,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
}

struct KMeansFit {
    centers: Vec<f64>,
    labels: Vec<i64>,
    inertia: f64,
    n_iter: usize,
}

/// The k-means++ rows (plugins/clustering/kmeans.c, clu_kmeanspp).
fn kmeanspp(xc: &[f64], n: usize, d: usize, k: usize, rng: &mut Draws) -> Vec<usize> {
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.below(n);
    let mut ids = vec![first];
    let row = |i: usize| &xc[i * d..(i + 1) * d];
    let mut closest: Vec<f64> = xc.chunks_exact(d).map(|x| sqdist(row(first), x)).collect();
    let mut pot: f64 = 0.0;
    for v in &closest {
        pot += v;
    }
    let mut csum = vec![0.0; n];
    let mut cand = vec![0.0; n];
    let mut best_d = vec![0.0; n];
    for _ in 1..k {
        let mut run = 0.0;
        for i in 0..n {
            run += closest[i];
            csum[i] = run;
        }
        let cands: Vec<usize> = (0..trials)
            .map(|_| {
                let v = rng.unit() * pot;
                let at = csum.partition_point(|&c| c < v);
                if at < n {
                    at
                } else {
                    n - 1
                }
            })
            .collect();
        // Two buffers for the whole init: a fresh vector per candidate
        // would fault in its pages every time.
        let mut best_p = f64::INFINITY;
        let mut best_c = cands[0];
        for &c in &cands {
            let xc_row = row(c);
            let mut p = 0.0;
            for ((dst, x), &cl) in cand.iter_mut().zip(xc.chunks_exact(d)).zip(&closest) {
                let v = sqdist(xc_row, x);
                let m = if cl < v { cl } else { v };
                p += m;
                *dst = m;
            }
            if p < best_p {
                best_p = p;
                best_c = c;
                std::mem::swap(&mut cand, &mut best_d);
            }
        }
        pot = best_p;
        std::mem::swap(&mut closest, &mut best_d);
        ids.push(best_c);
    }
    ids
}

fn kmeans(x: &[f64], n: usize, d: usize, cfg: &KMeansCfg) -> KMeansFit {
    let k = cfg.k;
    let mut mean = vec![0.0; d];
    for i in 0..n {
        for j in 0..d {
            mean[j] += x[i * d + j];
        }
    }
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    let mut xc = vec![0.0; n * d];
    let mut var = 0.0;
    for i in 0..n {
        let mut s = 0.0;
        for j in 0..d {
            let t = x[i * d + j] - mean[j];
            xc[i * d + j] = t;
            s += t * t;
        }
        var += s;
    }
    let tol_abs = if cfg.tol == 0.0 { 0.0 } else { cfg.tol * (var / n as f64 / d as f64) };
    let mut rng = Draws(cfg.seed);
    let n_init = if cfg.kmeanspp { cfg.n_init } else { 1 };
    let mut best: Option<KMeansFit> = None;
    for _ in 0..n_init {
        let ids: Vec<usize> = if cfg.kmeanspp {
            kmeanspp(&xc, n, d, k, &mut rng)
        } else {
            (0..k).collect()
        };
        let mut c: Vec<f64> = ids.iter().flat_map(|&i| xc[i * d..(i + 1) * d].to_vec()).collect();
        let (labels, n_iter) = lloyd(&xc, n, d, k, &mut c, cfg.max_iter, tol_abs);
        let mut inertia = 0.0;
        for i in 0..n {
            let l = labels[i] as usize;
            inertia += sqdist(&xc[i * d..(i + 1) * d], &c[l * d..(l + 1) * d]);
        }
        let better = match &best {
            None => true,
            Some(b) => inertia < b.inertia && !same_clustering(&labels, &b.labels, k),
        };
        if better {
            best = Some(KMeansFit { centers: c, labels, inertia, n_iter });
        }
    }
    let mut fit = best.unwrap();
    for j in 0..k {
        for t in 0..d {
            fit.centers[j * d + t] += mean[t];
        }
    }
    fit
}

fn same_clustering(a: &[i64], b: &[i64], k: usize) -> bool {
    let mut map = vec![-1i64; k];
    for i in 0..a.len() {
        let m = &mut map[a[i] as usize];
        if *m == -1 {
            *m = b[i];
        } else if *m != b[i] {
            return false;
        }
    }
    true
}

/// Assigns every row to its nearest centre (first on ties); with `sums`,
/// also the sums and counts of the next centres.
fn assign(
    xc: &[f64],
    d: usize,
    c: &[f64],
    k: usize,
    labels: &mut [i64],
    mut sums: Option<(&mut [f64], &mut [f64])>,
) {
    for (i, x) in xc.chunks_exact(d).enumerate() {
        let mut best = 0;
        let mut min = 0.0;
        for j in 0..k {
            let s = sqdist(x, &c[j * d..(j + 1) * d]);
            if j == 0 || s < min {
                min = s;
                best = j;
            }
        }
        labels[i] = best as i64;
        if let Some((s, counts)) = sums.as_mut() {
            for t in 0..d {
                s[best * d + t] += x[t];
            }
            counts[best] += 1.0;
        }
    }
}

/// Lloyd's iterations from the centres in `c`, sklearn's stopping rule;
/// leaves the final centres in `c`. Returns the labels and iterations.
fn lloyd(
    xc: &[f64],
    n: usize,
    d: usize,
    k: usize,
    c: &mut Vec<f64>,
    max_iter: usize,
    tol_abs: f64,
) -> (Vec<i64>, usize) {
    let mut labels = vec![0i64; n];
    let mut old = vec![-1i64; n];
    let mut next = vec![0.0; k * d];
    let mut counts = vec![0.0; k];
    let mut shift = vec![0.0; k];
    let mut strict = false;
    let mut n_iter = max_iter;
    for it in 0..max_iter {
        next.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0.0);
        assign(xc, d, c, k, &mut labels, Some((&mut next, &mut counts)));
        relocate_empty(xc, d, k, c, &mut next, &mut counts, &labels);
        for j in 0..k {
            if counts[j] > 0.0 {
                let a = 1.0 / counts[j];
                for t in 0..d {
                    next[j * d + t] *= a;
                }
            }
            shift[j] = sqdist(&c[j * d..(j + 1) * d], &next[j * d..(j + 1) * d]).sqrt();
        }
        std::mem::swap(c, &mut next);
        if labels == old {
            strict = true;
            n_iter = it + 1;
            break;
        }
        let total: f64 = shift.iter().map(|s| s * s).sum();
        if total <= tol_abs {
            n_iter = it + 1;
            break;
        }
        old.copy_from_slice(&labels);
    }
    if !strict {
        assign(xc, d, c, k, &mut labels, None);
    }
    (labels, n_iter)
}

/// sklearn's _relocate_empty_clusters: each empty cluster takes the point
/// farthest from its own (old) centre, farthest first, ties to the lowest index.
fn relocate_empty(
    xc: &[f64],
    d: usize,
    k: usize,
    c: &[f64],
    sums: &mut [f64],
    counts: &mut [f64],
    labels: &[i64],
) {
    if !counts.iter().any(|&v| v == 0.0) {
        return;
    }
    let mut dist: Vec<f64> = xc
        .chunks_exact(d)
        .zip(labels)
        .map(|(x, &l)| sqdist(x, &c[l as usize * d..(l as usize + 1) * d]))
        .collect();
    for j in 0..k {
        if counts[j] != 0.0 {
            continue;
        }
        let mut far = 0;
        for i in 1..dist.len() {
            if dist[i] > dist[far] {
                far = i;
            }
        }
        dist[far] = -1.0;
        let old = labels[far] as usize;
        for t in 0..d {
            let v = xc[far * d + t];
            sums[old * d + t] -= v;
            sums[j * d + t] = v;
        }
        counts[j] = 1.0;
        counts[old] -= 1.0;
    }
}

// ---- DBSCAN (brute force) --------------------------------------------------

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// sklearn's labels, computed as plugins/clustering/dbscan.c does: core
/// points by neighbour counts, clusters as the core points' components
/// numbered by their lowest index, border points to the lowest-numbered
/// adjacent cluster.
fn dbscan(x: &[f64], n: usize, d: usize, eps: f64, min_samples: usize) -> Vec<i64> {
    let r2 = eps * eps;
    let row = |i: usize| &x[i * d..(i + 1) * d];
    // Counting and joining need each pair once, (i, j > i), as in the
    // plugin's brute force; border points need all their neighbours.
    let mut count = vec![1usize; n]; // the point itself
    for i in 0..n {
        let xi = row(i);
        let mut c = 0;
        for (j, xj) in x[(i + 1) * d..].chunks_exact(d).enumerate() {
            let hit = (sqdist(xi, xj) <= r2) as usize;
            c += hit;
            count[i + 1 + j] += hit;
        }
        count[i] += c;
    }
    let core: Vec<bool> = count.iter().map(|&c| c >= min_samples).collect();
    let mut parent: Vec<usize> = (0..n).collect();
    for i in 0..n {
        if !core[i] {
            continue;
        }
        let xi = row(i);
        for (j, xj) in x[(i + 1) * d..].chunks_exact(d).enumerate() {
            let j = i + 1 + j;
            if core[j] && sqdist(xi, xj) <= r2 {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                if a < b {
                    parent[b] = a;
                } else if b < a {
                    parent[a] = b;
                }
            }
        }
    }
    let mut cid = vec![-1i64; n];
    let mut labels = vec![-1i64; n];
    let mut next = 0;
    for i in 0..n {
        if core[i] {
            let r = find(&mut parent, i);
            if cid[r] < 0 {
                cid[r] = next;
                next += 1;
            }
            labels[i] = cid[r];
        }
    }
    for i in 0..n {
        if core[i] {
            continue;
        }
        let mut best = -1i64;
        let xi = row(i);
        for (j, xj) in x.chunks_exact(d).enumerate() {
            if core[j] && sqdist(xi, xj) <= r2 {
                let c = cid[find(&mut parent, j)];
                if best < 0 || c < best {
                    best = c;
                }
            }
        }
        labels[i] = best;
    }
    labels
}

// ---- metrics (plugins/common/cluster_metrics.h) ----------------------------

fn ari(a: &[i64], b: &[i64]) -> f64 {
    let n = a.len() as u128;
    let mut cells: HashMap<(i64, i64), u128> = HashMap::new();
    let mut na: HashMap<i64, u128> = HashMap::new();
    let mut nb: HashMap<i64, u128> = HashMap::new();
    for i in 0..a.len() {
        *cells.entry((a[i], b[i])).or_insert(0) += 1;
        *na.entry(a[i]).or_insert(0) += 1;
        *nb.entry(b[i]).or_insert(0) += 1;
    }
    let (mut sum_sq, mut dot_a, mut dot_b) = (0u128, 0u128, 0u128);
    for (&(x, y), &c) in &cells {
        sum_sq += c * c;
        dot_a += c * na[&x];
        dot_b += c * nb[&y];
    }
    let tp = sum_sq - n;
    let fp = dot_b - sum_sq;
    let fn_ = dot_a - sum_sq;
    let tn = n * n - fp - fn_ - sum_sq;
    if fn_ == 0 && fp == 0 {
        return 1.0;
    }
    // Exact in 128-bit integers (n up to about 1e9), as sklearn in Python's.
    let num = tp as i128 * tn as i128 - fn_ as i128 * fp as i128;
    let den = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
    2.0 * num as f64 / den as f64
}

fn dense_labels(labels: &[i64], rows: &[usize]) -> (Vec<usize>, usize) {
    let mut values: Vec<i64> = rows.iter().map(|&r| labels[r]).collect();
    values.sort_unstable();
    values.dedup();
    let lab = rows.iter().map(|&r| values.binary_search(&labels[r]).unwrap()).collect();
    (lab, values.len())
}

fn silhouette(x: &[f64], d: usize, labels: &[i64], rows: &[usize]) -> Option<f64> {
    let m = rows.len();
    let (c, l) = dense_labels(labels, rows);
    if m < 3 || l < 2 || l > m - 1 {
        return None;
    }
    let mut cnt = vec![0usize; l];
    for &ci in &c {
        cnt[ci] += 1;
    }
    let mut total = 0.0;
    let mut sum = vec![0.0; l];
    for i in 0..m {
        sum.iter_mut().for_each(|v| *v = 0.0);
        let xi = &x[rows[i] * d..(rows[i] + 1) * d];
        for j in 0..m {
            if j != i {
                sum[c[j]] += sqdist(xi, &x[rows[j] * d..(rows[j] + 1) * d]).sqrt();
            }
        }
        let own = c[i];
        if cnt[own] < 2 {
            continue;
        }
        let a = sum[own] / (cnt[own] - 1) as f64;
        let mut b = f64::INFINITY;
        for q in 0..l {
            if q != own && sum[q] / (cnt[q] as f64) < b {
                b = sum[q] / cnt[q] as f64;
            }
        }
        let den = if a > b { a } else { b };
        if den > 0.0 {
            total += (b - a) / den;
        }
    }
    Some(total / m as f64)
}

fn davies_bouldin(x: &[f64], d: usize, labels: &[i64], rows: &[usize]) -> Option<f64> {
    let m = rows.len();
    let (c, l) = dense_labels(labels, rows);
    if m < 3 || l < 2 || l > m - 1 {
        return None;
    }
    let mut cen = vec![0.0; l * d];
    let mut cnt = vec![0.0; l];
    for (i, &r) in rows.iter().enumerate() {
        cnt[c[i]] += 1.0;
        for t in 0..d {
            cen[c[i] * d + t] += x[r * d + t];
        }
    }
    for q in 0..l {
        for t in 0..d {
            cen[q * d + t] /= cnt[q];
        }
    }
    let mut s = vec![0.0; l];
    for (i, &r) in rows.iter().enumerate() {
        s[c[i]] += sqdist(&x[r * d..(r + 1) * d], &cen[c[i] * d..(c[i] + 1) * d]).sqrt();
    }
    for q in 0..l {
        s[q] /= cnt[q];
    }
    let cd = |a: usize, b: usize| sqdist(&cen[a * d..(a + 1) * d], &cen[b * d..(b + 1) * d]).sqrt();
    let all_s_zero = s.iter().all(|v| v.abs() <= 1e-8);
    let all_c_zero = (0..l).all(|a| (0..l).all(|b| cd(a, b) <= 1e-8));
    if all_s_zero || all_c_zero {
        return Some(0.0);
    }
    let mut total = 0.0;
    for a in 0..l {
        let mut worst: f64 = 0.0;
        for b in 0..l {
            if b != a {
                let dist = cd(a, b);
                let v = if dist > 0.0 { (s[a] + s[b]) / dist } else { 0.0 };
                worst = worst.max(v);
            }
        }
        total += worst;
    }
    Some(total / l as f64)
}

// ---- the peer ----------------------------------------------------------------

enum Model {
    KMeans(KMeansCfg),
    Dbscan { eps: f64, min_samples: usize },
}

struct Peer {
    model: Model,
    x: Vec<f64>,
    n: usize,
    d: usize,
    y: Option<Vec<i64>>,
    sil: Option<Vec<usize>>,
    repeats: usize,
    batch: usize,
    cursor: usize,
    labels: Option<Vec<i64>>,
    kfit: Option<KMeansFit>,
}

fn param<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    p.get(name).ok_or(format!("parameter {} missing", name))
}
fn pint(p: &Map<String, Value>, name: &str) -> Result<usize, String> {
    param(p, name)?
        .as_u64()
        .map(|v| v as usize)
        .ok_or(format!("parameter {} is not an integer", name))
}
fn pfloat(p: &Map<String, Value>, name: &str) -> Result<f64, String> {
    param(p, name)?.as_f64().ok_or(format!("parameter {} is not a number", name))
}
fn pstr<'a>(p: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    param(p, name)?.as_str().ok_or(format!("parameter {} is not a string", name))
}

const SCOPE: &str = "the rust peer runs model=kmeans (algorithm=lloyd, init=first or k-means++) \
                     and model=dbscan (index=brute)";

fn setup(req: &Value, log: &mut Vec<String>) -> Result<Peer, String> {
    let empty = Map::new();
    let p = req.get("params").and_then(|v| v.as_object()).unwrap_or(&empty);
    let seed = req.get("seed").and_then(|v| v.as_u64()).unwrap_or(0);
    let model = match pstr(p, "model")? {
        "kmeans" => {
            if pstr(p, "algorithm")? != "lloyd" {
                return Err(format!("algorithm={}: {}", pstr(p, "algorithm")?, SCOPE));
            }
            let kmeanspp = match pstr(p, "init")? {
                "first" => false,
                "k-means++" => true,
                other => return Err(format!("init={}: {}", other, SCOPE)),
            };
            Model::KMeans(KMeansCfg {
                k: pint(p, "n_clusters")?,
                kmeanspp,
                n_init: pint(p, "n_init")?,
                max_iter: pint(p, "max_iter")?,
                tol: pfloat(p, "tol")?,
                seed,
            })
        }
        "dbscan" => {
            if pstr(p, "index")? != "brute" {
                return Err(format!("index={}: {}", pstr(p, "index")?, SCOPE));
            }
            Model::Dbscan { eps: pfloat(p, "eps")?, min_samples: pint(p, "min_samples")? }
        }
        other => return Err(format!("model={}: {}", other, SCOPE)),
    };
    let data = req.get("data").and_then(|v| v.as_object()).unwrap_or(&empty);
    let path = |name: &str| data.get(name).and_then(|v| v.as_str()).map(|s| s.to_string());
    let xa = read_npy(&path("X").ok_or("no data array X (data_from: naive exports it)")?)?;
    if xa.shape.len() != 2 {
        return Err("X is not a matrix".into());
    }
    let (n, d) = (xa.shape[0], xa.shape[1]);
    if let Model::KMeans(c) = &model {
        if c.k > n || c.k == 0 {
            return Err(format!("n_clusters={} with {} rows", c.k, n));
        }
    }
    let y = match path("y") {
        Some(f) => Some(read_npy(&f)?.data.iter().map(|&v| v as i64).collect()),
        None => None,
    };
    let sil = match path("silhouette_idx") {
        Some(f) => Some(read_npy(&f)?.data.iter().map(|&v| v as usize).collect()),
        None => None,
    };
    if pint(p, "threads").unwrap_or(1) > 1 {
        log.push("the rust peer is single-threaded; threads ignored".into());
    }
    Ok(Peer {
        model,
        x: xa.data,
        n,
        d,
        y,
        sil,
        repeats: pint(p, "fit_repeats").unwrap_or(1).max(1),
        batch: pint(p, "batch_size").unwrap_or(256).min(n).max(1),
        cursor: 0,
        labels: None,
        kfit: None,
    })
}

impl Peer {
    fn train(&mut self, metrics: &mut Map<String, Value>, work: &mut Map<String, Value>) {
        let t0 = Instant::now();
        for _ in 0..self.repeats {
            match &self.model {
                Model::KMeans(c) => {
                    let f = kmeans(&self.x, self.n, self.d, c);
                    self.labels = Some(f.labels.clone());
                    self.kfit = Some(f);
                }
                Model::Dbscan { eps, min_samples } => {
                    self.labels = Some(dbscan(&self.x, self.n, self.d, *eps, *min_samples));
                }
            }
        }
        let fit_s = t0.elapsed().as_secs_f64() / self.repeats as f64;
        work.insert("items".into(), json!((self.n * self.repeats) as f64));
        // The fit alone, for a reader: the engine's train time already judges it.
        metrics.insert("fit_s".into(),
                       json!({"value": fit_s, "better": "lower", "restates_time": true}));
        if let Some(f) = &self.kfit {
            metrics.insert("iterations".into(), json!({"value": f.n_iter as f64, "better": "lower"}));
        }
    }

    fn infer(&mut self, work: &mut Map<String, Value>) {
        let f = match &self.kfit {
            Some(f) => f,
            None => return, // dbscan predicts nothing, as in the plugin
        };
        let (n, d, rows) = (self.n, self.d, self.batch);
        let first = if self.cursor + rows <= n { self.cursor } else { 0 };
        let mut labels = vec![0i64; rows];
        let k = f.centers.len() / d;
        assign(&self.x[first * d..(first + rows) * d], d, &f.centers, k, &mut labels, None);
        self.cursor = first + rows;
        work.insert("items".into(), json!(rows as f64));
    }

    fn teardown(&self, metrics: &mut Map<String, Value>) {
        let labels = match &self.labels {
            Some(l) => l,
            None => return,
        };
        let mut put = |name: &str, v: f64, better: &str| {
            if v.is_finite() {
                metrics.insert(name.into(), json!({"value": v, "better": better}));
            }
        };
        let mut found: Vec<i64> = labels.iter().cloned().filter(|&l| l >= 0).collect();
        found.sort_unstable();
        found.dedup();
        put("n_clusters_found", found.len() as f64, "higher");
        if let Some(f) = &self.kfit {
            put("inertia", f.inertia, "lower");
        } else {
            let noise = labels.iter().filter(|&&l| l < 0).count();
            put("noise_fraction", noise as f64 / self.n as f64, "lower");
        }
        if let Some(y) = &self.y {
            put("ari", ari(y, labels), "higher");
        }
        let rows: Vec<usize> = (0..self.n).filter(|&i| labels[i] >= 0).collect();
        if let Some(v) = davies_bouldin(&self.x, self.d, labels, &rows) {
            put("davies_bouldin", v, "lower");
        }
        let rows: Vec<usize> = match &self.sil {
            Some(s) => s.iter().cloned().filter(|&i| labels[i] >= 0).collect(),
            None => rows,
        };
        if let Some(v) = silhouette(&self.x, self.d, labels, &rows) {
            put("silhouette", v, "higher");
        }
    }
}

fn send(out: &mut impl Write, v: &Value) {
    // A broken pipe means the engine is gone: nothing left to tell it.
    let _ = writeln!(out, "{}", v).and_then(|_| out.flush());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--version") {
        println!("mlbench-clustering-peer {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    let stdin = io::stdin();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut peer: Option<Peer> = None;
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(_) => break,
        };
        let req: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                send(&mut out, &json!({"ok": false, "error": format!("bad request: {}", e)}));
                continue;
            }
        };
        let op = req.get("op").and_then(|v| v.as_str()).unwrap_or("").to_string();
        let mut metrics = Map::new();
        let mut work = Map::new();
        let mut logs = Vec::new();
        let result: Result<(), String> = match op.as_str() {
            "hello" => {
                if req.get("protocol").and_then(|v| v.as_i64()) != Some(PROTOCOL) {
                    Err(format!("engine speaks protocol {}, peer {}", req["protocol"], PROTOCOL))
                } else {
                    send(&mut out, &json!({"ok": true, "protocol": PROTOCOL,
                                           "peer": "mlbench-clustering-peer",
                                           "version": env!("CARGO_PKG_VERSION"),
                                           "language": "rust"}));
                    continue;
                }
            }
            "setup" => setup(&req, &mut logs).map(|p| peer = Some(p)),
            "train" | "infer" | "teardown" => match peer.as_mut() {
                None => Err(format!("{} before a successful setup", op)),
                Some(p) => {
                    match op.as_str() {
                        "train" => p.train(&mut metrics, &mut work),
                        "infer" => p.infer(&mut work),
                        _ => p.teardown(&mut metrics),
                    }
                    Ok(())
                }
            },
            other => Err(format!("unknown op '{}'", other)),
        };
        for m in logs {
            send(&mut out, &json!({"event": "log", "message": m}));
        }
        match result {
            Ok(()) => send(&mut out, &json!({"ok": true, "work": work, "metrics": metrics})),
            Err(e) => send(&mut out, &json!({"ok": false, "error": e})),
        }
        if op == "teardown" {
            break;
        }
    }
}
