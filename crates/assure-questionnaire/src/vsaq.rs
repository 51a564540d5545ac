//! Google's VSAQ templates (Apache-2.0): JSON (with a `//` licence header) of nested blocks and
//! questions (`radiogroup`, `checkgroup`, `yesno`, `line`, `box`); `cond` expressions over choice
//! ids switch blocks and questions on. Read into a grid: A id, B section, C question, D answer
//! (each radio group's choices as that cell's list), E the choice ids in the same order; each row
//! keeps the condition it is asked under (its blocks' and its own, joined by `&&`).

use serde_json::Value;

use crate::QError;
use crate::grid::{Cell, Grid, Rect, Validation};

/// The column holding choice ids.
pub const CHOICE_IDS: u32 = 4;

/// Reads a VSAQ template.
pub fn read(file: &str, bytes: &[u8]) -> Result<Grid, QError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| QError::new(file, "it is not UTF-8 text", "a VSAQ template is a UTF-8 JSON file"))?;
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let json = join_concatenations(&json);
    let value: Value = serde_json::from_str(&json).map_err(|e| {
        QError::new(
            file,
            &format!("it is not JSON: line {}, column {}: {e}", e.line(), e.column()),
            "a .json questionnaire must be a VSAQ template ({\"questionnaire\": [...]})",
        )
    })?;
    let Some(items) = value.get("questionnaire").and_then(Value::as_array) else {
        return Err(QError::new(
            file,
            "it has no \"questionnaire\" array, so it is not a VSAQ template",
            "send a VSAQ template, or the questionnaire as XLSX or CSV",
        ));
    };
    let mut grid = Grid::new(file.rsplit('/').next().unwrap_or(file));
    for (col, h) in ["ID", "Section", "Question", "Answer", "Choice ids"].iter().enumerate() {
        grid.cells.insert(
            (0, col as u32),
            Cell {
                value: (*h).to_string(),
                formula: false,
            },
        );
    }
    let mut row = 1u32;
    walk(items, "", &[], &mut grid, &mut row);
    Ok(grid)
}

/// VSAQ templates are JavaScript-flavoured JSON: long strings are written `"a" +` newline `"b"`.
/// Joins them (outside strings only).
fn join_concatenations(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut in_str = false;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' if in_str => {
                // A closing quote: is it followed by `+ "`?
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == b'+' {
                    let mut k = j + 1;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < b.len() && b[k] == b'"' {
                        out.push_str(&s[last..i]);
                        last = k + 1;
                        i = k + 1;
                        continue;
                    }
                }
                in_str = false;
            }
            b'"' => in_str = true,
            _ => {}
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    out
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").trim().to_string()
}

fn walk(items: &[Value], section: &str, conds: &[String], grid: &mut Grid, row: &mut u32) {
    for item in items {
        let ty = item.get("type").and_then(Value::as_str).unwrap_or("");
        let text = strip_tags(item.get("text").and_then(Value::as_str).unwrap_or(""));
        let mut here = conds.to_vec();
        if let Some(c) = item.get("cond").and_then(Value::as_str) {
            here.push(format!("({c})"));
        }
        match ty {
            "block" => {
                let name = if text.is_empty() { section.to_string() } else { text };
                if let Some(children) = item.get("items").and_then(Value::as_array) {
                    walk(children, &name, &here, grid, row);
                }
            }
            "radiogroup" | "checkgroup" | "yesno" | "line" | "box" => {
                let mut choice_ids = Vec::new();
                let mut choices = Vec::new();
                for c in item.get("choices").and_then(Value::as_array).into_iter().flatten() {
                    if let Some(obj) = c.as_object() {
                        for (k, v) in obj {
                            choice_ids.push(k.clone());
                            choices.push(strip_tags(v.as_str().unwrap_or(k)));
                        }
                    }
                }
                if ty == "yesno" && choices.is_empty() {
                    choices = vec!["Yes".into(), "No".into()];
                }
                let id = item
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| choice_ids.first().map(|c| format!("group:{c}")))
                    .unwrap_or_else(|| format!("row{row}"));
                let r = *row;
                let mut put = |col: u32, v: String| {
                    if !v.is_empty() {
                        grid.cells.insert(
                            (r, col),
                            Cell {
                                value: v,
                                formula: false,
                            },
                        );
                    }
                };
                put(0, id);
                put(1, section.to_string());
                put(2, text);
                put(CHOICE_IDS, choice_ids.join("\n"));
                if ty == "radiogroup" || ty == "yesno" {
                    grid.validations.push(Validation {
                        ranges: vec![Rect {
                            r1: r,
                            c1: 3,
                            r2: r,
                            c2: 3,
                        }],
                        choices,
                        source: "choices".into(),
                        ext: false,
                    });
                }
                if !here.is_empty() {
                    grid.conditions.insert(r, here.join(" && "));
                }
                *row += 1;
            }
            _ => {}
        }
    }
}

/// Evaluates a VSAQ condition (`a || b && !c`, parentheses) over the chosen choice ids; `None`
/// when it depends on a question with no choice yet.
pub fn evaluate(cond: &str, chosen: &dyn Fn(&str) -> Option<bool>) -> Option<bool> {
    let tokens = tokenize(cond);
    let mut pos = 0;
    let v = or_expr(&tokens, &mut pos, chosen);
    if pos == tokens.len() { v } else { None }
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        if two == "||" || two == "&&" {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(two);
            i += 2;
            continue;
        }
        if c == '(' || c == ')' || c == '!' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

// Three-valued logic: Some(false) && None = Some(false); Some(true) || None = Some(true).
fn or_expr(t: &[String], pos: &mut usize, chosen: &dyn Fn(&str) -> Option<bool>) -> Option<bool> {
    let mut v = and_expr(t, pos, chosen);
    while t.get(*pos).map(String::as_str) == Some("||") {
        *pos += 1;
        let r = and_expr(t, pos, chosen);
        v = match (v, r) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        };
    }
    v
}

fn and_expr(t: &[String], pos: &mut usize, chosen: &dyn Fn(&str) -> Option<bool>) -> Option<bool> {
    let mut v = not_expr(t, pos, chosen);
    while t.get(*pos).map(String::as_str) == Some("&&") {
        *pos += 1;
        let r = not_expr(t, pos, chosen);
        v = match (v, r) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        };
    }
    v
}

fn not_expr(t: &[String], pos: &mut usize, chosen: &dyn Fn(&str) -> Option<bool>) -> Option<bool> {
    match t.get(*pos).map(String::as_str) {
        Some("!") => {
            *pos += 1;
            not_expr(t, pos, chosen).map(|b| !b)
        }
        Some("(") => {
            *pos += 1;
            let v = or_expr(t, pos, chosen);
            if t.get(*pos).map(String::as_str) == Some(")") {
                *pos += 1;
            }
            v
        }
        Some(id) => {
            *pos += 1;
            chosen(id)
        }
        None => None,
    }
}
