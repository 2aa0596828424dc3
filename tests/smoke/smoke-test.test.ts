// scripts/smoke-test.mjs, the pipeline's SmokeTest, run against the local API (the same bundles behind an
// API Gateway-like gateway, on dynalite) and against a server that answers wrongly.

import { expect } from "chai";
import { execFile } from "node:child_process";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { buildFunctions } from "../../scripts/build-functions";
import { LOCAL_CREDENTIALS, LocalApi, startLocalApi } from "../../scripts/local-api";
import { ROOT } from "../helpers/stack-files";

const SCRIPT = join(ROOT, "scripts", "smoke-test.mjs");
type Result = { name: string; ok: boolean; detail: string };
type SmokeModule = { runSmokeTest(o: { baseUrl: string; mode?: string; runId?: string }): Promise<Result[]> };
const run = promisify(execFile);

describe("smoke test (scripts/smoke-test.mjs)", function () {
    this.timeout(60_000);
    let api: LocalApi;
    let smoke: SmokeModule;

    let savedLogLevel: string | undefined;

    before(async () => {
        savedLogLevel = process.env.LOG_LEVEL;
        process.env.LOG_LEVEL = "silent"; // the handlers' request logs (read per call)
        await buildFunctions({ quiet: true });
        api = await startLocalApi({ port: 0, quiet: true });
        smoke = (await import(SCRIPT)) as SmokeModule;
    });
    after(async () => {
        await api?.stop();
        if (savedLogLevel === undefined) delete process.env.LOG_LEVEL;
        else process.env.LOG_LEVEL = savedLogLevel;
    });

    const itemCount = async () => {
        const client = new DynamoDBClient({ endpoint: api.dynamoEndpoint, region: "us-east-1", credentials: LOCAL_CREDENTIALS });
        try {
            return (await client.send(new ScanCommand({ TableName: api.tableName, Select: "COUNT" }))).Count ?? 0;
        } finally {
            client.destroy();
        }
    };

    it("passes every check of the full mode against a working API, creating one product", async () => {
        const before = await itemCount();
        const results = await smoke.runSmokeTest({ baseUrl: api.url, mode: "full", runId: "t1" });
        expect(results.filter((r) => !r.ok)).to.deep.equal([]);
        expect(results.map((r) => r.name)).to.include.members([
            "create is 201 with the product and its Location",
            "find returns the created product",
            "creating the same id again is 409",
        ]);
        expect(await itemCount()).to.equal(before + 1);
    });

    it("writes nothing in read-only mode (production)", async () => {
        const before = await itemCount();
        const results = await smoke.runSmokeTest({ baseUrl: `${api.url}/`, mode: "read-only", runId: "t2" });
        expect(results).to.have.length(2);
        expect(results.every((r) => r.ok)).to.equal(true);
        expect(await itemCount()).to.equal(before);
    });

    it("runs as the pipeline runs it, from the environment, and exits 0", async () => {
        const { stdout } = await run(process.execPath, [SCRIPT], { env: { ...process.env, API_URL: api.url, SMOKE_TEST_MODE: "full" } });
        expect(stdout).to.match(/^PASS {2}create is 201/m);
        expect(stdout).to.match(/smoke test \(full\) of .*: 6 passed, 0 failed/);
    });

    describe("against an API that answers wrongly", () => {
        let server: Server;
        let url: string;
        before(async () => {
            // Says 200 and "{}" to everything: what a broken deployment or a wrong URL can look like.
            server = createServer((_, res) => res.writeHead(200, { "content-type": "text/plain" }).end("{}"));
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dev`;
        });
        after(() => new Promise((resolve) => server.close(resolve)));

        it("reports each failed check with what it got", async () => {
            const results = await smoke.runSmokeTest({ baseUrl: url, mode: "full", runId: "t3" });
            expect(results.filter((r) => r.ok)).to.deep.equal([]);
            expect(results.find((r) => r.name.startsWith("unknown id"))!.detail).to.equal("expected 404, got 200: {}");
        });

        it("exits 1 so the pipeline stops before the next stage", async () => {
            const error = await run(process.execPath, [SCRIPT, "--mode", "read-only", url]).then(
                () => undefined,
                (e) => e,
            );
            expect(error?.code).to.equal(1);
            expect(error.stdout).to.match(/^FAIL {2}unknown id is 404/m);
        });
    });

    it("refuses a missing URL or an unknown mode with a clear message (exit 2)", async () => {
        const noUrl = await run(process.execPath, [SCRIPT], { env: { ...process.env, API_URL: "" } }).catch((e) => e);
        expect(noUrl.code).to.equal(2);
        expect(noUrl.stderr).to.contain("the API URL must start with http:// or https://");
        const badMode = await run(process.execPath, [SCRIPT, "--mode", "everything", "https://example.invalid"]).catch((e) => e);
        expect(badMode.code).to.equal(2);
        expect(badMode.stderr).to.contain('mode must be "full" or "read-only"');
    });
});
