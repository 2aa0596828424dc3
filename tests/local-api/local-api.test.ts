/**
 * scripts/local-api.ts end to end over HTTP: started in-process on port 0, serving the real bundles
 * (built once in `before`) with the routes of the route table (functions/routes.json).
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildFunctions, ROOT } from "../../scripts/build-functions";
import { FUNCTION_SETTINGS, ROUTES } from "../../functions/route-table";
import { loadRoutes, startLocalApi, type LocalApi, type LocalFunction } from "../../scripts/local-api";
import { setEnv } from "../helpers/dynalite";

const SAMPLE = { id: "1001", title: "Amazon Echo", description: "Amazon Echo", price: "89.99" };

async function call(url: string, init?: RequestInit) {
    const res = await fetch(url, init);
    const text = await res.text();
    expect(res.headers.get("content-type"), `${init?.method ?? "GET"} ${url}`).to.equal("application/json");
    return { status: res.status, headers: res.headers, body: JSON.parse(text) };
}
const postJson = (url: string, body: unknown) =>
    call(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
    });

describe("local API (scripts/local-api.ts)", function () {
    let restoreLogs: () => void;
    before(async () => {
        restoreLogs = setEnv({ LOG_LEVEL: "silent" });
        await buildFunctions({ quiet: true });
    });
    after(() => restoreLogs?.());

    it("serves every route of the route table (functions/routes.json) from its bundle", () => {
        const app = loadRoutes();
        expect(app.service).to.equal("product-catalog-service");
        const routes = app.routes.map((r) => ({
            key: r.functionKey,
            method: r.method,
            resource: r.resource,
            bundle: relative(ROOT, r.bundle),
            exportName: r.exportName,
            timeoutMs: r.timeoutMs,
        }));
        expect(routes).to.deep.equal(
            ROUTES.map((r) => ({
                key: r.functionKey,
                method: r.method,
                resource: `/${r.path}`,
                bundle: `build/${r.bundle}/index.js`,
                exportName: "handler",
                timeoutMs: FUNCTION_SETTINGS.timeoutSeconds * 1000,
            })),
        );
        expect(routes).to.deep.include({
            key: "createProduct",
            method: "POST",
            resource: "/product/create",
            bundle: "build/create-product/index.js",
            exportName: "handler",
            timeoutMs: 10_000,
        });
        expect(routes).to.deep.include({
            key: "findProduct",
            method: "GET",
            resource: "/product/find/{id}",
            bundle: "build/find-product/index.js",
            exportName: "handler",
            timeoutMs: 10_000,
        });
    });

    describe("in memory", () => {
        let api: LocalApi;
        before(async () => (api = await startLocalApi({ port: 0, quiet: true })));
        after(async () => api?.stop());

        it("the sample: create → 201 + Location, find → 200 with the product", async () => {
            const created = await postJson(`${api.url}/product/create`, SAMPLE);
            expect(created.status).to.equal(201);
            expect(created.body).to.deep.equal({ ...SAMPLE, price: 89.99 });
            expect(created.headers.get("location")).to.equal("/product/find/1001");
            const found = await call(`${api.url}${created.headers.get("location")}`);
            expect(found.status).to.equal(200);
            expect(found.body).to.deep.equal({ ...SAMPLE, price: 89.99 });
        });

        it("409 for a duplicate, 400 for bad input, 404 for a missing product", async () => {
            await postJson(`${api.url}/product/create`, { ...SAMPLE, id: "dup" });
            expect(await postJson(`${api.url}/product/create`, { ...SAMPLE, id: "dup" })).to.deep.include({
                status: 409,
                body: { message: "Product dup already exists" },
            });
            expect(await postJson(`${api.url}/product/create`, "{oops")).to.have.property("status", 400);
            expect(await postJson(`${api.url}/product/create`, { ...SAMPLE, id: "x", price: "free" })).to.deep.include({
                status: 400,
                body: { message: 'price must be a number or a decimal string such as "89.99"' },
            });
            expect(await call(`${api.url}/product/find/none`)).to.deep.include({
                status: 404,
                body: { message: "Product none not found" },
            });
        });

        it("passes Content-Type through as API Gateway does: the handler's 415s reach the client", async () => {
            const create = `${api.url}/product/create`;
            const body = JSON.stringify({ ...SAMPLE, id: "ct-1" });
            // fetch labels a string body text/plain;charset=UTF-8 when no type is given: what a plain HTML form posts.
            expect(await call(create, { method: "POST", body })).to.deep.include({
                status: 415,
                body: { message: "Content-Type must be application/json: send Content-Type: application/json" },
            });
            const latin1 = Buffer.from(JSON.stringify({ ...SAMPLE, id: "ct-2", title: "Caf\u00e9" }), "latin1");
            expect(
                await call(create, { method: "POST", headers: { "content-type": "application/json; charset=iso-8859-1" }, body: latin1 }),
            ).to.deep.include({
                status: 415,
                body: {
                    message: "Only UTF-8 request bodies are accepted: send Content-Type: application/json; charset=utf-8 (or no charset)",
                },
            });
            expect(
                (await call(create, { method: "POST", headers: { "content-type": "Application/JSON;charset=UTF-8" }, body })).status,
            ).to.equal(201);
        });

        it("passes repeated headers through in multiValueHeaders (two Content-Types → 415)", async () => {
            const { port } = new URL(api.url);
            const payload = JSON.stringify({ ...SAMPLE, id: "ct-3" });
            const { status, body } = await new Promise<{ status: number; body: string }>((ok, fail) => {
                const req = httpRequest(
                    {
                        host: "127.0.0.1",
                        port,
                        method: "POST",
                        path: "/product/create",
                        // A raw header list (the same name twice, as a client may send it) gets no automatic Host.
                        headers: [
                            "Host",
                            `127.0.0.1:${port}`,
                            "Content-Type",
                            "application/json",
                            "content-type",
                            "text/plain",
                            "Content-Length",
                            String(payload.length),
                        ],
                    },
                    (res) => {
                        let text = "";
                        res.setEncoding("utf8").on("data", (c) => (text += c));
                        res.on("end", () => ok({ status: res.statusCode ?? 0, body: text }));
                    },
                );
                req.on("error", fail);
                req.end(payload);
            });
            expect({ status, body: JSON.parse(body) }).to.deep.equal({
                status: 415,
                body: { message: "Content-Type must be sent once: send Content-Type: application/json" },
            });
        });

        it("handler responses keep their nosniff and no-store headers", async () => {
            for (const res of [await postJson(`${api.url}/product/create`, "{"), await call(`${api.url}/product/find/1001`)]) {
                expect(res.headers.get("x-content-type-options")).to.equal("nosniff");
                expect(res.headers.get("cache-control")).to.equal("no-store");
            }
        });

        it("unknown route → 404 Not Found; undeclared method → 405 with Allow", async () => {
            expect(await call(`${api.url}/nope`)).to.deep.include({ status: 404, body: { message: "Not Found" } });
            expect(await call(`${api.url}/product/find/1001/extra`)).to.have.property("status", 404);
            const wrong = await call(`${api.url}/product/create`);
            expect(wrong).to.deep.include({ status: 405, body: { message: "Method Not Allowed" } });
            expect(wrong.headers.get("allow")).to.equal("POST");
        });

        it("refuses a second instance in the same process (shared env)", async () => {
            let err: unknown;
            await startLocalApi({ port: 0, quiet: true }).catch((e) => (err = e));
            expect(String(err)).to.match(/already running/);
        });
    });

    it("--data-dir persists across restarts", async () => {
        const dir = mkdtempSync(join(tmpdir(), "local-api-data-"));
        try {
            let api = await startLocalApi({ port: 0, quiet: true, dataDir: dir });
            try {
                expect((await postJson(`${api.url}/product/create`, { ...SAMPLE, id: "kept" })).status).to.equal(201);
            } finally {
                await api.stop();
            }
            api = await startLocalApi({ port: 0, quiet: true, dataDir: dir });
            try {
                expect(await call(`${api.url}/product/find/kept`)).to.deep.include({
                    status: 200,
                    body: { ...SAMPLE, id: "kept", price: 89.99 },
                });
            } finally {
                await api.stop();
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("API Gateway failure semantics (throwaway functions)", () => {
        let dir: string;
        let api: LocalApi;
        before(async () => {
            dir = mkdtempSync(join(tmpdir(), "local-api-fail-"));
            const fns: Record<string, string> = {
                boom: "exports.handler = async () => { throw new Error('kaboom'); };",
                malformed: "exports.handler = async () => ({ body: 'no status' });",
                slow: "exports.handler = () => new Promise((r) => setTimeout(() => r({ statusCode: 200, body: '{}' }), 2000).unref());",
                echo: "exports.handler = async (e, c) => ({ statusCode: 200, body: JSON.stringify({ e, fn: c.functionName, left: c.getRemainingTimeInMillis() }) });",
            };
            const functions: LocalFunction[] = [];
            for (const [name, code] of Object.entries(fns)) {
                mkdirSync(join(dir, name));
                writeFileSync(join(dir, name, "index.js"), code);
                functions.push({
                    functionKey: name,
                    method: name === "echo" ? "ANY" : "GET",
                    path: name === "echo" ? "echo/{rest+}" : name,
                    file: join(dir, name, "index.js"),
                    export: "handler",
                    timeoutSeconds: name === "slow" ? 0.2 : 6,
                });
            }
            api = await startLocalApi({ port: 0, quiet: true, app: { service: "gw-test", functions } });
        });
        after(async () => {
            await api?.stop();
            rmSync(dir, { recursive: true, force: true });
        });

        it("a handler that throws → 502 Internal server error (not 200)", async () => {
            expect(await call(`${api.url}/boom`)).to.deep.include({ status: 502, body: { message: "Internal server error" } });
        });
        it("a malformed proxy result → 502", async () => {
            expect(await call(`${api.url}/malformed`)).to.deep.include({ status: 502, body: { message: "Internal server error" } });
        });
        it("past the function timeout → 504", async () => {
            expect(await call(`${api.url}/slow`)).to.deep.include({ status: 504, body: { message: "Endpoint request timed out" } });
        });
        it("builds a REST proxy event: greedy params, query, headers, body, requestContext", async () => {
            const res = await call(`${api.url}/echo/a/b%20c?x=1&x=2&y=3`, { method: "PUT", headers: { "X-Thing": "v" }, body: "hello" });
            expect(res.status).to.equal(200);
            const { e, fn, left } = res.body;
            expect(fn).to.equal("gw-test-local-echo");
            expect(left).to.be.within(1, 6000);
            expect(e).to.deep.include({
                httpMethod: "PUT",
                path: "/echo/a/b%20c",
                resource: "/echo/{rest+}",
                pathParameters: { rest: "a/b c" },
                queryStringParameters: { x: "2", y: "3" },
                multiValueQueryStringParameters: { x: ["1", "2"], y: ["3"] },
                body: "hello",
                isBase64Encoded: false,
            });
            expect(e.headers["X-Thing"]).to.equal("v");
            expect(e.multiValueHeaders["X-Thing"]).to.deep.equal(["v"]);
            expect(e.requestContext).to.include({
                stage: "local",
                httpMethod: "PUT",
                path: "/echo/a/b%20c",
                resourcePath: "/echo/{rest+}",
            });
            expect(e.requestContext.requestId).to.match(/^[0-9a-f-]{36}$/);
            expect(res.headers.get("x-amzn-requestid")).to.equal(e.requestContext.requestId);
        });
    });
});
