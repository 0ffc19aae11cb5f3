//! `review/pack.html`: the page a reviewer opens — one item at a time, input, outputs A and B, four choices by key or
//! click, a note, progress, work kept in the browser's local storage, and an export of the decisions.
//!
//! Why this module exists: the page is the blinding. It holds no provider name, model, cost, latency or score and not
//! the side assignment (only its keyed hash), so nothing on it says which output is the candidate's. Like report.html
//! it is one file with no external requests: a Content-Security-Policy allows only its own script (by nonce), and
//! every dataset or model text is escaped, so an output cannot run code or fetch a URL.

use super::html::escape;
use crate::outcome::Outcome;
use crate::review::{PackFile, Shown};
use crate::suite::Suite;
use serde_json::Value;
use std::fmt::Write;

/// Characters of one text shown; a reviewer needs whole outputs, so only pathological ones are cut.
const MAX_TEXT: usize = 20_000;

fn clipped(text: &str) -> String {
    let n = text.chars().count();
    if n <= MAX_TEXT {
        return escape(text);
    }
    let head: String = text.chars().take(MAX_TEXT).collect();
    format!(
        "{}<span class=\"clip\">… {} more characters not shown</span>",
        escape(&head),
        n - MAX_TEXT
    )
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

fn output(out: &mut String, side: &str, o: &Outcome) {
    let _ = write!(
        out,
        "<div class=\"cell out\" data-side=\"{side}\"><h4>{side}</h4>"
    );
    if !o.output_text.is_empty() || o.tool_calls().is_empty() {
        let _ = write!(out, "<div class=\"txt\">{}</div>", clipped(&o.output_text));
    }
    for call in o.tool_calls().iter() {
        let args = serde_json::to_string(&call.arguments).unwrap_or_default();
        let _ = write!(
            out,
            "<div class=\"txt mono\">{}({})</div>",
            escape(&call.name),
            clipped(&args)
        );
    }
    out.push_str("</div>");
}

fn item(out: &mut String, k: usize, n: usize, s: &Shown<'_>, suite: &Suite, reference: bool) {
    let it = s.item;
    let _ = write!(
        out,
        "<article class=\"item\" data-k=\"{k}\" data-item-id=\"{}\"><header><span class=\"pos\">Item {} of {n}</span><span class=\"id\">{}</span><span class=\"state\"></span></header>",
        escape(&it.id),
        k + 1,
        escape(&it.id)
    );
    out.push_str("<div class=\"io\"><div class=\"cell\"><h4>input</h4><div class=\"txt\">");
    let mut first = true;
    for (key, v) in &it.fields() {
        if Some(key.as_str()) == suite.dataset.id.as_deref() || *key == suite.dataset.expected {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        let _ = write!(
            out,
            "<span class=\"k\">{}:</span> {}",
            escape(key),
            clipped(&value_text(v))
        );
    }
    out.push_str("</div></div>");
    if reference {
        let _ = write!(
            out,
            "<div class=\"cell\"><h4>reference</h4><div class=\"txt\">{}</div></div>",
            clipped(&value_text(&it.expected))
        );
    }
    out.push_str("</div><div class=\"outs\">");
    output(out, "A", s.a);
    output(out, "B", s.b);
    out.push_str("</div><div class=\"choices\">");
    for (choice, label, keys) in [
        ("a_better", "A better", "1 / A"),
        ("b_better", "B better", "2 / B"),
        ("both_fine", "Both fine", "3 / F"),
        ("both_bad", "Both bad", "4 / X"),
    ] {
        let _ = write!(
            out,
            "<button type=\"button\" data-choice=\"{choice}\" aria-pressed=\"false\">{label} <kbd>{keys}</kbd></button>"
        );
    }
    out.push_str("<label class=\"note\">note (optional) <textarea rows=\"2\" data-note></textarea></label></div></article>\n");
}

/// The whole page.
/// The page of a drawn pack (`review/pack.html`).
pub fn render(pack: &PackFile, suite: &Suite, shown: &[Shown<'_>]) -> String {
    let n = shown.len();
    let mut body = String::with_capacity(64 * 1024);
    let _ = write!(
        body,
        "<header><h1>Blind review — {}</h1><p class=\"meta\">{n} items · pack <code>{}</code>. For each input, compare the two outputs A and B and pick one of the four choices. Which system wrote which output is not on this page, and it changes from item to item: judge the text only.</p>",
        escape(&pack.suite),
        escape(&pack.pack_id)
    );
    let _ = write!(
        body,
        "<div id=\"bar\" hidden><label>Your name <input id=\"reviewer\" autocomplete=\"name\" maxlength=\"100\" placeholder=\"e.g. alice\"></label>\
         <progress id=\"progress\" max=\"{n}\" value=\"0\"></progress><span id=\"count\">0 of {n} decided</span>\
         <button type=\"button\" id=\"prev\">← Previous</button><button type=\"button\" id=\"next\">Next →</button>\
         <button type=\"button\" id=\"next-open\">Next undecided</button><button type=\"button\" id=\"export\">Export decisions</button></div>\
         <p id=\"status\" role=\"status\"></p>\
         <p class=\"note keys\">Keys: <kbd>1</kbd>/<kbd>A</kbd> A better · <kbd>2</kbd>/<kbd>B</kbd> B better · <kbd>3</kbd>/<kbd>F</kbd> both fine · <kbd>4</kbd>/<kbd>X</kbd> both bad · <kbd>←</kbd> <kbd>→</kbd> previous / next · <kbd>N</kbd> next undecided. Your work is kept in this browser until you export it.</p>\
         <noscript><p class=\"warn\">JavaScript is off: the items are listed below, but choices cannot be recorded or exported. Open this file in a browser with JavaScript enabled.</p></noscript>\
         <nav id=\"strip\" hidden>"
    );
    for k in 0..n {
        let _ = write!(
            body,
            "<button type=\"button\" data-go=\"{k}\">{}</button>",
            k + 1
        );
    }
    body.push_str("</nav>\n<div id=\"items\">\n");
    for (k, s) in shown.iter().enumerate() {
        item(&mut body, k, n, s, suite, pack.show_reference);
    }
    body.push_str("</div>\n<details id=\"export-box\" hidden><summary>The exported file as text (copy it if your browser blocked the download)</summary><textarea id=\"export-text\" readonly rows=\"12\"></textarea></details>\n");
    let nonce = blake3::hash(body.as_bytes()).to_hex()[..32].to_string();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>Blind review — {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main id=\"pack\" data-pack-id=\"{}\" data-side-hash=\"{}\" data-n=\"{n}\">\n{body}</main>\n<script nonce=\"{nonce}\">{JS}</script>\n</body>\n</html>\n",
        escape(&pack.suite),
        escape(&pack.pack_id),
        escape(&pack.side_assignment_hash),
    )
}

const CSS: &str = r#"
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--soft:#f6f7f9;--on:#1a5fb4}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:#fff}
main{max-width:1240px;margin:0 auto;padding:20px 28px 64px}
h1{font-size:24px;margin:0 0 4px}.meta,.note{color:var(--muted)}.note{font-size:13.5px}
.warn{border:2px solid #b3261e;background:#fce8e6;padding:8px 12px;border-radius:6px}
#bar{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:8px 10px;background:var(--soft);border-radius:8px;margin:10px 0}
#bar input{font:inherit;padding:3px 6px}#bar button,.choices button,#strip button{font:inherit;font-size:14px;padding:4px 10px;border:1px solid var(--line);background:#fff;border-radius:14px;cursor:pointer}
#bar #export{background:var(--on);color:#fff;border-color:var(--on)}
#strip{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0 12px}#strip button{padding:1px 7px;font-size:12px;border-radius:4px}
#strip button.done{background:#e6f4ea;border-color:#137333}#strip button.cur{outline:2px solid var(--on)}
#status{min-height:1.2em;margin:4px 0;font-weight:600}
.item{border:1px solid var(--line);border-radius:8px;margin:0 0 12px}
.item>header{display:flex;gap:10px;align-items:center;padding:6px 10px;background:var(--soft);border-bottom:1px solid var(--line);border-radius:8px 8px 0 0}
.item .id{font-family:ui-monospace,"DejaVu Sans Mono",monospace;color:var(--muted)}.item .state{margin-left:auto;font-weight:700;color:#137333}
.io{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));border-bottom:1px solid var(--line)}
.outs{display:grid;grid-template-columns:1fr 1fr;border-bottom:1px solid var(--line)}
.cell{padding:8px 10px;min-width:0;border-right:1px solid var(--line)}.cell:last-child{border-right:0}
.cell h4{margin:0 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.out h4{font-size:16px;color:var(--fg)}
.txt{white-space:pre-wrap;overflow-wrap:anywhere;font-size:14px;margin:0}.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
.k{color:var(--muted)}.clip{color:var(--muted);font-style:italic}
.choices{display:flex;flex-wrap:wrap;gap:8px;align-items:center;padding:8px 10px}
.choices button[aria-pressed=true]{background:var(--on);border-color:var(--on);color:#fff}
.choices .note{flex:1 1 260px;display:flex;gap:6px;align-items:center}.choices textarea{flex:1;font:inherit;font-size:14px}
kbd{font-size:11px;border:1px solid var(--line);border-radius:3px;padding:0 3px;background:#fff;color:var(--muted)}
#export-text{width:100%;font-family:ui-monospace,monospace;font-size:12px}
@media (max-width:760px){.outs{grid-template-columns:1fr}}
"#;

const JS: &str = r#"
(function(){
  var root=document.getElementById('pack');
  var packId=root.getAttribute('data-pack-id'), sideHash=root.getAttribute('data-side-hash');
  var items=Array.prototype.slice.call(document.querySelectorAll('#items .item'));
  var n=items.length, key='evalh-review:'+packId;
  var state={reviewer:'',decisions:{},notes:{},current:0};
  var status=document.getElementById('status'), nameBox=document.getElementById('reviewer');
  var strip=Array.prototype.slice.call(document.querySelectorAll('#strip button'));
  var stored=true;
  try{
    var saved=JSON.parse(localStorage.getItem(key)||'null');
    if(saved&&typeof saved==='object'){
      state.reviewer=String(saved.reviewer||''); state.decisions=saved.decisions||{}; state.notes=saved.notes||{};
      state.current=Math.max(0,Math.min(n-1,saved.current|0));
    }
  }catch(e){ stored=false; }
  function say(t){ status.textContent=t; }
  function save(){
    try{ localStorage.setItem(key,JSON.stringify(state)); }
    catch(e){ if(stored){ stored=false; say('This browser does not keep your work for this file: export before closing it.'); } }
  }
  function idOf(i){ return items[i].getAttribute('data-item-id'); }
  function decided(){ var c=0; items.forEach(function(el,i){ if(state.decisions[idOf(i)]) c++; }); return c; }
  function paint(i){
    var d=state.decisions[idOf(i)], el=items[i];
    Array.prototype.forEach.call(el.querySelectorAll('button[data-choice]'),function(b){
      b.setAttribute('aria-pressed', d&&d.choice===b.getAttribute('data-choice')?'true':'false');
    });
    el.querySelector('.state').textContent=d?'decided':'';
    if(strip[i]) strip[i].className=(d?'done':'')+(i===state.current?' cur':'');
  }
  function progress(){
    var c=decided();
    document.getElementById('progress').value=c;
    document.getElementById('count').textContent=c+' of '+n+' decided';
    document.documentElement.setAttribute('data-decided',String(c));
  }
  function show(i){
    if(n===0) return;
    state.current=Math.max(0,Math.min(n-1,i));
    items.forEach(function(el,j){ el.hidden=j!==state.current; paint(j); });
    document.documentElement.setAttribute('data-current',idOf(state.current));
    save();
  }
  function nextOpen(){
    for(var s=1;s<=n;s++){ var j=(state.current+s)%n; if(!state.decisions[idOf(j)]) return j; }
    return -1;
  }
  function choose(choice){
    var id=idOf(state.current);
    state.decisions[id]={choice:choice,decided_at:new Date().toISOString()};
    paint(state.current); progress();
    var j=nextOpen();
    if(j>=0) show(j); else { save(); say('All '+n+' items decided: export your decisions.'); }
  }
  function fileName(){ return 'decisions-'+(state.reviewer.trim().replace(/[^A-Za-z0-9_.-]+/g,'-').replace(/^[-.]+|[-.]+$/g,'')||'reviewer')+'.json'; }
  function exportText(){
    var lines=[];
    items.forEach(function(el,i){
      var id=idOf(i), d=state.decisions[id]; if(!d) return;
      var rec={item_id:id,choice:d.choice,decided_at:d.decided_at};
      var note=(state.notes[id]||'').trim(); if(note) rec.note=note;
      lines.push(JSON.stringify(rec));
    });
    var head={format:'evalh-review-decisions/1',pack_id:packId,side_assignment_hash:sideHash,reviewer:state.reviewer.trim(),exported_at:new Date().toISOString()};
    var h=JSON.stringify(head);
    return {count:lines.length, text:h.slice(0,-1)+',\n"decisions": [\n'+lines.join(',\n')+'\n]}\n'};
  }
  function doExport(){
    if(!state.reviewer.trim()){ say('Type your name first: it names your decisions file.'); nameBox.focus(); return; }
    var x=exportText();
    if(x.count===0){ say('Nothing to export yet: decide at least one item.'); return; }
    var url=URL.createObjectURL(new Blob([x.text],{type:'application/json'}));
    var a=document.createElement('a'); a.href=url; a.download=fileName(); document.body.appendChild(a); a.click(); a.remove();
    setTimeout(function(){ URL.revokeObjectURL(url); },60000);
    document.getElementById('export-text').value=x.text; document.getElementById('export-box').hidden=false;
    say('Exported '+x.count+' of '+n+' decisions to '+fileName()+(x.count<n?' ('+(n-x.count)+' undecided)':'')+'.');
  }
  items.forEach(function(el,i){
    Array.prototype.forEach.call(el.querySelectorAll('button[data-choice]'),function(b){
      b.addEventListener('click',function(){ state.current=i; choose(b.getAttribute('data-choice')); });
    });
    var t=el.querySelector('textarea[data-note]'); t.value=state.notes[idOf(i)]||'';
    t.addEventListener('input',function(){ state.notes[idOf(i)]=t.value; save(); });
  });
  strip.forEach(function(b){ b.addEventListener('click',function(){ show(+b.getAttribute('data-go')); }); });
  nameBox.value=state.reviewer;
  nameBox.addEventListener('input',function(){ state.reviewer=nameBox.value; save(); });
  nameBox.addEventListener('keydown',function(e){ if(e.key==='Enter'){ nameBox.blur(); e.preventDefault(); } });
  document.getElementById('prev').addEventListener('click',function(){ show(state.current-1); });
  document.getElementById('next').addEventListener('click',function(){ show(state.current+1); });
  document.getElementById('next-open').addEventListener('click',function(){ var j=nextOpen(); if(j>=0) show(j); });
  document.getElementById('export').addEventListener('click',doExport);
  var keys={'1':'a_better','a':'a_better','2':'b_better','b':'b_better','3':'both_fine','f':'both_fine','4':'both_bad','x':'both_bad'};
  document.addEventListener('keydown',function(e){
    var t=e.target&&e.target.tagName; if(t==='INPUT'||t==='TEXTAREA'||e.ctrlKey||e.metaKey||e.altKey) return;
    var k=(e.key||'').toLowerCase();
    if(keys[k]){ choose(keys[k]); e.preventDefault(); }
    else if(k==='arrowright'){ show(state.current+1); e.preventDefault(); }
    else if(k==='arrowleft'){ show(state.current-1); e.preventDefault(); }
    else if(k==='n'){ var j=nextOpen(); if(j>=0) show(j); e.preventDefault(); }
  });
  document.getElementById('bar').hidden=false; document.getElementById('strip').hidden=false;
  progress(); show(state.current);
  if(!stored) say('This browser does not keep your work for this file: export before closing it.');
  document.documentElement.setAttribute('data-js','ready');
})();
"#;
