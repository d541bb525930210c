/** The console's one stylesheet, served at /ui/static/console.css (the CSP allows styles from there only). */
export const CONSOLE_CSS = `
:root { --fg: #1d2430; --muted: #5b6678; --line: #d9dee7; --bg: #f6f7f9; --card: #fff; --ok: #1f7a3d; --bad: #b42318; --warn: #9a6700; --accent: #2450a6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #1d2430; color: #fff; flex-wrap: wrap; }
header a { color: #dbe4f5; text-decoration: none; }
header a[aria-current] { color: #fff; font-weight: 600; border-bottom: 2px solid #fff; }
header .brand { font-weight: 700; color: #fff; }
header nav { display: flex; gap: 1rem; flex: 1; }
header form { display: inline; margin: 0; }
header .who { color: #b8c2d6; }
header input[type=search] { width: 12rem; }
main { padding: 1rem 1.2rem 3rem; max-width: 90rem; }
h1 { font-size: 1.35rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
section.card > h2:first-child { margin-top: 0; }
h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85rem; }
pre { white-space: pre-wrap; word-break: break-word; background: var(--bg); padding: .5rem; border-radius: 4px; margin: .3rem 0; }
.ok { color: var(--ok); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.muted { color: var(--muted); }
.notice { padding: .6rem .8rem; border-radius: 4px; margin-bottom: 1rem; border: 1px solid var(--line); background: var(--card); }
.notice.bad { border-color: var(--bad); font-weight: normal; }
.notice.ok { border-color: var(--ok); font-weight: normal; }
.notice.warn { border-color: var(--warn); font-weight: normal; }
form.inline { display: inline; }
form.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin-bottom: 1rem; }
form.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
input, select, button, textarea { font: inherit; }
input[type=text], input[type=search], input[type=password], input[type=datetime-local], select, textarea { padding: .3rem .4rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
button { padding: .3rem .8rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
header button { background: transparent; border-color: #8a96ad; color: #dbe4f5; padding: .15rem .6rem; }
details > summary { cursor: pointer; }
details.record { border-bottom: 1px solid var(--line); padding: .3rem .2rem; background: var(--card); }
details.record[open] { background: #fbfcfe; }
details.record summary { display: grid; grid-template-columns: 11rem 8rem 11rem 6rem 1fr; gap: .6rem; list-style: none; }
details.record summary::-webkit-details-marker { display: none; }
.login { max-width: 24rem; margin: 5rem auto; }
.login input { width: 100%; margin: .4rem 0 .8rem; }
.actions { display: flex; gap: 1rem; flex-wrap: wrap; align-items: start; }
.actions form { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.actions textarea { width: 22rem; height: 3.2rem; display: block; margin: .3rem 0; }
`;
