// Browser tests of `assure serve`: a newcomer signs in and reads the dashboard, an administrator
// adds people and uploads evidence, an auditor reads and comments but cannot change evidence, and
// a control owner sees only their own controls. Headless Debian Chromium, driven by Playwright.
//
//   ASSURE_BIN=target/debug/assure node run.mjs [SCREENSHOT_DIR]
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { createRequire } from "node:module";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const bin = process.env.ASSURE_BIN;
if (!bin) throw new Error("set ASSURE_BIN to the assure binary");
const shots = process.argv[2] || null;
if (shots) mkdirSync(shots, { recursive: true });
const work = mkdtempSync(join(tmpdir(), "assure-browser-"));
const project = join(work, "demo");
execFileSync(bin, ["demo", project, "--people", "60"], { stdio: "ignore" });
// Two monitoring cycles as of the demo's date (its period's end): a baseline and a quiet one.
for (let i = 0; i < 2; i++) execFileSync(bin, ["monitor", project, "--once", "--as-of", "2026-12-31"], { stdio: "ignore" });

const port = 18000 + Math.floor(Math.random() * 1000);
const base = `http://127.0.0.1:${port}`;
// A page reached after a change: its path (the query carries the confirmation, the fragment the section).
const at = (path) => (u) => u.pathname === path.split("#")[0];
const admin = { email: "admin@northwind.example", password: "correct-horse-battery-staple" };
const server = spawn(bin, ["serve", project, "--listen", `127.0.0.1:${port}`, "--max-upload-mb", "1"], {
  env: { ...process.env, ASSURE_ADMIN_EMAIL: admin.email, ASSURE_ADMIN_PASSWORD: admin.password, ASSURE_ADMIN_NAME: "Ada Admin" },
  stdio: ["ignore", "ignore", "pipe"],
});
let serverLog = "";
server.stderr.on("data", (d) => (serverLog += d));
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${base}/healthz`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failures = 0;
async function check(name, fn) {
  try { await fn(); console.log(`ok   ${name}`); }
  catch (e) { failures++; console.log(`FAIL ${name}\n     ${String(e.message || e).split("\n").join("\n     ")}`); }
}
function assert(cond, msg) { if (!cond) throw new Error(msg); }
async function signIn(user) {
  const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.fill("#email", user.email);
  await page.fill("#password", user.password);
  await Promise.all([page.waitForURL(at("/")), page.click("button[type=submit]")]);
  return { ctx, page };
}
async function shot(page, name, fullPage = false) { if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage }); }

// The owner of AC-05 in the sample company, read from the project through the API later.
const auditor = { email: "auditor@cpa.example", password: "auditor-password-1", name: "Avery Auditor" };
const owner = { email: "owner@northwind.example", password: "owner-password-12", name: "Owen Owner" };
let ownerPerson = "";
let otherControl = "";

await check("a newcomer is sent to sign in, and a wrong password is refused beside the form", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/`);
  assert(page.url() === `${base}/login`, `expected the sign-in page, got ${page.url()}`);
  await page.fill("#email", admin.email);
  await page.fill("#password", "wrong password here");
  await page.click("button[type=submit]");
  const err = await page.textContent(".error");
  assert(err.includes("email or password is wrong"), `no error shown: ${err}`);
  await shot(page, "01-sign-in");
  await ctx.close();
});

const { ctx: adminCtx, page: ap } = await signIn(admin);

await check("the administrator reads the dashboard: readiness, heat map, failing tests", async () => {
  const text = await ap.textContent("main");
  assert(text.includes("Overall readiness"), "no overall readiness");
  assert((await ap.locator(".heat a").count()) > 30, "the criteria heat map is missing");
  assert(text.includes("Failing tests"), "no failing tests section");
  assert((await ap.locator("text=Terminated").count()) + (await ap.locator("table tr").count()) > 1, "no failing tests listed");
  // Day 1: the demo has evidence, a run, approved and accepted policies, but no control owner yet.
  assert(text.includes("Getting started: 4 of 5 done") && text.includes("Invite the control owners"), "the getting-started list is wrong");
  // One card per report that means something: the SOC 3 card explains itself instead of repeating the SOC 2.
  assert(text.includes("SOC 2 Type 2") && text.includes("The public summary of the SOC 2"), "the report cards are not distinct");
  await shot(ap, "02-dashboard");
});

