//! Rendering tests through the public API.

use hagcn_plot::{FONT_FAMILY, HEIGHT, LineChart, LineStyle, PlotError, Scale, Series, WIDTH};

/// First two palette colours as plotters writes them in SVG.
const FIRST: &str = "#0072B2";
const SECOND: &str = "#D55E00";

fn chart() -> LineChart {
    let mut c = LineChart::new("mAP@200 vs code length", "code length (bits)", "mAP@200");
    c.x_ticks = Some(vec![16.0, 28.0, 32.0, 64.0, 128.0]);
    let xs = [16.0, 28.0, 32.0, 64.0, 128.0];
    c.series.push(Series::solid("gcn", xs.iter().map(|&x| (x, 0.3 + x / 500.0)).collect()));
    c.series.push(Series::dashed("ITQ", xs.iter().map(|&x| (x, 0.2 + x / 800.0)).collect()));
    c
}

/// `(attributes, content)` of every `<text>` element.
fn texts(svg: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find("<text ") {
        let after = &rest[start..];
        let open_end = after.find('>').expect("unterminated <text>");
        let close = after.find("</text>").expect("missing </text>");
        out.push((after[..open_end].to_owned(), after[open_end + 1..close].trim().to_owned()));
        rest = &after[close..];
    }
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn text_with<'a>(texts: &'a [(String, String)], content: &str) -> Option<&'a String> {
    texts.iter().find(|(_, c)| c == content).map(|(a, _)| a)
}

fn count_polylines(svg: &str, stroke: &str) -> usize {
    let needle = format!("stroke=\"{stroke}\"");
    svg.lines().filter(|l| l.starts_with("<polyline") && l.contains(&needle)).count()
}

fn decode_png(bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
    let mut reader = png::Decoder::new(bytes).read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    buf.truncate(info.buffer_size());
    (info, buf)
}

#[test]
fn svg_has_title_axis_labels_and_every_legend_label() {
    let mut c = chart();
    c.series.push(Series::dashed("PCAH & <SH>", vec![(16.0, 0.25), (128.0, 0.26)]));
    let svg = c.svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(attr(&svg[..svg.find('>').unwrap()], "width"), Some("800"));
    assert_eq!(attr(&svg[..svg.find('>').unwrap()], "height"), Some("560"));
    let t = texts(&svg);
    for content in ["mAP@200 vs code length", "code length (bits)", "mAP@200", "gcn", "ITQ", "PCAH &amp; &lt;SH&gt;"] {
        assert!(text_with(&t, content).is_some(), "no <text> {content:?} in {t:?}");
    }
    // Every text uses the bundled family and a readable size.
    for (a, content) in &t {
        assert_eq!(attr(a, "font-family"), Some(FONT_FAMILY), "{content}");
        let size: f64 = attr(a, "font-size").unwrap().parse().unwrap();
        assert!(size >= 14.0, "{content:?} has font-size {size}");
    }
    for label in ["code length (bits)", "mAP@200"] {
        let size: f64 = attr(text_with(&t, label).unwrap(), "font-size").unwrap().parse().unwrap();
        assert!(size >= 16.0, "axis label {label:?} has font-size {size}");
    }
    // The y label is turned to read bottom to top.
    assert!(attr(text_with(&t, "mAP@200").unwrap(), "transform").unwrap().starts_with("rotate(270"));
}

#[test]
fn dashed_series_are_drawn_as_many_dashes_and_solid_ones_as_one_line() {
    let svg = chart().svg().unwrap();
    // Solid: the data line and the legend sample. Dashed: one polyline per dash.
    assert_eq!(count_polylines(&svg, FIRST), 2);
    let dashes = count_polylines(&svg, SECOND);
    assert!(dashes > 20, "dashed series drew only {dashes} polylines");
}

