//! `zkinfer study`: proving cost against model size for a family of synthetic models — one
//! CSV row per size and log–log plots of time and memory against parameters, with the fitted
//! power-law slope of each series (how cost scales, not only what one model costs).

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use zkinfer_circuits::planner::Objective;
use zkinfer_quant_models::onnx::SynthSpec;

use super::bench::{measure, synthetic_name, BenchRow};
use zkinfer_pipeline::write_atomic;

/// The model families the study sweeps.
#[derive(Clone, Copy, Debug)]
pub enum Family {
    /// `64 → H → H → 10` for each size `H`.
    Mlp,
    /// A 16×16 image through two conv 3×3 + ReLU + max-pool blocks of `C` channels each, then a
    /// dense layer to 10 classes, for each size `C`.
    Cnn,
}

impl Family {
    fn spec(self, size: usize) -> SynthSpec {
        match self {
            Family::Mlp => SynthSpec::Mlp { inputs: 64, hidden: size, depth: 2, classes: 10 },
            Family::Cnn => SynthSpec::Cnn { size: 16, channels: vec![1, size, size], classes: 10 },
        }
    }
}

/// A CSV column: its header name and how a row's cell is written.
type CsvColumn = (&'static str, fn(&BenchRow) -> String);

/// The CSV's columns, so the header and the cells cannot drift apart.
const CSV_COLUMNS: [CsvColumn; 17] = [
    ("model", |r| r.model.clone()),
    ("params", |r| r.parameters.to_string()),
    ("macs", |r| r.macs.to_string()),
    ("nonlinear", |r| r.nonlinear_elements.to_string()),
    ("k", |r| r.k.to_string()),
    ("rows", |r| r.rows.to_string()),
    ("advice", |r| r.advice.to_string()),
    ("fixed", |r| r.fixed.to_string()),
    ("lookups", |r| r.lookups.to_string()),
    ("setup_s", |r| format!("{:.4}", r.setup_s)),
    ("prove_s", |r| format!("{:.4}", r.prove_s)),
    ("verify_ms", |r| format!("{:.3}", r.verify_ms)),
    ("proof_bytes", |r| r.proof_bytes.to_string()),
    ("pk_bytes", |r| r.pk_bytes.to_string()),
    ("peak_rss_mib", |r| format!("{:.1}", r.peak_rss_mib.unwrap_or(f64::NAN))),
    ("float_infer_ms", |r| format!("{:.4}", r.float_infer_ms)),
    ("overhead", |r| format!("{:.0}", r.overhead())),
];

fn csv_header() -> String {
    CSV_COLUMNS.map(|(name, _)| name).join(",")
}

fn csv_row(r: &BenchRow) -> String {
    CSV_COLUMNS.map(|(_, cell)| cell(r)).join(",")
}

/// Least-squares slope of `ln y` against `ln x`: the exponent of the power law through the points.
pub fn log_log_slope(points: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> =
        points.iter().filter(|(x, y)| *x > 0.0 && *y > 0.0).map(|(x, y)| (x.ln(), y.ln())).collect();
    let n = logs.len() as f64;
    if logs.len() < 2 {
        return None;
    }
    let (mx, my) = (logs.iter().map(|p| p.0).sum::<f64>() / n, logs.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = logs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// One plotted quantity: its label and how to read it off a row.
type Series = (&'static str, fn(&BenchRow) -> f64);

/// A log–log plot of `series` against parameters, each labelled with its fitted slope.
fn plot(rows: &[BenchRow], series: &[Series], y_label: &str, title: &str, path: &Path) -> anyhow::Result<()> {
    let xs: Vec<f64> = rows.iter().map(|r| r.parameters as f64).collect();
    let ys: Vec<f64> = rows.iter().flat_map(|r| series.iter().map(move |(_, f)| f(r))).filter(|y| *y > 0.0).collect();
    let range = |v: &[f64]| {
        let (lo, hi) = v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        (lo / 1.5)..(hi * 1.5)
    };
    let svg = {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 600)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 22))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(70)
                .build_cartesian_2d(range(&xs).log_scale(), range(&ys).log_scale())
                .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            chart
                .configure_mesh()
                .x_desc("parameters")
                .y_desc(y_label)
                .draw()
                .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            for (i, (label, f)) in series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                let points: Vec<(f64, f64)> =
                    rows.iter().map(|r| (r.parameters as f64, f(r))).filter(|p| p.1 > 0.0).collect();
                let slope = log_log_slope(&points).map_or("n/a".to_string(), |s| format!("{s:.2}"));
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?
                    .label(format!("{label} (slope {slope})"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| anyhow::anyhow!("plot: {e}"))?;
            root.present().map_err(|e| anyhow::anyhow!("plot: {e}"))?;
        }
        svg
    };
    Ok(write_atomic(path, svg.as_bytes())?)
}

/// Proves each size of `family` (median of `repeat` proofs, each size in its own process) and
/// writes `DIR/study.csv`, `DIR/time.svg` and `DIR/memory.svg`.
pub fn run(family: Family, sizes: &[usize], repeat: usize, dir: &Path) -> anyhow::Result<()> {
    if sizes.is_empty() {
        anyhow::bail!("--sizes needs at least one size");
    }
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("creating {}: {e}", dir.display()))?;
    let mut rows = Vec::new();
    let mut csv = format!("{}\n", csv_header());
    for &size in sizes {
        let name = synthetic_name(&family.spec(size));
        eprintln!("study: {name} …");
        let row = measure(&name, repeat, Objective::ProveTime, 1)?;
        println!("{}", csv_row(&row));
        writeln!(csv, "{}", csv_row(&row))?;
        // Written after every size: a long study interrupted keeps what it measured.
        write_atomic(&dir.join("study.csv"), csv.as_bytes())?;
        rows.push(row);
    }
    let time: [Series; 3] =
        [("prove (s)", |r| r.prove_s), ("setup (s)", |r| r.setup_s), ("verify (s)", |r| r.verify_ms / 1e3)];
    plot(&rows, &time, "seconds", &format!("{family:?}: time against parameters"), &dir.join("time.svg"))?;
    let memory: [Series; 3] = [
        ("peak RSS (MiB)", |r| r.peak_rss_mib.unwrap_or(0.0)),
        ("pk (MiB)", |r| r.pk_bytes as f64 / (1 << 20) as f64),
        ("proof (KiB)", |r| r.proof_bytes as f64 / 1024.0),
    ];
    plot(&rows, &memory, "size", &format!("{family:?}: memory against parameters"), &dir.join("memory.svg"))?;
    let slope =
        |f: fn(&BenchRow) -> f64| log_log_slope(&rows.iter().map(|r| (r.parameters as f64, f(r))).collect::<Vec<_>>());
    if let Some(s) = slope(|r| r.prove_s) {
        println!("prove time grows as parameters^{s:.2}");
    }
    println!("wrote {}/study.csv, time.svg, memory.svg", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_power_law_is_its_exponent() {
        let points: Vec<(f64, f64)> =
            [1.0, 10.0, 100.0, 1000.0].iter().map(|&x: &f64| (x, 3.0 * x.powf(1.5))).collect();
        assert!((log_log_slope(&points).unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(log_log_slope(&points[..1]), None);
        assert_eq!(log_log_slope(&[(5.0, 1.0), (5.0, 2.0)]), None);
    }
}