await check("the administrator adds an auditor and a control owner", async () => {
  await ap.goto(`${base}/controls/AC-05`);
  ownerPerson = await ap.evaluate(async () => (await (await fetch("/api/v1/controls/AC-05")).json()).owner);
  assert(ownerPerson, "AC-05 has no owner");
  const all = await ap.evaluate(async () => (await (await fetch("/api/v1/controls")).json()));
  otherControl = all.find((c) => c.owner && c.owner !== ownerPerson).id;
  for (const [u, role, person] of [[auditor, "auditor", ""], [owner, "control_owner", ownerPerson]]) {
    await ap.goto(`${base}/users`);
    await ap.fill("#name", u.name);
    await ap.fill("#email", u.email);
    await ap.selectOption("#role", role);
    await ap.selectOption("#person", person);
    await ap.fill("#password", u.password);
    await Promise.all([ap.waitForURL(at("/users")), ap.click("form[action='/users'] button")]);
    assert((await ap.textContent("table")).includes(u.email), `${u.email} not listed`);
  }
  await shot(ap, "03-users");
});

await check("a malformed form is shown again with the error beside the field", async () => {
  await ap.goto(`${base}/users`);
  await ap.fill("#name", "Short Password");
  await ap.fill("#email", "short@northwind.example");
  await ap.fill("#password", "short");
  await ap.click("form[action='/users'] button");
  const errs = await ap.locator(".error").allTextContents();
  assert(errs.some((e) => e.includes("at least 12 characters")), `errors: ${errs}`);
  assert((await ap.inputValue("#email")) === "short@northwind.example", "the form lost what was typed");
});

await check("the administrator uploads evidence for a control into the signed ledger", async () => {
  const file = join(work, "access-review-signoff.txt");
  writeFileSync(file, "Q4 access review signed off by the system owner.\n");
  await ap.goto(`${base}/controls/AC-05`);
  await ap.selectOption("#kind", "record");
  await ap.setInputFiles("#file", file);
  await Promise.all([ap.waitForURL(at("/controls/AC-05")), ap.click("form[action='/evidence'] button")]);
  assert((await ap.textContent("main")).includes("access-review-signoff.txt"), "the upload is not listed under the control");
  await shot(ap, "04-control");
  await ap.goto(`${base}/evidence`);
  await Promise.all([ap.waitForURL(at("/evidence/verify")), ap.click("form[action='/evidence/verify'] button")]);
  assert((await ap.textContent("main")).includes("intact"), "the ledger does not verify after the upload");
});

await check("an oversized upload is refused with a clear message and nothing stored", async () => {
  const big = join(work, "big.bin");
  writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 7));
  const before = (await (await ap.request.get(`${base}/api/v1/evidence`)).json()).length;
  await ap.goto(`${base}/evidence`);
  // The form names no control until one is chosen: submitting without one is stopped in the browser.
  await ap.setInputFiles("#file", big);
  await ap.click("form[action='/evidence'] button");
  assert(await ap.locator("#control").evaluate((e) => !e.validity.valid), "the form was sent without a control");
  await ap.selectOption("#control", "AC-05");
  await ap.click("form[action='/evidence'] button");
  const text = await ap.textContent("main");
  assert(text.includes("larger than the 1 MiB upload limit"), `message: ${text.slice(0, 300)}`);
  const after = (await (await ap.request.get(`${base}/api/v1/evidence`)).json()).length;
  assert(before === after, `the ledger grew from ${before} to ${after}`);
});

await check("the administrator accepts a policy, recorded as evidence", async () => {
  await ap.goto(`${base}/policies`);
  const row = () => ap.locator("tr", { has: ap.locator("a[href='/policies/access-control']") }).textContent();
  assert((await row()).includes("to accept"), "access-control is not listed as to accept");
  const before = await ap.textContent("main .card");
  await ap.goto(`${base}/policies/access-control`);
  await Promise.all([ap.waitForURL(at("/policies/access-control")), ap.click("form[action$='/accept'] button")]);
  assert((await ap.textContent("main")).includes("You accepted version"), "no acceptance shown");
  await ap.goto(`${base}/policies`);
  assert((await row()).includes("accepted"), "the list does not show the acceptance");
  const after = await ap.textContent("main .card");
  assert(parseInt(after) === parseInt(before) - 1, `policies to accept went from '${before}' to '${after}'`);
  await shot(ap, "05-policy");
  await ap.goto(`${base}/tests`);
  await shot(ap, "06-tests");
  await ap.goto(`${base}/monitoring`);
  assert((await ap.locator("#trend-title").textContent()).includes("last 2 cycles"), "the monitoring page has no trend of the cycles");
  assert((await ap.locator("#controls-title").textContent()).includes("Controls with exceptions"), "the monitoring page has no trend of failing controls");
  assert((await ap.textContent("main")).includes("condition(s) open"), "the monitoring page lists no open conditions");
  await shot(ap, "06b-monitoring", true);
  await Promise.all([ap.waitForURL(at("/monitoring/run")), ap.click("form[action='/monitoring/run'] button")]);
  assert((await ap.textContent("main")).includes("Monitoring cycle at"), "running a cycle from the page did not report the cycle");
  await shot(ap, "06c-monitoring-run");
  await ap.goto(`${base}/monitoring`);
  assert((await ap.textContent("main")).includes("Cycles run by this server"), "the monitoring page does not list the cycle run from the page");
  await ap.goto(`${base}/window`);
  assert((await ap.textContent("main")).includes("of the window has passed") || (await ap.locator("#progress-title").textContent()).includes("window has passed"), "the window page shows no progress");
  assert((await ap.locator("table.calendar tr").count()) > 1, "the window page has no calendar of periodic controls");
  await shot(ap, "06d-window");
  await ap.goto(`${base}/audit`);
  assert((await ap.textContent("main")).includes("accepted a policy"), "the audit log lacks the acceptance");
  await shot(ap, "07-audit");
});