#[test]
fn markers_distinguish_solid_and_dashed_series() {
    let svg = chart().svg().unwrap();
    let circles = svg.lines().filter(|l| l.starts_with("<circle") && l.contains(&format!("fill=\"{FIRST}\""))).count();
    let squares = svg.lines().filter(|l| l.starts_with("<rect") && l.contains(&format!("fill=\"{SECOND}\""))).count();
    // Five points plus the legend sample each.
    assert_eq!((circles, squares), (6, 6));
}

#[test]
fn error_bars_add_a_whisker_and_two_caps_per_point() {
    let plain = chart().svg().unwrap();
    let mut c = chart();
    c.series[0].y_err = Some(vec![0.01, 0.02, 0.015, 0.01, 0.03]);
    let with_err = c.svg().unwrap();
    assert_eq!(count_polylines(&with_err, FIRST) - count_polylines(&plain, FIRST), 5 * 3);
}

#[test]
fn explicit_x_ticks_are_exactly_the_ones_labelled() {
    let svg = chart().svg().unwrap();
    let t = texts(&svg);
    let tick_row = attr(text_with(&t, "16").unwrap(), "y").unwrap().to_owned();
    let row: Vec<&str> =
        t.iter().filter(|(a, _)| attr(a, "y") == Some(tick_row.as_str())).map(|(_, c)| c.as_str()).collect();
    assert_eq!(row, ["16", "28", "32", "64", "128"]);
    // 28 and 32 are close on a linear axis; their labels are pushed apart instead of overlapping.
    let x = |s: &str| attr(text_with(&t, s).unwrap(), "x").unwrap().parse::<f64>().unwrap();
    assert!(x("32") - x("28") >= 25.0, "{} {}", x("28"), x("32"));
}

#[test]
fn png_has_the_declared_size_and_shows_text_and_series() {
    let bytes = chart().png().unwrap();
    assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]));
    let (info, rgb) = decode_png(&bytes);
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px = |x: usize, y: usize| {
        let i = (y * WIDTH as usize + x) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    assert_eq!(px(0, 0), [255, 255, 255], "background is white");
    // The title (top 40 rows) is rendered with the bundled font.
    let dark_title_pixels = (0..40).flat_map(|y| (0..WIDTH as usize).map(move |x| (x, y))).filter(|&(x, y)| {
        let p = px(x, y);
        p.iter().all(|&c| c < 100)
    });
    assert!(dark_title_pixels.count() > 300);
    // Both series colours appear.
    for (r, g, b) in [(0, 114, 178), (213, 94, 0)] {
        let n = rgb.chunks(3).filter(|p| p[0].abs_diff(r) < 8 && p[1].abs_diff(g) < 8 && p[2].abs_diff(b) < 8).count();
        assert!(n > 300, "colour {r},{g},{b} found in only {n} pixels");
    }
}

#[test]
fn single_point_chart_renders() {
    let mut c = LineChart::new("one code length", "bits", "mAP");
    c.x_ticks = Some(vec![32.0]);
    c.series.push(Series::solid("gcn", vec![(32.0, 0.41)]).with_y_err(vec![0.01]));
    let svg = c.svg().unwrap();
    let t = texts(&svg);
    assert!(text_with(&t, "32").is_some());
    assert!(svg.lines().any(|l| l.starts_with("<circle") && l.contains(FIRST)));
    let (info, _) = decode_png(&c.png().unwrap());
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));

    // Also without explicit ticks, and on a log axis.
    c.x_ticks = None;
    c.svg().unwrap();
    c.x_scale = Scale::Log10;
    c.png().unwrap();
}

