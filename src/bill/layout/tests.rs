use super::*;
use crate::bill::tests::facts;

fn lines(blocks: &[Block]) -> Vec<&Line> {
    blocks.iter().filter_map(|b| if let Block::Line(l) = b { Some(l) } else { None }).collect()
}

fn text(blocks: &[Block]) -> String {
    lines(blocks).iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_line_fits_its_paper_at_its_size() {
    for paper in [Paper::Mm58, Paper::Mm80] {
        for language in [Language::Zh, Language::ZhEn] {
            for line in lines(&lay_out(&facts(), paper.cells(), language)) {
                let room = paper.cells() / line.size.factor();
                assert!(width_in_cells(&line.text) <= room, "{paper:?} {language:?}: {:?}", line.text);
                assert!(!line.text.is_empty());
            }
        }
    }
}

#[test]
fn the_bill_says_everything_the_contract_lists_in_chinese() {
    let f = facts();
    let bill = lay_out(&f, Paper::Mm58.cells(), Language::Zh);
    // Lines joined without their breaks: a wrapped value reads whole.
    let joined: String = lines(&bill).iter().map(|l| l.text.replace(' ', "")).collect();
    for needle in [
        "北京市公安局公安交通管理局",
        "朝阳区",
        "决定书编号：1101052612060000137",
        "违法行为：1625驾驶机动车违反道路交通信号灯通行的（记6分）",
        "号牌：京A12345小型汽车",
        "地点：朝阳区建国路与东三环中路交叉口（国贸桥）北侧辅路",
        "时间：2026-12-0609:15",
        "罚款金额",
        "￥200.00",
        "扫码缴款截止2026-12-0613:15",
        "查询码",
        "482913",
        "https://jtgl.beijing.gov.cn/lookup",
        "请于2026-12-21前缴纳罚款",
        "每日按罚款数额的3%加处罚款",
        "RF741101092611220000137",
    ] {
        assert!(joined.contains(needle), "{needle} is missing from:\n{}", text(&bill));
    }
    assert!(!joined.contains("Violation"), "no English unless asked:\n{}", text(&bill));
    let qr: Vec<_> = bill.iter().filter_map(|b| if let Block::Qr(p) = b { Some(p) } else { None }).collect();
    assert_eq!(qr, [&f.qr.as_ref().map(|q| q.pay_url.clone()).unwrap_or_default()]);
    let amount = lines(&bill).into_iter().find(|l| l.text.contains("￥")).expect("the amount");
    assert_eq!((amount.size, amount.bold), (Size::Double, true));
}

#[test]
fn english_goes_beside_the_labels_and_below_the_chinese_values() {
    let bill = lay_out(&facts(), Paper::Mm80.cells(), Language::ZhEn);
    let all = text(&bill).replace('\n', " ");
    let position = |needle: &str| all.find(needle).unwrap_or_else(|| panic!("{needle} is missing from:\n{all}"));
    assert!(all.contains("违法行为 Violation"));
    assert!(position("（记6分）") < position("Running a red light (6 points)"));
    assert!(position("京A12345 小型汽车") < position("small vehicle"));
    assert!(position("Beijing Traffic Management Bureau") < position("决定书编号"));
    assert!(all.contains("3% of the fine is added each day"));
}

#[test]
fn a_fine_without_qr_payment_gets_the_bank_bill() {
    let f = Facts { qr: None, ..facts() };
    let bill = lay_out(&f, Paper::Mm58.cells(), Language::Zh);
    assert!(!bill.iter().any(|b| matches!(b, Block::Qr(_))));
    let joined: String = lines(&bill).iter().map(|l| l.text.as_str()).collect();
    assert!(joined.contains("代理银行"), "{joined}");
    assert!(joined.contains("RF74 1101"), "{joined}");
}

#[test]
fn a_pedestrian_is_named_as_such_and_has_no_plate() {
    let f = Facts { plate: None, plate_type: None, subject: SubjectKind::Pedestrian, points: 0, ..facts() };
    let all = text(&lay_out(&f, Paper::Mm58.cells(), Language::ZhEn));
    assert!(all.contains("当事人 Offender\n行人\npedestrian"), "{all}");
    assert!(all.contains("pedestrian"), "{all}");
    assert!(all.contains("不记分") && all.contains("no points"), "{all}");
    assert!(!all.contains("号牌"), "{all}");
}

#[test]
fn wrapping_breaks_between_characters_and_loses_none() {
    let text = "朝阳区建国路与东三环中路交叉口（国贸桥）北侧辅路，往东100米处。";
    for cells in 2..40 {
        let wrapped = wrap(text, cells);
        assert!(wrapped.iter().all(|l| width_in_cells(l) <= cells), "{cells}: {wrapped:?}");
        assert_eq!(wrapped.concat().replace(' ', ""), text.replace(' ', ""), "{cells}");
    }
}

#[test]
fn a_run_of_letters_and_digits_moves_whole_when_it_fits_a_line() {
    let wrapped = wrap("打开 https://jtgl.beijing.gov.cn/lookup 输入", 48);
    assert!(wrapped.iter().any(|l| l.contains("https://jtgl.beijing.gov.cn/lookup")), "{wrapped:?}");
    let wrapped = wrap("Running a red light at the junction", 16);
    assert_eq!(wrapped, ["Running a red", "light at the", "junction"]);
    // Longer than a line: split by character, still nothing lost.
    let long = "X".repeat(70);
    let wrapped = wrap(&long, 32);
    assert_eq!(wrapped.iter().map(String::len).collect::<Vec<_>>(), [32, 32, 6]);
}

#[test]
fn closing_punctuation_never_starts_a_line() {
    for cells in 4..30 {
        for line in
            wrap("请于前缴纳罚款。逾期不缴纳的，每日按罚款数额的3%加处罚款，加处罚款总额不超出罚款数额。", cells)
        {
            let first = line.chars().next().unwrap_or(' ');
            assert!(!CLOSING.contains(first), "{cells}: {line:?}");
        }
    }
}

#[test]
fn numbers_are_printed_the_way_people_read_them() {
    assert_eq!(plate_type_names("52").0, "小型新能源汽车");
    assert_eq!(plate_type_names("99"), ("99", ""));
}
