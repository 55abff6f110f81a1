//! The weekly e-mail's attachments: the funnel drawn as a PNG chart, and the XLSX workbook.

use entity::{
    enums::{Label, ProjectStage},
    pipeline::Stage,
};

use super::{BlockerLine, ProjectLine, Shared};
use crate::{analytics::Funnel, xlsx};

/// The funnel as a bar chart (PNG), Chinese stage labels drawn with the bundled CJK font subset.
pub fn chart(f: &Funnel) -> anyhow::Result<Vec<u8>> {
    use plotters::prelude::*;
    const FONT: &[u8] = include_bytes!("../../../assets/fonts/wqy-microhei-subset.ttf");
    plotters::style::register_font("cjk", FontStyle::Normal, FONT).map_err(|_| anyhow::anyhow!("bad font"))?;
    let (w, h) = (640u32, 300u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = f.stages.iter().map(|s| s.count).max().unwrap_or(0).max(1);
        let labels: Vec<&str> = ProjectStage::ORDER.iter().map(|s| s.label()).collect();
        let mut c = ChartBuilder::on(&root)
            .margin(12)
            .caption("年初至今项目漏斗", ("cjk", 20))
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d((0..labels.len() - 1).into_segmented(), 0..(max + max / 5 + 1))?;
        c.configure_mesh()
            .disable_x_mesh()
            .x_labels(labels.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).copied().unwrap_or("").to_owned(),
                _ => String::new(),
            })
            .label_style(("cjk", 14))
            .draw()?;
        c.draw_series(f.stages.iter().enumerate().map(|(i, s)| {
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0), (SegmentValue::Exact(i + 1), s.count)],
                RGBColor(31, 119, 180).filled(),
            );
            bar.set_margin(0, 0, 8, 8);
            bar
        }))?;
        c.draw_series(f.stages.iter().enumerate().map(|(i, s)| {
            // Above the bar: the count's baseline a little over its top.
            Text::new(
                s.count.to_string(),
                (SegmentValue::CenterOf(i), s.count + max / 12 + 1),
                ("cjk", 14).into_font(),
            )
        }))?;
        root.present()?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| anyhow::anyhow!("chart buffer"))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

/// The XLSX attachment: the funnel, the KPIs, the leader's projects and the open blockers.
pub(super) fn workbook(s: &Shared, mine: &[ProjectLine]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let headers = [("阶段", 12.0), ("数量", 10.0), ("转化率", 10.0), ("中位天数", 10.0)];
    let ws = xlsx::sheet(&mut book, "项目漏斗", &headers)?;
    for (i, st) in s.funnel.stages.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, ProjectStage::ORDER[i].label())?;
        ws.write_number(r, 1, st.count as f64)?;
        if let Some(c) = st.conversion {
            ws.write_number(r, 2, c)?;
        }
        if let Some(d) = st.median_days {
            ws.write_number(r, 3, d)?;
        }
    }
    let headers = [
        ("指标", 18.0),
        ("本周", 14.0),
        ("本周同比", 10.0),
        ("年初至今", 14.0),
        ("年初至今同比", 12.0),
    ];
    let ws = xlsx::sheet(&mut book, "主要指标", &headers)?;
    for (i, (w, y)) in s.week_rows.iter().zip(&s.ytd_rows).enumerate() {
        let r = i as u32 + 1;
        for (c, text) in [&w.label, &w.value, &w.yoy, &y.value, &y.yoy].into_iter().enumerate() {
            ws.write_string(r, c as u16, text)?;
        }
    }
    my_projects_sheet(&mut book, mine)?;
    open_blockers_sheet(&mut book, &s.open)?;
    Ok(book.save_to_buffer()?)
}

fn my_projects_sheet(book: &mut rust_xlsxwriter::Workbook, mine: &[ProjectLine]) -> anyhow::Result<()> {
    let headers = [
        ("项目", 30.0),
        ("阶段", 10.0),
        ("距上次跟进(天)", 16.0),
        ("未解决难题", 12.0),
    ];
    let ws = xlsx::sheet(book, "我的项目", &headers)?;
    for (i, p) in mine.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &p.name)?;
        ws.write_string(r, 1, &p.stage)?;
        if let Some(d) = p.days_since_follow_up {
            ws.write_number(r, 2, d as f64)?;
        }
        ws.write_number(r, 3, p.open_blockers as f64)?;
    }
    Ok(())
}

fn open_blockers_sheet(book: &mut rust_xlsxwriter::Workbook, open: &[BlockerLine]) -> anyhow::Result<()> {
    let headers = [
        ("项目", 30.0),
        ("问题", 24.0),
        ("包联领导", 10.0),
        ("截止日期", 12.0),
        ("逾期天数", 10.0),
    ];
    let ws = xlsx::sheet(book, "未解决难题", &headers)?;
    for (i, b) in open.iter().enumerate() {
        let r = i as u32 + 1;
        for (c, text) in [&b.project, &b.title, &b.leader, &b.due].into_iter().enumerate() {
            ws.write_string(r, c as u16, text)?;
        }
        if b.overdue {
            ws.write_number(r, 4, b.days_overdue as f64)?;
        }
    }
    Ok(())
}