await check("an auditor reads everything and comments, but cannot add or change evidence", async () => {
  const { ctx, page } = await signIn(auditor);
  await page.goto(`${base}/controls`);
  const rows = await page.locator("table tr").count();
  assert(rows > 80, `the auditor sees only ${rows - 1} controls`);
  await page.goto(`${base}/controls/AC-05`);
  assert((await page.locator("form[action='/evidence']").count()) === 0, "the auditor is offered an upload form");
  await page.fill("#body", "Please provide the approval ticket for REQ-4.");
  await Promise.all([page.waitForURL(at("/controls/AC-05")), page.click("form[action$='/comments'] button")]);
  assert((await page.textContent("main")).includes("approval ticket for REQ-4"), "the comment is not shown");
  const csrf = await page.inputValue("input[name=csrf] >> nth=0");
  const status = await page.evaluate(async (csrf) => {
    const fd = new FormData();
    fd.append("csrf", csrf); fd.append("control", "AC-05"); fd.append("kind", "record");
    fd.append("file", new Blob(["forged"]), "forged.txt");
    return (await fetch("/evidence", { method: "POST", body: fd })).status;
  }, csrf);
  assert(status === 403, `an auditor's upload answered ${status}, not 403`);
  await Promise.all([page.waitForURL(at("/controls/AC-05")), page.click("form[action$='/sample'] button")]);
  assert((await page.textContent("main")).includes("seed"), "the sample is not shown on the control");
  await page.goto(`${base}/tests/access-approved-before-grant`);
  assert((await page.locator("text=sampled").count()) > 0, "the test page does not mark the sampled items");
  await page.goto(`${base}/requests`);
  await page.fill("#title", "Population of terminations for Q4");
  await page.fill("#due", "2027-01-15");
  await Promise.all([page.waitForURL(/\/requests\/[0-9a-f]+(\?|$)/), page.click("form[action='/requests'] button")]);
  assert((await page.textContent("h1")).includes("PBC-1"), "the request was not created");
  await shot(page, "08-request");
  await ctx.close();
});

await check("a control owner sees only the controls they own", async () => {
  const { ctx, page } = await signIn(owner);
  const mine = await page.evaluate(async () => (await (await fetch("/api/v1/controls")).json()).map((c) => c.owner));
  assert(mine.length > 0, "the owner sees no controls");
  assert(mine.every((o) => o === mine[0]), `the owner sees other people's controls: ${[...new Set(mine)]}`);
  await page.goto(`${base}/my-work`);
  assert(/You own \d+ control\(s\)/.test(await page.textContent("main")), "my work does not list the owner's controls");
  await shot(page, "09a-my-work");
  await page.goto(`${base}/controls`);
  await shot(page, "09-owner-controls");
  const rows = await page.locator("table tr").count() - 1;
  assert(rows === mine.length, `the page lists ${rows} controls, the API ${mine.length}`);
  const resp = await page.goto(`${base}/controls/${otherControl}`);
  assert(resp.status() === 403, `another owner's control ${otherControl} answered ${resp.status()}`);
  assert((await page.textContent("main")).includes("do not own"), "the refusal does not say why");
  const api = await page.evaluate(async (id) => (await fetch(`/api/v1/controls/${id}`)).status, otherControl);
  assert(api === 403, `the API gave another owner's control with ${api}`);
  const audit = await page.goto(`${base}/audit`);
  assert(audit.status() === 403, `the owner reached the audit log (${audit.status()})`);
  await ctx.close();
});

