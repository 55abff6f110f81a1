//! Messages that read well in each client: a message is written once as a [`Doc`] (a title, headings, list lines
//! and a link) and rendered in the markdown each platform's client shows — 企业微信 has headings, bold, links,
//! quotes and coloured text but no lists; 钉钉 wants a blank line between paragraphs; 飞书's card markdown has no
//! headings — within the platform's size limit: cut after a whole line with a link to the full page when there is
//! one, else split into numbered parts, never inside a line.

use entity::enums::ChannelKind;

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A list line.
    Line(String),
    /// A list line that links to a page: its text and address.
    Item(String, String),
    /// A link at the end: its label and address.
    Link(String, String),
}

/// A message before it is rendered for a platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    /// The title (the notification's preview on a phone).
    pub title: String,
    /// The body.
    pub blocks: Vec<Block>,
    /// The page with the whole of it, linked when the message has to be shortened.
    pub full: Option<String>,
}

impl Doc {
    /// A new message with a title.
    pub fn new(title: impl Into<String>) -> Doc {
        Doc {
            title: title.into(),
            ..Doc::default()
        }
    }

    /// Adds a heading.
    pub fn heading(&mut self, h: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Heading(h.into()));
        self
    }

    /// Adds a list line.
    pub fn line(&mut self, l: impl Into<String>) -> &mut Doc {
        self.blocks.push(Block::Line(l.into()));
        self
    }

    /// Adds a list line linking to `url` when there is one.
    pub fn item(&mut self, l: impl Into<String>, url: Option<String>) -> &mut Doc {
        self.blocks.push(match url {
            Some(u) => Block::Item(l.into(), u),
            None => Block::Line(l.into()),
        });
        self
    }

    /// Adds the link to the page of the whole message, shown at its end.
    pub fn link(&mut self, label: impl Into<String>, url: Option<String>) -> &mut Doc {
        if let Some(u) = url {
            self.blocks.push(Block::Link(label.into(), u.clone()));
            self.full = Some(u);
        }
        self
    }
}

/// A rendered message: the title and the markdown body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The title.
    pub title: String,
    /// The markdown.
    pub markdown: String,
}

/// The most bytes of markdown a message of `kind` carries. 企业微信: 4096 for a group robot, 2048 for an
/// application message (their documented limits); 钉钉: 20000 for a robot, 2048 for a work notice; 飞书: the whole
/// request may be 20 KB, of which the card's frame and signature take under 2 KB.
pub fn limit(kind: ChannelKind) -> usize {
    match kind {
        ChannelKind::WecomRobot => 4096,
        ChannelKind::WecomApp | ChannelKind::DingtalkApp => 2048,
        ChannelKind::DingtalkRobot => 20_000,
        ChannelKind::FeishuRobot => 18_000,
    }
}

/// Escapes what the platforms' markdown would read as markup in a name (a project called `*A*` stays itself).
fn plain(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('[', "【")
        .replace(']', "】")
        .replace('<', "＜")
        .replace('>', "＞")
}

/// One block in a platform's markdown, with what goes before it.
fn block(kind: ChannelKind, b: &Block) -> String {
    let dingtalk = matches!(kind, ChannelKind::DingtalkRobot | ChannelKind::DingtalkApp);
    match b {
        Block::Heading(h) if dingtalk => format!("\n\n#### {}\n", plain(h)),
        Block::Heading(h) => format!("\n\n**{}**", plain(h)),
        // 钉钉 runs lines of a list together unless they are list items; 企业微信 shows no list marks.
        Block::Line(l) if dingtalk => format!("\n- {}", plain(l)),
        Block::Line(l) if kind == ChannelKind::FeishuRobot => format!("\n• {}", plain(l)),
        Block::Line(l) => format!("\n> {}", plain(l)),
        Block::Item(l, url) => {
            let mut s = block(kind, &Block::Line(String::new()));
            s.push_str(&format!("[{}]({url})", plain(l)));
            s
        }
        Block::Link(label, url) => format!("\n\n[{}]({url})", plain(label)),
    }
}

/// The top of a message: a heading with the title where the platform shows none of its own (飞书's card has a
/// header; 钉钉's title is only the notification's).
fn head(kind: ChannelKind, title: &str) -> String {
    match kind {
        ChannelKind::FeishuRobot => String::new(),
        ChannelKind::DingtalkRobot | ChannelKind::DingtalkApp => format!("### {}", plain(title)),
        ChannelKind::WecomRobot | ChannelKind::WecomApp => format!("# {}", plain(title)),
    }
}

