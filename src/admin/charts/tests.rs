use super::*;

fn chart(title: &str, series: &[(&str, &'static str)], bars: &[(&str, &[u64])]) -> Chart {
    Chart {
        title: title.into(),
        no_data: NO_DATA.into(),
        series: series.iter().map(|(name, color)| Series { name: (*name).into(), color }).collect(),
        bars: bars.iter().map(|(label, values)| Bar { label: (*label).into(), values: values.to_vec() }).collect(),
    }
}

const NO_DATA: &str = "No fines in this period <&>";

const THREE: [(&str, &str); 3] = [("WeChat", "#07c160"), ("Bank", "#8c6d1f"), ("Outstanding", "#c5ccd6")];

fn assert_rect(got: Option<Rect>, want: (f64, f64, f64, f64)) {
    let r = got.expect("a drawn segment");
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(
        close(r.x, want.0) && close(r.y, want.1) && close(r.width, want.2) && close(r.height, want.3),
        "{r:?} is not {want:?}"
    );
}

#[test]
fn the_axis_takes_at_most_five_round_steps() {
    for (max, want) in [
        (0, (1, 1)),
        (1, (1, 1)),
        (3, (1, 3)),
        (5, (1, 5)),
        (6, (2, 3)),
        (7, (2, 4)),
        (10, (2, 5)),
        (11, (5, 3)),
        (26, (10, 3)),
        (1234, (500, 3)),
    ] {
        assert_eq!(axis(max), want, "max {max}");
    }
    let (step, steps) = axis(u64::MAX);
    assert!(step as f64 * steps as f64 >= u64::MAX as f64, "even the largest count fits");
}

#[test]
fn vertical_bars_stack_from_the_axis_in_proportion() {
    // Plot: x 56..704 (648 wide), y 36..272 (236 high); the tallest bar is 4, so 59 units each.
    let c = chart("Fines by day", &THREE, &[("11-20", &[2, 1, 0]), ("11-21", &[0, 0, 4])]);
    let (bars, axis) = vertical_layout(&c);
    assert_eq!(axis, (1, 4));
    // Each bar is 70% of its 324-wide slot, centred in it.
    assert_rect(bars[0][0], (104.6, 154.0, 226.8, 118.0));
    assert_rect(bars[0][1], (104.6, 95.0, 226.8, 59.0));
    assert_eq!(bars[0][2], None, "a zero draws nothing");
    assert_eq!((bars[1][0], bars[1][1]), (None, None));
    assert_rect(bars[1][2], (428.6, 36.0, 226.8, 236.0));

    let svg = vertical(&c);
    assert!(svg.contains(r##"<rect x="104.6" y="154.0" width="226.8" height="118.0" fill="#07c160"/>"##), "{svg}");
    assert!(svg.contains(r##"<rect x="428.6" y="36.0" width="226.8" height="236.0" fill="#c5ccd6"/>"##), "{svg}");
    assert!(svg.contains("<title>11-20: WeChat 2, Bank 1, Outstanding 0 (total 3)</title>"), "{svg}");
    // Axis labels 0..4 on the left, day labels under the bars' centres, and the legend.
    for tick in 0..=4 {
        assert!(svg.contains(&format!(r#"text-anchor="end">{tick}</text>"#)), "tick {tick}: {svg}");
    }
    assert!(svg.contains(r#"<text x="218.0" y="288.0" text-anchor="middle">11-20</text>"#), "{svg}");
    assert!(svg.contains(r#"<text x="542.0" y="288.0" text-anchor="middle">11-21</text>"#), "{svg}");
    assert!(
        svg.contains(
            r##"<rect x="130.0" y="12" width="12" height="12" fill="#8c6d1f"/><text x="146.0" y="22">Bank</text>"##
        ),
        "{svg}"
    );
}

#[test]
fn horizontal_bars_grow_from_the_labels_in_proportion() {
    // Plot: x 170..672 (502 wide); the longest bar is 2, so 251 units each; rows 26 high.
    let c = chart("Fines by district", &THREE[..2], &[("110105 朝阳区 Chaoyang", &[1, 1]), ("110108", &[0, 2])]);
    let (bars, axis) = horizontal_layout(&c);
    assert_eq!(axis, (1, 2));
    assert_rect(bars[0][0], (170.0, 39.9, 251.0, 18.2));
    assert_rect(bars[0][1], (421.0, 39.9, 251.0, 18.2));
    assert_eq!(bars[1][0], None);
    assert_rect(bars[1][1], (170.0, 65.9, 502.0, 18.2));

    let svg = horizontal(&c);
    assert!(svg.contains(r#"viewBox="0 0 720 120""#), "two rows: {svg}");
    assert!(svg.contains(r#"text-anchor="end">110105 朝阳区 Chaoyang</text>"#), "{svg}");
    assert!(svg.contains(r#"<text x="676.0" y="53.0">2</text>"#), "the total at the bar's end: {svg}");
}

#[test]
fn a_chart_without_fines_says_so_instead_of_drawing_nan() {
    for c in [
        chart("Fines by day", &THREE, &[]),
        chart("Fines by day", &THREE, &[("11-20", &[0, 0, 0]), ("11-21", &[0, 0, 0])]),
    ] {
        for svg in [vertical(&c), horizontal(&c)] {
            assert!(svg.contains("No fines in this period &lt;&amp;&gt;"), "said, escaped: {svg}");
            assert!(!svg.contains("<rect"), "no bars: {svg}");
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            assert!(svg.contains(r#"role="img""#) && svg.contains("<title>Fines by day</title>"), "{svg}");
        }
    }
}

#[test]
fn every_text_is_escaped() {
    let c = chart(
        r#"Fines "by" <day> & 'more'"#,
        &[("<script>alert(1)</script>", "#07c160")],
        &[("a&b<i>", &[1]), ("x", &[2])],
    );
    for svg in [vertical(&c), horizontal(&c)] {
        assert!(!svg.contains("<script>") && !svg.contains("<i>") && !svg.contains("<day>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{svg}");
        assert!(svg.contains(r#"aria-label="Fines &quot;by&quot; &lt;day&gt; &amp; &#39;more&#39;""#), "{svg}");
        assert!(svg.contains("a&amp;b&lt;i&gt;"), "{svg}");
    }
}

#[test]
fn output_depends_only_on_the_data() {
    let c = chart("Fines by day", &THREE, &[("11-20", &[3, 1, 2]), ("11-21", &[1, 0, 0])]);
    assert_eq!(vertical(&c), vertical(&c.clone()));
    assert_eq!(horizontal(&c), horizontal(&c.clone()));
    assert!(vertical(&c).starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
    assert!(vertical(&c).ends_with("</svg>"));
}

#[test]
fn a_year_of_days_is_labelled_sparsely_so_labels_never_overlap() {
    let days: Vec<(String, Vec<u64>)> = (0..366).map(|d| (format!("d{d}"), vec![1, 0, 0])).collect();
    let c = Chart {
        title: "Fines by day".into(),
        no_data: NO_DATA.into(),
        series: THREE.iter().map(|(name, color)| Series { name: (*name).into(), color }).collect(),
        bars: days.iter().map(|(label, values)| Bar { label: label.clone(), values: values.clone() }).collect(),
    };
    let svg = vertical(&c);
    let labels = svg.matches(r#"text-anchor="middle""#).count();
    // 648 units of plot for labels 44 wide: 14 at most.
    assert_eq!(labels, 14, "{svg}");
    assert_eq!(svg.matches("<g><title>").count(), 366, "every day still has its bar");
    // Every 27th, counted back from the last day, which is always labelled.
    assert!(svg.contains(">d365</text>") && svg.contains(">d338</text>") && svg.contains(">d14</text>"), "{svg}");
    assert!(!svg.contains(">d0</text>") && !svg.contains(">d364</text>"), "{svg}");
}

#[test]
fn a_chinese_legend_leaves_room_for_its_wider_characters() {
    let c = chart("按辖区", &[("有效期内缴款", "#1a7f37"), ("未缴", "#7d8896")], &[("110105", &[1, 1])]);
    let svg = horizontal(&c);
    // Six characters of 11 px after the 16-px swatch and gap: the next entry starts at 56 + 32 + 66.
    assert!(svg.contains(r##"<rect x="154.0" y="12" width="12" height="12" fill="#7d8896"/>"##), "{svg}");
}