await check("an auditor samples with a seed, records each item's result and signs off; a manager reviews", async () => {
  const { ctx, page } = await signIn(auditor);
  await page.goto(`${base}/controls/AC-05`);
  await page.fill("#size", "5");
  await page.fill("#seed", "20261231");
  await Promise.all([page.waitForURL(at("/controls/AC-05#sample")), page.click("form[action$='/sample'] button")]);
  let main = await page.textContent("main");
  assert(/5 of \d+ items, seed 20261231/.test(main), "the sample with the auditor's size and seed is not shown");
  assert((await page.locator("#sample ~ div table tr").count()) >= 6, "the sampled items are not a table");
  // Each item's result, one at a time; the form offers the untested items first.
  for (let i = 0; i < 5; i++) {
    const last = i === 4;
    await page.fill("#attribute0", "approved by the manager before access was granted");
    await page.selectOption("select[name=attribute0_result]", last ? "exception" : "pass");
    await page.selectOption("#result", last ? "exception" : "pass");
    await page.check("input[name=tick_I]");
    if (last) await page.fill("#note", "Approval dated two days after the grant.");
    await Promise.all([page.waitForURL(at("/controls/AC-05#sample")), page.click("form[action$='/workpaper'] button")]);
  }
  main = await page.textContent("main");
  assert(!main.includes("not tested yet"), "an item is still untested");
  assert(main.includes("Approval dated two days after the grant."), "the exception's note is not shown");
  await Promise.all([page.waitForURL(at("/controls/AC-05#sample")), page.click("form[action$='/signoff'] button:has-text('preparer')")]);
  assert((await page.textContent("main")).includes(`${auditor.email} on`), "the preparer's sign-off is not shown");
  // The same person cannot also review.
  await page.click("form[action$='/signoff'] button:has-text('reviewer')");
  assert((await page.textContent("main")).includes("someone other than the preparer"), "the auditor reviewed their own work");
  await page.goto(`${base}/controls/AC-05#sample`);
  await shot(page, "13-sample-workpaper", true);
  await Promise.all([ap.waitForURL(at("/controls/AC-05#sample")), ap.goto(`${base}/controls/AC-05`).then(() => ap.click("form[action$='/signoff'] button:has-text('reviewer')"))]);
  const signed = await ap.textContent("main");
  assert(signed.includes("Reviewed by") && signed.includes(`${admin.email} on`), "the reviewer's sign-off is not shown");
  // Every result and sign-off is a `workpaper` entry in the ledger; the auditor still wrote no evidence.
  const entries = await page.evaluate(async () => (await (await fetch("/api/v1/evidence")).json()));
  const mine = entries.filter((e) => e.by === "auditor@cpa.example");
  assert(mine.filter((e) => e.action === "workpaper").length === 6, `the auditor's workpaper entries: ${JSON.stringify(mine.map((e) => e.action))}`);
  assert(mine.every((e) => e.action === "workpaper" || e.action === "sample"), "an auditor's entry is evidence");
  await ctx.close();
});

await check("an auditor's request for a control its assignee does not own is answered, linked and accepted", async () => {
  const { ctx, page } = await signIn(auditor);
  const users = await ap.evaluate(async () => [...document.querySelectorAll("option")].map((o) => [o.value, o.textContent]));
  await page.goto(`${base}/requests`);
  await page.fill("#title", `Evidence of ${otherControl} for Q3`);
  await page.fill("#control", otherControl);
  const ownerOption = await page.locator("#assignee option", { hasText: owner.name }).getAttribute("value");
  await page.selectOption("#assignee", ownerOption);
  await page.fill("#due", "2027-01-20");
  await Promise.all([page.waitForURL(/\/requests\/[0-9a-f]+(\?|$)/), page.click("form[action='/requests'] button")]);
  const url = page.url().split("?")[0];
  // The owner cannot open the control, but answers the request.
  const o = await signIn(owner);
  const refused = await o.page.goto(`${base}/controls/${otherControl}`);
  assert(refused.status() === 403, `the owner opened ${otherControl}`);
  await o.page.goto(url);
  const file = join(work, "q3-evidence.txt");
  writeFileSync(file, `Q3 evidence for ${otherControl}.\n`);
  await o.page.setInputFiles("#file", file);
  await Promise.all([o.page.waitForURL(at(new URL(url).pathname)), o.page.click("form[action$='/attach'] button")]);
  assert((await o.page.textContent("main")).includes("q3-evidence.txt"), "the attachment is not linked to the request");
  await o.page.selectOption("#status", "submitted");
  await Promise.all([o.page.waitForURL(at(new URL(url).pathname)), o.page.click("form[action='" + new URL(url).pathname + "'] button")]);
  await o.ctx.close();
  // The auditor sees the linked file with its SHA-256 and accepts.
  await page.goto(url);
  const text = await page.textContent("main");
  assert(text.includes("Evidence that answers it (1)") && /[0-9a-f]{64}/.test(text), "the linked evidence and its hash are not shown");
  assert(text.includes("assure evidence verify evidence.tar --key"), "no verification command beside the hash");
  await page.selectOption("#status", "accepted");
  await Promise.all([page.waitForURL(at(new URL(url).pathname)), page.click("form[action='" + new URL(url).pathname + "'] button")]);
  assert((await page.textContent("main")).includes("accepted"), "the request is not accepted");
  await shot(page, "14-request-answered", true);
  await page.goto(`${base}/requests?view=open`);
  await shot(page, "15-requests-ageing");
  // Sorted by a column, latest due date first: the heading says so to a screen reader, and the
  // dates read in that order.
  await page.goto(`${base}/requests?sort=due&dir=desc`);
  assert((await page.getAttribute("th[aria-sort=descending]", "aria-sort")) === "descending", "the sorted column is not marked");
  const due = (await page.$eval("th[aria-sort=descending]", (th) => {
    const k = [...th.parentElement.children].indexOf(th);
    return [...th.closest("table").querySelectorAll("tr")].slice(1).map((r) => (r.children[k] || {}).textContent || "");
  }))
    .map((t) => (t.match(/\d{4}-\d{2}-\d{2}/) || [""])[0])
    .filter(Boolean);
  assert(due.length > 1 && due.every((d, i) => i === 0 || due[i - 1] >= d), `due dates not latest first: ${due.join(", ")}`);
  await shot(page, "15c-requests-sorted-by-due");
  await ctx.close();
});