/// The message rendered for `kind`: one part when it fits; else shortened with a link to the whole of it, or
/// split into parts `(1/n)` when there is no such page. A single line too long for any message is shortened at a
/// character boundary (the lines written here are short; a name of 2,000 bytes is not a bureau's).
pub fn render(kind: ChannelKind, doc: &Doc) -> Vec<Part> {
    let max = limit(kind);
    let blocks: Vec<String> = doc
        .blocks
        .iter()
        .map(|b| {
            let s = block(kind, b);
            if s.len() > max / 2 { shorten(&s, max / 2) } else { s }
        })
        .collect();
    let whole: String = blocks.concat();
    let top = head(kind, &doc.title);
    if top.len() + whole.len() <= max {
        return vec![Part {
            title: doc.title.clone(),
            markdown: format!("{top}{whole}").trim_start().to_owned(),
        }];
    }
    if let Some(url) = &doc.full {
        let tail = block(
            kind,
            &Block::Link("篇幅所限,完整内容请在网页中查看".into(), url.clone()),
        );
        let mut body = top;
        for b in &blocks {
            if body.len() + b.len() + tail.len() > max {
                break;
            }
            body.push_str(b);
        }
        body.push_str(&tail);
        return vec![Part {
            title: doc.title.clone(),
            markdown: body.trim_start().to_owned(),
        }];
    }
    split(kind, doc, &blocks, max)
}

/// Parts `(i/n)` of at most `max` bytes each, every one starting with its numbered title.
fn split(kind: ChannelKind, doc: &Doc, blocks: &[String], max: usize) -> Vec<Part> {
    // The numbered title is at most this much longer than the plain one.
    let room = max - head(kind, &format!("{}(99/99)", doc.title)).len();
    let mut bodies: Vec<String> = vec![String::new()];
    for b in blocks {
        let last = bodies.last_mut().expect("one");
        if !last.is_empty() && last.len() + b.len() > room {
            bodies.push(String::new());
        }
        bodies.last_mut().expect("one").push_str(b);
    }
    let n = bodies.len();
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let title = format!("{}({}/{n})", doc.title, i + 1);
            Part {
                markdown: format!("{}{body}", head(kind, &title)).trim_start().to_owned(),
                title,
            }
        })
        .collect()
}

/// `s` cut to at most `max` bytes at a character boundary, with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    let mut end = max.saturating_sub("…".len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(lines: usize) -> Doc {
        let mut d = Doc::new("【招商周报】2024年第21周");
        d.heading("主要指标");
        for i in 0..lines {
            d.line(format!("第{i}行:签约项目 3 个,较上周 +1"));
        }
        d
    }

    #[test]
    fn a_short_message_is_one_part_in_each_platform_s_markdown() {
        let d = doc(2);
        let wecom = render(ChannelKind::WecomRobot, &d);
        assert_eq!(wecom.len(), 1);
        assert!(wecom[0].markdown.starts_with("# 【招商周报】"));
        assert!(wecom[0].markdown.contains("\n> 第1行"));
        let ding = render(ChannelKind::DingtalkRobot, &d);
        assert!(
            ding[0].markdown.contains("#### 主要指标\n\n- 第0行"),
            "{}",
            ding[0].markdown
        );
        let feishu = render(ChannelKind::FeishuRobot, &d);
        assert!(
            feishu[0].markdown.starts_with("**主要指标**\n• 第0行"),
            "{}",
            feishu[0].markdown
        );
    }

    #[test]
    fn a_long_message_is_split_at_lines_or_shortened_with_a_link() {
        let mut d = doc(200);
        let parts = render(ChannelKind::WecomApp, &d);
        assert!(parts.len() > 1);
        let n = parts.len();
        for (i, p) in parts.iter().enumerate() {
            assert!(p.markdown.len() <= 2048, "{}", p.markdown.len());
            assert!(p.title.ends_with(&format!("({}/{n})", i + 1)));
            assert!(p.markdown.lines().all(|l| l.is_empty()
                || l.starts_with('#')
                || l.starts_with("**")
                || (l.starts_with("> 第") && l.ends_with("+1"))));
        }
        let joined: String = parts.iter().map(|p| p.markdown.clone()).collect();
        for i in 0..200 {
            assert!(joined.contains(&format!("> 第{i}行:")), "line {i} kept");
        }
        d.full = Some("https://crm.example.gov.cn/analytics?period=2024-W21".into());
        let short = render(ChannelKind::WecomApp, &d);
        assert_eq!(short.len(), 1);
        assert!(short[0].markdown.len() <= 2048);
        assert!(
            short[0]
                .markdown
                .ends_with("(https://crm.example.gov.cn/analytics?period=2024-W21)")
        );
    }

    #[test]
    fn markup_in_a_name_is_shown_as_written() {
        let mut d = Doc::new("t");
        d.line("*星*[链接](x)");
        let m = &render(ChannelKind::WecomRobot, &d)[0].markdown;
        assert!(m.contains("\\*星\\*【链接】(x)"), "{m}");
    }
}
