#!/usr/bin/env node
// Smoke test of a deployed product API, run by the pipeline after each Deploy (buildspec-smoke.yml) and by hand:
//
//   node scripts/smoke-test.mjs https://abc123.execute-api.us-east-1.amazonaws.com/dev            (full)
//   node scripts/smoke-test.mjs --mode read-only https://…/prod                                   (no writes)
//   API_URL=… SMOKE_TEST_MODE=read-only node scripts/smoke-test.mjs
//
// full:      creates a uniquely named product, reads it back, and checks that a duplicate is refused (409),
//            an unknown id is 404 and a bad body is 400, each with a JSON message.
// read-only: only requests that cannot write: an unknown id is 404, a malformed body is refused with 400.
// Plain Node.js 22 with no dependencies, so the pipeline runs it without installing anything.

const TIMEOUT_MS = 10_000;

/** One HTTP exchange; the first ones retry while a fresh deployment propagates (network errors, 5xx). */
async function call(fetchImpl, method, url, body, { retries = 0 } = {}) {
    for (let attempt = 0; ; attempt++) {
        try {
            const response = await fetchImpl(url, {
                method,
                headers: body === undefined ? {} : { "content-type": "application/json" },
                body,
                signal: AbortSignal.timeout(TIMEOUT_MS),
            });
            const text = await response.text();
            if (response.status >= 500 && attempt < retries) throw new Error(`HTTP ${response.status}`);
            let json;
            try {
                json = JSON.parse(text);
            } catch {
                json = undefined;
            }
            return { status: response.status, contentType: response.headers.get("content-type") ?? "", json, text };
        } catch (error) {
            if (attempt >= retries) throw new Error(`${method} ${url} failed: ${error.message}`);
            await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
        }
    }
}

/** The same JSON value, whatever the key order. */
const canonical = (value) =>
    JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v));

function expectJsonError(response, status) {
    if (response.status !== status) return `expected ${status}, got ${response.status}: ${response.text.slice(0, 200)}`;
    if (!response.contentType.includes("application/json")) return `expected a JSON response, got "${response.contentType}"`;
    if (typeof response.json?.message !== "string" || response.json.message === "") return "expected a JSON body with a message";
    return undefined;
}

/**
 * Runs the checks for `mode` against `baseUrl`; resolves to the list of {name, ok, detail}. Never throws for a
 * failed check, so every check is reported.
 */
export async function runSmokeTest({
    baseUrl,
    mode = "full",
    fetchImpl = globalThis.fetch,
    runId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
}) {
    if (!/^https?:\/\//.test(baseUrl ?? ""))
        throw new Error(`the API URL must start with http:// or https://; got ${JSON.stringify(baseUrl)}`);
    if (!["full", "read-only"].includes(mode)) throw new Error(`mode must be "full" or "read-only"; got ${JSON.stringify(mode)}`);
    const base = baseUrl.replace(/\/+$/, "");
    const results = [];
    const check = async (name, fn) => {
        try {
            const problem = await fn();
            results.push({ name, ok: problem === undefined, detail: problem ?? "" });
        } catch (error) {
            results.push({ name, ok: false, detail: error.message });
        }
    };

    const missingId = `smoke-missing-${runId}`;
    await check("unknown id is 404 with a JSON message", async () =>
        expectJsonError(await call(fetchImpl, "GET", `${base}/product/find/${missingId}`, undefined, { retries: 4 }), 404),
    );
    await check("malformed JSON is 400 with a JSON message", async () =>
        expectJsonError(await call(fetchImpl, "POST", `${base}/product/create`, "{not json"), 400),
    );

    if (mode === "full") {
        const product = {
            id: `smoke-${runId}`,
            title: "Smoke test product",
            description: `Created by the pipeline smoke test ${runId}`,
            price: 1.5,
        };
        await check("create is 201 with the product and its Location", async () => {
            const r = await call(fetchImpl, "POST", `${base}/product/create`, JSON.stringify(product));
            if (r.status !== 201) return `expected 201, got ${r.status}: ${r.text.slice(0, 200)}`;
            if (canonical(r.json) !== canonical(product)) return `expected ${JSON.stringify(product)}, got ${r.text.slice(0, 200)}`;
            return undefined;
        });
        await check("find returns the created product", async () => {
            const r = await call(fetchImpl, "GET", `${base}/product/find/${encodeURIComponent(product.id)}`);
            if (r.status !== 200) return `expected 200, got ${r.status}: ${r.text.slice(0, 200)}`;
            if (canonical(r.json) !== canonical(product)) return `expected ${JSON.stringify(product)}, got ${r.text.slice(0, 200)}`;
            return undefined;
        });
        await check("creating the same id again is 409", async () =>
            expectJsonError(
                await call(fetchImpl, "POST", `${base}/product/create`, JSON.stringify({ ...product, title: "Overwrite attempt" })),
                409,
            ),
        );
        await check("a negative price is 400 with a JSON message", async () =>
            expectJsonError(
                await call(fetchImpl, "POST", `${base}/product/create`, JSON.stringify({ ...product, id: `${product.id}-bad`, price: -1 })),
                400,
            ),
        );
    }
    return results;
}

async function main(argv) {
    let mode = process.env.SMOKE_TEST_MODE || "full";
    let url = process.env.API_URL;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--mode") mode = argv[++i];
        else if (argv[i] === "--help" || argv[i] === "-h") {
            console.log("usage: node scripts/smoke-test.mjs [--mode full|read-only] <api-url>   (or API_URL / SMOKE_TEST_MODE)");
            return 0;
        } else url = argv[i];
    }
    const results = await runSmokeTest({ baseUrl: url, mode });
    for (const r of results) console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name}${r.ok ? "" : `: ${r.detail}`}`);
    const failed = results.filter((r) => !r.ok).length;
    console.log(`smoke test (${mode}) of ${url}: ${results.length - failed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (error) => {
            console.error(`smoke test: ${error.message}`);
            process.exit(2);
        },
    );
}