await check("an auditor pages a population, downloads it and the workpaper set, which openpyxl reads and which verifies", async () => {
  const { ctx, page } = await signIn(auditor);
  await page.goto(`${base}/tests/changes-peer-approved?per=25&sort=merged_at&dir=desc`);
  const main = await page.textContent("main");
  assert(/page 1 of \d+/.test(main), "the population is not paged");
  assert(main.includes("Read from (ledger entry, file, row, SHA-256)"), "the population has no lineage");
  await page.click("a[rel=next]");
  assert((await page.textContent("main")).includes("page 2 of"), "the next page does not open");
  await shot(page, "16-population", true);
  const tarPath = join(work, "workpapers.tar");
  const bytes = await page.evaluate(async () => Array.from(new Uint8Array(await (await fetch("/workpapers.tar")).arrayBuffer())));
  writeFileSync(tarPath, Buffer.from(bytes));
  const out = join(work, "unpacked");
  mkdirSync(out, { recursive: true });
  execFileSync("tar", ["-xf", tarPath, "-C", out]);
  const read = execFileSync("python3", ["-c", "import openpyxl,sys; wb=openpyxl.load_workbook(sys.argv[1]); print('|'.join(wb.sheetnames)); ws=wb['Samples']; print(ws.max_row)", join(out, "workpapers/workpapers.xlsx")]).toString();
  assert(read.includes("Samples") && read.includes("Evidence") && read.includes("changes-peer-approved"), `the workbook's sheets: ${read}`);
  const verifyText = execFileSync("cat", [join(out, "workpapers/VERIFY.txt")]).toString();
  const key = /--key ([0-9a-f]{64})/.exec(verifyText)[1];
  execFileSync(bin, ["evidence", "verify", join(out, "workpapers/evidence.tar"), "--key", key], { stdio: "ignore" });
  await ctx.close();
});

await check("a questionnaire is answered from the project, reviewed, assigned and approved", async () => {
  await ap.goto(`${base}/questionnaires`);
  const csv = "Question ID,Question,Response,Comments\n" +
    "IAM-14.1,Is multi-factor authentication enforced for all user accounts?,,\n" +
    "DCS-01,Are physical access controls in place at your data centers?,,\n" +
    "GEN-01,Do you have a SOC 2 Type 2 report?,,\n" +
    "PHI-01,Do you process protected health information (PHI)?,,\n";
  const file = join(work, "acme-security-review.csv");
  writeFileSync(file, csv);
  await ap.setInputFiles("#file", file);
  await Promise.all([ap.waitForURL(/\/questionnaires\/q-[0-9a-f]+(\?|$)/), ap.click("form[action='/questionnaires'] button")]);
  const url = ap.url().split("?")[0];
  const main = await ap.textContent("main");
  assert(main.includes("4 questions"), "the questionnaire page does not count its questions");
  assert(main.includes("needs review"), "no question is held back for review");
  assert(main.includes("Subservice organisation"), "the data-centre answer does not say it rests on the subservice organisation");
  await shot(ap, "10-questionnaire", true);
  // The qualifier needs a person: answer it, assign it to the owner and approve it.
  await ap.goto(`${url}/q/3`);
  assert((await ap.textContent("main")).includes("Needs review"), "the PHI question shows no reason for review");
  await ap.fill("#answer", "No");
  await ap.fill("#comment", "We hold no health data; see the data classification policy.");
  await ap.selectOption("#assign", owner.email);
  await Promise.all([ap.waitForURL(at(new URL(`${url}/q/3`).pathname)), ap.click("button[value=approve]")]);
  const q = await ap.textContent("main");
  assert(q.includes("approved") && q.includes("Answered by admin@northwind.example"), "the approval is not shown with who answered");
  assert(q.includes("assigned to owner@northwind.example"), "the assignment is not in the history");
  await shot(ap, "11-question", true);
  await ap.goto(`${base}/questionnaires`);
  assert((await ap.textContent("main")).includes("acme-security-review.csv"), "the list does not show the questionnaire");
  await shot(ap, "12-questionnaires");
  const exported = await ap.evaluate(async (u) => await (await fetch(`${u}/export?approved=1`)).text(), url);
  assert(exported.includes("PHI-01,Do you process protected health information (PHI)?,No,"), `the approved export lacks the answer: ${exported}`);
  await ap.goto(`${base}/audit`);
  assert((await ap.textContent("main")).includes("approved an answer"), "the audit log lacks the approval");
  // The owner sees the question assigned to them, and only that one.
  const { ctx, page } = await signIn(owner);
  await page.goto(url);
  const rows = await page.locator("table tr").count() - 1;
  assert(rows === 1, `the owner sees ${rows} questions, not the one assigned to them`);
  const other = await page.goto(`${url}/q/0`);
  assert(other.status() === 404, `the owner reached a question not assigned to them (${other.status()})`);
  await ctx.close();
});

