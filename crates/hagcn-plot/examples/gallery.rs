//! Writes example charts (PNG and SVG) resembling the hashing experiments, for eyeballing.
//!
//! ```text
//! cargo run -p hagcn-plot --example gallery -- [OUT_DIR]    # default /tmp/hagcn-plot-gallery
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use hagcn_plot::{LineChart, Scale, Series};

const FILTERS: [&str; 5] = ["lanczos", "gcn", "spline", "cheby", "fourier"];
const BASELINES: [&str; 3] = ["LSH", "PCAH", "ITQ"];

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("/tmp/hagcn-plot-gallery"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;

    write(&dir, "map_vs_bits", &map_vs_bits(Scale::Linear))?;
    write(&dir, "map_vs_neighbours", &map_vs_neighbours())?;
    write(&dir, "precision_recall", &precision_recall())?;

    // Edge cases worth a look.
    write(&dir, "edge_map_vs_bits_log", &map_vs_bits(Scale::Log10))?;
    write(&dir, "edge_single_point", &single_point())?;
    write(&dir, "edge_many_series", &many_series())?;
    Ok(())
}

fn write(dir: &Path, name: &str, chart: &LineChart) -> Result<(), Box<dyn Error>> {
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&png, chart.png()?)?;
    std::fs::write(dir.join(format!("{name}.svg")), chart.svg()?)?;
    println!("{}", png.display());
    Ok(())
}

/// Deterministic pseudo-noise in [-1, 1].
fn noise(i: usize, j: usize) -> f64 {
    let h = (i as u64 * 2_654_435_761 + j as u64 * 40_503 + 17) % 10_007;
    h as f64 / 5_003.5 - 1.0
}

fn map_vs_bits(scale: Scale) -> LineChart {
    let bits = [16.0, 28.0, 32.0, 64.0, 128.0];
    let mut chart = LineChart::new("mAP@200 vs code length", "code length (bits)", "mAP@200");
    chart.x_scale = scale;
    chart.x_ticks = Some(bits.to_vec());
    for (i, name) in FILTERS.iter().enumerate() {
        let base = 0.36 + 0.035 * (4 - i) as f64;
        let points = bits
            .iter()
            .enumerate()
            .map(|(j, &b)| (b, base + 0.09 * (b / 16.0).log2() / 3.0 + 0.008 * noise(i, j)))
            .collect();
        let err = bits.iter().enumerate().map(|(j, _)| 0.008 + 0.006 * noise(j, i).abs()).collect();
        chart.series.push(Series::solid(*name, points).with_y_err(err));
    }
    let baseline_curves: [[f64; 5]; 3] =
        [[0.152, 0.19, 0.205, 0.262, 0.321], [0.248, 0.243, 0.24, 0.228, 0.214], [0.286, 0.315, 0.322, 0.356, 0.382]];
    for (name, ys) in BASELINES.iter().zip(baseline_curves) {
        chart.series.push(Series::dashed(*name, bits.iter().copied().zip(ys).collect()));
    }
    chart
}

fn map_vs_neighbours() -> LineChart {
    let ks: [f64; 9] = [10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0];
    let mut chart = LineChart::new("mAP vs number of neighbours (32 bits)", "number of retrieved neighbours", "mAP");
    chart.x_scale = Scale::Log10;
    let tops = [0.62, 0.6, 0.57, 0.55, 0.52, 0.43, 0.39, 0.47];
    for (i, (name, top)) in FILTERS.iter().chain(BASELINES.iter()).zip(tops).enumerate() {
        let points = ks
            .iter()
            .enumerate()
            .map(|(j, &k)| (k, top * (1.0 - 0.12 * (k / 10.0).log10()) + 0.004 * noise(i, j)))
            .collect();
        let s = if i < FILTERS.len() { Series::solid(*name, points) } else { Series::dashed(*name, points) };
        chart.series.push(s);
    }
    chart
}

fn precision_recall() -> LineChart {
    let mut chart = LineChart::new("Precision–recall (32 bits)", "recall", "precision");
    let methods: [(&str, f64, bool); 5] =
        [("lanczos", 2.2, false), ("gcn", 1.8, false), ("spline", 1.5, false), ("ITQ", 1.0, true), ("LSH", 0.5, true)];
    for (name, strength, dashed) in methods {
        // One point per Hamming radius 0..=32, as a 32-bit PR curve has.
        let points = (0..=32)
            .map(|i| {
                let r = f64::from(i) / 32.0;
                let p = 0.1 + 0.9 * (1.0 - r.powf(strength.max(0.6))).max(0.0).powf(1.0 / strength);
                (r, p)
            })
            .collect();
        chart.series.push(if dashed { Series::dashed(name, points) } else { Series::solid(name, points) });
    }
    chart
}

fn single_point() -> LineChart {
    let mut chart = LineChart::new("One code length", "code length (bits)", "mAP@200");
    chart.x_ticks = Some(vec![32.0]);
    chart.series.push(Series::solid("gcn", vec![(32.0, 0.41)]).with_y_err(vec![0.012]));
    chart.series.push(Series::dashed("ITQ", vec![(32.0, 0.33)]));
    chart
}

fn many_series() -> LineChart {
    let mut chart = LineChart::new("Ten series (palette wraps)", "k", "precision@k");
    chart.x_ticks = Some((1..=8).map(f64::from).collect());
    for i in 0..10 {
        let points = (1..=8).map(|k| (f64::from(k), 0.9 - 0.05 * i as f64 - 0.02 * f64::from(k))).collect();
        let name = format!("method {i}");
        chart.series.push(if i % 3 == 2 { Series::dashed(name, points) } else { Series::solid(name, points) });
    }
    chart
}
