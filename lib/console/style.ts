/**
 * The console's CSS. Tables fit the window at 1280 px (long URLs and ids wrap or are cut short,
 * never widen the page); under 760 px each row becomes a card, each value beside its column's name.
 */
export const CONSOLE_CSS = `
:root { font: 14px/1.45 system-ui, sans-serif; color: #1f2328; background: #f6f8fa; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .4rem 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #1f2328; color: #fff; }
header strong { font-size: 1.05rem; }
#views { display: flex; flex-wrap: wrap; gap: .2rem 1rem; }
#views a { color: #d0d7de; text-decoration: none; }
#views a.current { color: #fff; border-bottom: 2px solid #4ac26b; }
#signout { margin-left: auto; }
header small { color: #d0d7de; }
main { padding: 1rem 1.2rem; max-width: 100%; }
h1 { font-size: 1.3rem; margin: .2rem 0 .3rem; }
h2 { font-size: 1.05rem; margin-top: 1.4rem; }
a { color: #0969da; }
.hint { color: #59636e; font-size: 12px; }
.block { display: block; }
#access { margin: 0; padding: .4rem 1.2rem; background: #fff8c5; border-bottom: 1px solid #d4a72c; }
#notice { margin: .6rem 1.2rem 0; padding: .5rem .7rem; border-radius: 4px; border: 1px solid; }
#notice:empty { display: none; }
#notice.info { background: #ddf4ff; border-color: #54aeff; }
#notice.success { background: #dafbe1; border-color: #4ac26b; }
#notice.success::before { content: "✓ "; font-weight: 700; color: #1a7f37; }
#notice.error { background: #ffebe9; border-color: #ff8182; }
#notice.error::before { content: "✗ "; font-weight: 700; color: #cf222e; }
.table { width: 100%; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #d0d7de; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f0f3f6; font-weight: 600; white-space: nowrap; }
td[data-label="Time"], td[data-label="Registered"], td[data-label="Finished"], td[data-label="When"] { white-space: nowrap; }
tr.empty td { padding: 1.2rem; color: #59636e; text-align: center; }
.url { overflow-wrap: anywhere; }
.id { display: inline-block; max-width: 11ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; font: 12px ui-monospace, monospace; }
.clip { display: inline-block; max-width: 16rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
code.answer { white-space: pre-wrap; word-break: break-all; font-size: 12px; }
.filters { display: flex; gap: .6rem 1rem; margin: .8rem 0; flex-wrap: wrap; align-items: flex-end; }
.filters .field { display: grid; gap: .15rem; }
.filters label { font-size: 12px; color: #59636e; }
.filters select, .filters input { font: inherit; padding: 0 .3rem; height: 2rem; max-width: 18rem; }
.filters button { height: 2rem; }
.quick { margin: .6rem 0 0; }
.filter-box summary { display: none; }
.filter-box:not([open]) { margin: .6rem 0; }
.actions { display: flex; gap: .3rem; }
button, a.button { font: inherit; padding: .2rem .6rem; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: #1f2328; cursor: pointer; text-decoration: none; display: inline-block; white-space: nowrap; }
a.button.current { background: #1f2328; color: #fff; }
button[disabled] { opacity: .5; cursor: default; }
button.danger { background: #cf222e; border-color: #cf222e; color: #fff; }
.pager { display: flex; gap: 1rem; align-items: center; justify-content: flex-end; margin: .6rem 0; }
.badge { padding: 0 .4rem; border-radius: 3px; white-space: nowrap; background: #eaeef2; }
.badge.ok { background: #dafbe1; color: #116329; }
.badge.bad { background: #ffebe9; color: #a40e26; }
.badge.wait { background: #fff8c5; color: #7d4e00; }
#login { max-width: 24rem; margin: 4rem auto; display: grid; gap: .5rem; background: #fff; padding: 1.5rem; border: 1px solid #d0d7de; border-radius: 6px; }
#login input { font: inherit; padding: .3rem; }
p.error { color: #a40e26; margin: 0; }
p.error:empty { display: none; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; background: #fff; padding: .8rem; border: 1px solid #d0d7de; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #fff; border: 1px solid #d0d7de; padding: .6rem; overflow-x: auto; }
.circuit { padding: 0 .35rem; border-radius: 3px; white-space: nowrap; }
.circuit.open { background: #cf222e; color: #fff; font-weight: 600; }
.circuit.probing { background: #fff8c5; }
.secret { background: #fff; border: 2px solid #4ac26b; border-radius: 6px; padding: .2rem 1rem .8rem; margin: .8rem 0; }
.secret .row { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; }
.secret input { font: 13px ui-monospace, monospace; padding: .3rem; flex: 1 1 20rem; min-width: 0; }
dialog { border: 1px solid #d0d7de; border-radius: 6px; max-width: min(30rem, 92vw); }
dialog::backdrop { background: rgb(31 35 40 / .45); }
dialog .actions { justify-content: flex-end; }
@media (max-width: 760px) {
  main { padding: .8rem; }
  table, tbody, tr, td { display: block; width: 100%; }
  table { border: 0; background: none; }
  thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  tr { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin-bottom: .6rem; padding: .3rem 0; }
  td { overflow-wrap: anywhere; border: 0; padding: .15rem .7rem; display: grid; grid-template-columns: 6.5rem minmax(0, 1fr); gap: .5rem; }
  td[data-label=""] { display: block; }
  td[data-label]:not([data-label=""])::before { content: attr(data-label); font-weight: 600; color: #59636e; }
  tr.empty td { display: block; }
  td { justify-items: start; }
  .badge, .circuit { white-space: normal; }
  .actions { flex-wrap: wrap; }
  .id { max-width: 100%; }
  .clip { max-width: 100%; white-space: normal; }
  .pager { justify-content: space-between; }
  .filter-box summary { display: list-item; cursor: pointer; margin: .6rem 0 0; color: #0969da; }
  #login { margin: 1.5rem auto; }
}
`;