await check("the chief executive approves an edited policy; vendors show their report reviews", async () => {
  // The policy is edited in git: its approval no longer covers it until a named approver approves the new version.
  const path = join(project, "policies", "encryption.md");
  const text = readFileSync(path, "utf8");
  writeFileSync(path, text.replace('version = "1.0"', 'version = "1.1"') + "\nKeys are rotated every year.\n");
  const ceo = { email: "dana@northwind.example", password: "chief-executive-1", name: "Dana Whitfield" };
  await ap.goto(`${base}/users`);
  await ap.fill("#name", ceo.name);
  await ap.fill("#email", ceo.email);
  await ap.selectOption("#role", "viewer");
  await ap.selectOption("#person", "dana.whitfield");
  await ap.fill("#password", ceo.password);
  await Promise.all([ap.waitForURL(at("/users")), ap.click("form[action='/users'] button")]);
  // The server reads the project again once its 5-second snapshot has aged.
  await new Promise((r) => setTimeout(r, 5500));
  // The administrator is no named approver: no button.
  await ap.goto(`${base}/policies/encryption`);
  let main = await ap.textContent("main");
  assert(main.includes("edited since its approval"), "the edit is not shown against the approval");
  assert(!(await ap.locator("text=Approve version").count()), "a non-approver is offered the approval");
  const { ctx, page } = await signIn(ceo);
  await page.goto(`${base}/policies/encryption`);
  await page.fill("input[name=note]", "Board meeting, December");
  await Promise.all([page.waitForURL(at("/policies/encryption")), page.click("text=Approve version 1.1")]);
  main = await page.textContent("main");
  assert(main.includes("Version 1.1 approved by Dana Whitfield"), `the approval is not shown: ${main.slice(0, 600)}`);
  assert(main.includes("Board meeting, December"), "the note is not kept");
  await shot(page, "13-policy-approval", true);
  await ctx.close();
  const entries = await (await ap.request.get(`${base}/api/v1/evidence`)).json();
  assert(entries.some((e) => e.action === "approval" && e.file === "approval-encryption-1.1.json" && e.by === ceo.email), "the approval is not in the ledger as the approver's");
  await ap.goto(`${base}/vendors`);
  main = await ap.textContent("main");
  assert(main.includes("Amazon Web Services") && main.includes("unmodified"), "the vendor register lacks AWS's report");
  await ap.goto(`${base}/vendors/aws`);
  main = await ap.textContent("main");
  assert(main.includes("CUEC-1") && main.includes("For 2 of 40 leavers"), "the report review is incomplete");
  await shot(ap, "14-vendor", true);
});