#[test]
fn log_axis_puts_decades_at_equal_distances() {
    let mut c = LineChart::new("mAP vs number of neighbours", "neighbours", "mAP");
    c.x_scale = Scale::Log10;
    let ks = [10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0];
    c.series.push(Series::solid("gcn", ks.iter().map(|&k: &f64| (k, 0.6 - 0.05 * k.log10())).collect()));
    let svg = c.svg().unwrap();
    let t = texts(&svg);
    let x = |s: &str| {
        let a = text_with(&t, s).unwrap_or_else(|| panic!("no tick label {s:?}"));
        attr(a, "x").unwrap().parse::<f64>().unwrap()
    };
    let (a, b, d) = (x("10"), x("100"), x("1000"));
    assert!(b - a > 100.0 && ((b - a) - (d - b)).abs() <= 1.0, "{a} {b} {d}");
    assert!(text_with(&t, "500").is_none(), "only decades are labelled by default");
    c.png().unwrap();

    // Explicit ticks on a log axis.
    c.x_ticks = Some(vec![10.0, 50.0, 500.0, 5000.0]);
    let t = texts(&c.svg().unwrap());
    for s in ["10", "50", "500", "5000"] {
        assert!(text_with(&t, s).is_some(), "{s}");
    }
    assert!(text_with(&t, "100").is_none());
}

#[test]
fn many_series_keep_a_complete_legend() {
    let mut c = LineChart::new("many", "k", "precision");
    for i in 0..14 {
        let style = if i % 2 == 0 { LineStyle::Solid } else { LineStyle::Dashed };
        c.series.push(Series::new(format!("method {i}"), vec![(1.0, 0.9 - 0.05 * f64::from(i)), (8.0, 0.5)], style));
    }
    let t = texts(&c.svg().unwrap());
    for i in 0..14 {
        assert!(text_with(&t, &format!("method {i}")).is_some());
    }
    c.png().unwrap();
}

#[test]
fn empty_labels_stay_out_of_the_legend() {
    let mut c = chart();
    c.series[1].label.clear();
    let svg = c.svg().unwrap();
    // The dashed series still draws its dashes, but no legend sample (which would add 3 dashes).
    let with_label = chart().svg().unwrap();
    assert!(count_polylines(&svg, SECOND) < count_polylines(&with_label, SECOND));
    assert!(text_with(&texts(&svg), "ITQ").is_none());
}

#[test]
fn rendering_is_deterministic() {
    let c = chart();
    assert_eq!(c.svg().unwrap(), c.svg().unwrap());
    assert_eq!(c.png().unwrap(), c.png().unwrap());
}

#[test]
fn y_range_clips_data_to_the_axes() {
    let mut c = chart();
    // gcn runs from 0.33 to 0.56, so it leaves this range through the top.
    c.y_range = Some((0.25, 0.4));
    let svg = c.svg().unwrap();
    let frame = svg.lines().find(|l| l.starts_with("<rect") && l.contains("fill=\"none\" stroke=\"#282828\"")).unwrap();
    let num = |name: &str| attr(frame, name).unwrap().parse::<i32>().unwrap();
    let (left, top) = (num("x"), num("y"));
    let (right, bottom) = (left + num("width"), top + num("height"));
    let mut checked = 0;
    for line in svg.lines().filter(|l| l.starts_with("<polyline") && (l.contains(FIRST) || l.contains(SECOND))) {
        for p in attr(line, "points").unwrap().split_whitespace() {
            let (x, y) = p.split_once(',').unwrap();
            let (x, y): (i32, i32) = (x.parse().unwrap(), y.parse().unwrap());
            // Legend samples may lie outside the axes; data must not.
            if x <= right + 1 {
                assert!(y >= top - 1 && y <= bottom + 1, "point {x},{y} outside {top}..{bottom}");
                checked += 1;
            }
        }
    }
    assert!(checked > 10);
    let t = texts(&svg);
    assert!(text_with(&t, "0.250").is_some() && text_with(&t, "0.400").is_some(), "{t:?}");
    c.png().unwrap();
}

fn err_of(c: &LineChart) -> PlotError {
    let e = c.svg().unwrap_err();
    assert_eq!(c.png().unwrap_err(), e, "svg and png disagree");
    e
}

#[test]
fn empty_charts_are_rejected() {
    let mut c = LineChart::new("t", "x", "y");
    assert_eq!(err_of(&c), PlotError::NoData);
    c.series.push(Series::solid("a", vec![]));
    c.series.push(Series::dashed("b", vec![]));
    assert_eq!(err_of(&c), PlotError::NoData);
}