// Accessibility: axe-core over every page, as the administrator (who reaches them all) and at a
// phone's width (390 px): no serious or critical violation, and the layout never scrolls sideways
// (wide tables scroll inside themselves). The counts per impact are printed for the record.
await check("every page passes axe-core with no serious or critical violation, at 1360 and 390 px", async () => {
  const pages = ["/", "/controls", "/controls/AC-05", "/risks", "/vendors", "/vendors/aws", "/tests",
    "/periods", "/monitoring", "/window", "/my-work", "/evidence", "/requests", "/policies", "/policies/encryption",
    "/questionnaires", "/audit", "/users", "/tokens", "/frameworks/iso27001", "/no-such-page"];
  const tests = await (await ap.request.get(`${base}/api/v1/tests`)).json().catch(() => []);
  const firstTest = Array.isArray(tests) && tests.length ? (tests[0].id || tests[0].test) : null;
  if (firstTest) pages.push(`/tests/${firstTest}`);
  const totals = { minor: 0, moderate: 0, serious: 0, critical: 0 };
  const bad = [];
  // The application's Content-Security-Policy forbids inline scripts; only the checker's own
  // contexts bypass it, to inject axe-core.
  const state = await adminCtx.storageState();
  const wide = await browser.newContext({ viewport: { width: 1360, height: 900 }, storageState: state, bypassCSP: true });
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, storageState: state, bypassCSP: true });
  const wp = await wide.newPage();
  const np = await narrow.newPage();
  for (const [page, width] of [[wp, 1360], [np, 390]]) {
    for (const path of pages) {
      await page.goto(`${base}${path}`);
      await page.addScriptTag({ content: axeSource });
      const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
      for (const v of result.violations) {
        totals[v.impact] = (totals[v.impact] || 0) + v.nodes.length;
        if (v.impact === "serious" || v.impact === "critical") bad.push(`${width}px ${path}: ${v.id} (${v.impact}, ${v.nodes.length}): ${v.nodes[0].target.join(" ")}`);
      }
      if (width === 390) {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 1) bad.push(`390px ${path}: the page scrolls sideways by ${overflow} px`);
      }
    }
  }
  await np.goto(`${base}/`);
  await shot(np, "15-dashboard-390", true);
  await narrow.close();
  await wide.close();
  console.log(`     axe-core violations over ${pages.length} pages at two widths: ${JSON.stringify(totals)}`);
  assert(!bad.length, `accessibility problems:\n${bad.slice(0, 40).join("\n")}`);
});

await check("accounts: least-privilege default, a role changed, an account disabled and enabled, all audited", async () => {
  const temp = { email: "temp@northwind.example", password: "temporary-pass-12", name: "Tess Temp" };
  await ap.goto(`${base}/users`);
  assert((await ap.inputValue("#role")) === "viewer", "a new user does not default to the viewer role");
  await ap.fill("#name", temp.name);
  await ap.fill("#email", temp.email);
  await ap.fill("#password", temp.password);
  await Promise.all([ap.waitForURL(at("/users")), ap.click("form[action='/users'] button")]);
  const row = ap.locator("tr", { hasText: temp.email });
  assert((await row.textContent()).includes("Viewer"), "not added as a viewer");
  await row.locator("select[name=role]").selectOption("auditor");
  await Promise.all([ap.waitForURL(at("/users")), row.locator("text=Save role").click()]);
  assert((await ap.locator("tr", { hasText: temp.email }).textContent()).includes("Auditor"), "the role did not change");
  // Signed in, then disabled: the session ends and signing in again is refused; enabled again, it works.
  const { ctx, page } = await signIn(temp);
  await Promise.all([ap.waitForURL(at("/users")), ap.locator("tr", { hasText: temp.email }).locator("text=Disable").click()]);
  assert((await ap.locator("tr", { hasText: temp.email }).textContent()).includes("disabled"), "not shown as disabled");
  await page.goto(`${base}/controls`);
  assert(page.url().includes("/login"), `a disabled account's session still works: ${page.url()}`);
  await page.fill("#email", temp.email);
  await page.fill("#password", temp.password);
  await page.click("button[type=submit]");
  assert((await page.textContent("body")).includes("The email or password is wrong"), "a disabled account signed in");
  await Promise.all([ap.waitForURL(at("/users")), ap.locator("tr", { hasText: temp.email }).locator("text=Enable").click()]);
  await ctx.close();
  const again = await signIn(temp);
  await again.ctx.close();
  await ap.goto(`${base}/audit`);
  const log = await ap.textContent("main");
  for (const what of ["changed a role", "disabled an account", "enabled an account"]) assert(log.includes(what), `audit log lacks ${what}`);
});

await check("a one-time password reset link, a confirmation after each change, and an account removed with its history kept", async () => {
  const temp = { email: "temp@northwind.example", password: "temporary-pass-12", name: "Tess Temp" };
  await ap.goto(`${base}/users`);
  await Promise.all([ap.waitForURL(at("/users")), ap.locator("tr", { hasText: temp.email }).locator("text=Reset password").click()]);
  const link = (await ap.textContent("#reset-link")).trim();
  assert(link.startsWith(`${base}/reset/`), `the link is not on this server: ${link}`);
  const { ctx, page } = await signIn(temp);
  const fresh = await browser.newContext();
  const rp = await fresh.newPage();
  await rp.goto(link);
  assert((await rp.textContent("main")).includes(temp.email), "the reset page does not say whose password it sets");
  temp.password = "a-brand-new-password-1";
  await rp.fill("#password", temp.password);
  await rp.fill("#again", temp.password);
  await Promise.all([rp.waitForURL(at("/login")), rp.click("button[type=submit]")]);
  assert((await rp.textContent("[role=status]")).includes("Your new password is set"), "no confirmation after the reset");
  await page.goto(`${base}/controls`);
  assert(page.url().includes("/login"), "the session from before the reset still works");
  assert((await (await rp.goto(link)).status()) === 410, "the link worked twice");
  await fresh.close();
  await ctx.close();
  const again = await signIn(temp);
  await again.ctx.close();
  // Removal asks for the email again; the page confirms; the audit log keeps the history.
  const row = ap.locator("tr", { hasText: temp.email });
  await row.locator("summary").click();
  await row.locator("input[name=confirm]").fill(temp.email);
  await Promise.all([ap.waitForURL(at("/users")), row.locator("button:has-text('Remove')").click()]);
  assert((await ap.textContent("[role=status]")).includes("The account is removed"), "no confirmation after removal");
  assert(!(await ap.textContent("table")).includes(temp.email), "the removed account is still listed");
  await shot(ap, "15b-users-after-removal", true);
  await ap.goto(`${base}/audit`);
  const log = await ap.textContent("main");
  for (const what of ["made a password reset link", "set a new password", "removed an account"]) assert(log.includes(what), `audit log lacks ${what}`);
});