#[test]
fn non_finite_values_name_their_series() {
    for bad in [(f64::NAN, 0.5), (1.0, f64::INFINITY), (f64::NEG_INFINITY, 0.1)] {
        let mut c = chart();
        c.series.push(Series::solid("broken", vec![(1.0, 0.5), bad]));
        assert_eq!(err_of(&c), PlotError::NonFinite { series: "broken".into() });
    }
    let mut c = chart();
    c.series[1].y_err = Some(vec![0.1, f64::NAN, 0.1, 0.1, 0.1]);
    assert_eq!(err_of(&c), PlotError::NonFinite { series: "ITQ".into() });
}

#[test]
fn error_bars_must_match_the_points() {
    let mut c = chart();
    c.series[0].y_err = Some(vec![0.01; 4]);
    assert_eq!(err_of(&c), PlotError::ErrLength { series: "gcn".into(), points: 5, errs: 4 });
    c.series[0].y_err = Some(vec![0.01, 0.01, -0.02, 0.01, 0.01]);
    assert_eq!(err_of(&c), PlotError::NegativeErr { series: "gcn".into(), value: -0.02 });
}

#[test]
fn log_axis_rejects_non_positive_x() {
    let mut c = chart();
    c.x_scale = Scale::Log10;
    c.x_ticks = None;
    c.series.push(Series::dashed("LSH", vec![(0.0, 0.2), (10.0, 0.3)]));
    let e = err_of(&c);
    assert_eq!(e, PlotError::NonPositiveLogX { series: "LSH".into(), x: 0.0 });
    assert!(e.to_string().contains("LSH") && e.to_string().contains("logarithmic"), "{e}");

    let mut c = chart();
    c.x_scale = Scale::Log10;
    c.x_ticks = Some(vec![0.0, 16.0]);
    assert!(matches!(err_of(&c), PlotError::InvalidXTicks(_)));
    // The same ticks are fine on a linear axis.
    c.x_scale = Scale::Linear;
    c.svg().unwrap();
}

#[test]
fn invalid_ranges_and_ticks_are_rejected() {
    let mut c = chart();
    c.y_range = Some((0.5, 0.5));
    assert!(matches!(err_of(&c), PlotError::InvalidYRange(_)));
    c.y_range = Some((0.0, f64::NAN));
    assert!(matches!(err_of(&c), PlotError::InvalidYRange(_)));
    c.y_range = None;
    c.x_ticks = Some(vec![16.0, f64::INFINITY]);
    assert!(matches!(err_of(&c), PlotError::InvalidXTicks(_)));
}

#[test]
fn long_curves_get_fewer_markers() {
    let mut c = LineChart::new("PR", "recall", "precision");
    c.series
        .push(Series::solid("gcn", (0..=200).map(|i| (f64::from(i) / 200.0, 1.0 - f64::from(i) / 400.0)).collect()));
    let svg = c.svg().unwrap();
    let circles = svg.lines().filter(|l| l.starts_with("<circle") && l.contains(&format!("fill=\"{FIRST}\""))).count();
    // Every 9th of the 201 points (23 markers) plus the legend sample.
    assert_eq!(circles, 23 + 1);
    // The line itself still passes through every point.
    let line = svg.lines().find(|l| l.starts_with("<polyline") && l.contains(FIRST)).unwrap();
    assert!(attr(line, "points").unwrap().split_whitespace().count() > 150);
}

#[test]
fn empty_title_and_axis_labels_are_left_out() {
    let mut c = chart();
    c.title.clear();
    c.x_label.clear();
    c.y_label.clear();
    let t = texts(&c.svg().unwrap());
    assert!(t.iter().all(|(_, content)| !content.is_empty()));
    assert!(text_with(&t, "gcn").is_some());
    c.png().unwrap();
}