await check("the evidence list filters by control, pages, and the upload form starts at the control it was opened for", async () => {
  await ap.goto(`${base}/evidence?control=AC-05`);
  assert((await ap.inputValue("#control")) === "AC-05", "the upload form does not default to the filtered control");
  const main = await ap.textContent("main");
  assert(/Entries 1–\d+ of \d+ matching the filters/.test(main), "no count of the filtered entries");
  const controls = await ap.locator("table tr td:nth-child(2)").count();
  assert(controls > 0, "AC-05 has no evidence listed");
  await ap.goto(`${base}/evidence`);
  assert((await ap.locator("nav.pager").count()) === 1, "the demo's ledger is not paged");
  assert((await ap.locator("#control").inputValue()) === "", "the upload form preselects a control nobody chose");
  await shot(ap, "06b-evidence-list", true);
});

await check("API tokens: read-only by default, with an expiry, refused for changes, revoked", async () => {
  await ap.goto(`${base}/tokens`);
  await ap.fill("#tname", "dashboards");
  assert((await ap.inputValue("#scope")) === "read-only" && (await ap.inputValue("#expires")) === "90", "defaults are not read-only, 90 days");
  await ap.click("form[action='/tokens'] button");
  const token = (await ap.textContent("#token")).trim();
  const api = (method, path, body) => fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
  assert((await api("GET", "/api/v1/summary")).status === 200, "a read-only token cannot read");
  assert((await api("POST", "/api/v1/requests", JSON.stringify({ title: "no" }))).status === 403, "a read-only token made a change");
  const row = ap.locator("tr", { hasText: "dashboards" }).last();
  assert((await row.textContent()).includes("read-only"), "scope not shown");
  await Promise.all([ap.waitForURL(at("/tokens")), row.locator("text=Revoke").click()]);
  assert((await ap.locator("tr", { hasText: "dashboards" }).last().textContent()).includes("revoked"), "not shown as revoked");
  assert((await api("GET", "/api/v1/summary")).status === 401, "a revoked token still reads");
  await shot(ap, "16-tokens", true);
});

await check("filters ignore case and an empty result says what to do", async () => {
  await ap.goto(`${base}/controls?criterion=cc6.1`);
  const lower = await ap.locator("table tr").count();
  await ap.goto(`${base}/controls?criterion=CC6.1`);
  assert(lower > 2 && lower === (await ap.locator("table tr").count()), `cc6.1 lists ${lower - 1} rows`);
  await ap.goto(`${base}/controls?q=no-such-words-anywhere`);
  const main = await ap.textContent("main");
  assert(main.includes("No control matches these filters") && main.includes("Show every control"), "no empty state");
});

await check("the getting-started list is gone once every step is done", async () => {
  await ap.goto(`${base}/`);
  assert(!(await ap.textContent("main")).includes("Getting started"), "the list stays after the control owner was invited");
});

await check("the favicon is served and a keyboard user can skip to the content", async () => {
  const r = await ap.request.get(`${base}/favicon.ico`);
  assert(r.ok() && (r.headers()["content-type"] || "").startsWith("image/"), `favicon: ${r.status()}`);
  await ap.goto(`${base}/controls`);
  await ap.keyboard.press("Tab");
  const focused = await ap.evaluate(() => [document.activeElement.textContent, getComputedStyle(document.activeElement).left]);
  assert(focused[0] === "Skip to content", `the first tab stop is ${focused[0]}`);
  await ap.keyboard.press("Enter");
  assert((await ap.evaluate(() => document.activeElement.id)) === "main", "Enter on the skip link does not move focus to the content");
});

await adminCtx.close();
await browser.close();
server.kill("SIGINT");
if (failures) {
  console.log(`\n${failures} browser test(s) failed. Server log:\n${serverLog}`);
  process.exit(1);
}
console.log("\nall browser tests passed");
