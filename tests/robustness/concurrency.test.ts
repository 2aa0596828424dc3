/**
 * Concurrency: the create path must never lose or overwrite data, and the gateway must never mix requests up.
 *
 *   - N concurrent creates of ONE id with N different bodies → exactly one 201, N-1 × 409, and the stored item
 *     is the 201's body (which must be the body that request sent);
 *   - 1,000 distinct creates, 100 in flight at a time (see mapPool) → all 201, all readable afterwards, same body;
 *   - the same two checks over real HTTP through scripts/local-api.ts (the shipped bundles behind the gateway).
 *
 * What this does and does NOT prove (dynalite ≠ DynamoDB):
 *   dynalite runs in this process on one event loop. For PutItem it takes an in-process per-key lock around
 *   "read existing item → evaluate ConditionExpression → write" (node_modules/dynalite/actions/putItem.js), so
 *   conditional writes to one item are strictly serialised. DynamoDB documents the same per-item guarantee for
 *   conditional writes, but implements it in a distributed, replicated system that this test cannot exercise.
 *   The requests here are really concurrent up to dynalite (the SDK keeps up to 50 sockets open and queues the
 *   rest), so what the test proves is about OUR code: the create handler relies on the atomic
 *   conditional write and has no read-then-write window. Remove the ConditionExpression, or replace it with a
 *   GetItem check followed by a plain PutItem, and the one-id test fails (checked by hand when this was written).
 *   Not covered, because dynalite neither throttles nor drops responses: the SDK retrying a PutItem whose first
 *   attempt did succeed (e.g. the response timed out) gets ConditionalCheckFailed, so that client sees a 409 for
 *   its own create. Nothing is lost or overwritten; the 409 is just misleading.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildFunctions } from "../../scripts/build-functions";
import { LOCAL_CREDENTIALS, productApp, startLocalApi, type LocalApi } from "../../scripts/local-api";
import { setEnv, startTestDynamo, TEST_REGION, type TestDynamo } from "../helpers/dynalite";
import { createEventFor, findEventFor } from "./arbitraries";
import { invoke, loadFreshHandlers, type Handler, type Product } from "./harness";

const product = (id: string, i: number): Product => ({
    id,
    title: `title ${i} for ${id}`,
    description: `body #${i} ${"·".repeat(i % 17)} ${id}`,
    price: (i * 137 + 1) / 100,
});
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

/**
 * Start delays of 0-3 ms from a seeded generator: without them the request issued first nearly always wins,
 * so "stored = winner" would only ever be checked against request #0.
 */
function jitter(seed: number) {
    let x = seed >>> 0 || 1;
    return () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return new Promise<void>((ok) => setTimeout(ok, (x >>> 0) % 4));
    };
}

/**
 * Runs fn over items with at most `limit` in flight, results in input order. Why bounded: the handlers' SDK
 * client has 50 sockets, and its 1 s connectionTimeout timer already runs while a request waits in the agent's
 * queue for a free socket. With all 1,000 in flight the last ones waited ~0.9 s here, one slow CI machine away
 * from TimeoutError → 503. (On Lambda a container serves one request at a time, so that queue never forms.)
 */
async function mapPool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
}

async function countItems(doc: DynamoDBDocumentClient, tableName: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
        const out = await doc.send(
            new ScanCommand({ TableName: tableName, Select: "COUNT", ExclusiveStartKey: start, ConsistentRead: true }),
        );
        count += out.Count ?? 0;
        start = out.LastEvaluatedKey;
    } while (start);
    return count;
}

describe("robustness: concurrency", function () {
    this.timeout(120_000);

    describe("in-process handlers against dynalite", () => {
        let db: TestDynamo;
        let restoreEnv: () => void;
        let create: Handler;
        let find: Handler;
        let created = 0;

        before(async () => {
            db = await startTestDynamo("products-concurrency");
            restoreEnv = setEnv(db.env);
            ({ create, find } = loadFreshHandlers());
        });
        after(async () => {
            await db?.stop();
            restoreEnv?.();
        });

        it("50 concurrent creates of ONE id with 50 different bodies → one 201, 49 × 409, stored = the winner's body (20 ids)", async () => {
            const ROUNDS = 20;
            const N = 50;
            const t0 = performance.now();
            const winners: number[] = [];
            for (let round = 0; round < ROUNDS; round++) {
                const id = `race-${round}`;
                const bodies = Array.from({ length: N }, (_, i) => product(id, i));
                const wait = jitter(round + 1);
                const results = await Promise.all(
                    bodies.map(async (b) => (await wait(), invoke(create, createEventFor(JSON.stringify(b), false)))),
                );
                const statuses = results.map((r) => r.status);
                expect(
                    statuses.filter((s) => s === 201),
                    `201s for ${id}: ${statuses.join(",")}`,
                ).to.have.length(1);
                expect(
                    statuses.filter((s) => s === 409),
                    `409s for ${id}`,
                ).to.have.length(N - 1);
                const w = statuses.indexOf(201);
                winners.push(w);
                expect(results[w].body, "the 201 answers with the body its own request sent").to.deep.equal(bodies[w]);
                for (const r of results.filter((x) => x.status === 409))
                    expect(r.body).to.deep.equal({ message: `Product ${id} already exists` });
                const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id }, ConsistentRead: true }));
                expect(Item, "stored item = the winner's body").to.deep.equal(results[w].body);
                const found = await invoke(find, findEventFor({ id }));
                expect({ status: found.status, body: found.body }).to.deep.equal({ status: 200, body: results[w].body });
                created++;
            }
            expect(await countItems(db.doc, db.tableName)).to.equal(created);
            console.log(`      ${ROUNDS} rounds × ${N} same-id creates: ${ms(t0)}; winning request index per round: ${winners.join(",")}`);
        });

        it("1,000 distinct concurrent creates (100 in flight) → all 201, all readable with the same body", async () => {
            const N = 1000;
            const IN_FLIGHT = 100;
            const bodies = Array.from({ length: N }, (_, i) => product(`bulk-${i}`, i));
            let t0 = performance.now();
            const results = await mapPool(bodies, IN_FLIGHT, (b) => invoke(create, createEventFor(JSON.stringify(b), false)));
            const createTime = ms(t0);
            results.forEach((r, i) =>
                expect({ status: r.status, body: r.body }, `create #${i}`).to.deep.equal({ status: 201, body: bodies[i] }),
            );
            created += N;
            t0 = performance.now();
            const found = await mapPool(bodies, IN_FLIGHT, (b) => invoke(find, findEventFor({ id: b.id })));
            const findTime = ms(t0);
            found.forEach((r, i) =>
                expect({ status: r.status, body: r.body }, `find #${i}`).to.deep.equal({ status: 200, body: bodies[i] }),
            );
            expect(await countItems(db.doc, db.tableName), "no extra or missing items").to.equal(created);
            console.log(`      ${N} creates, ${IN_FLIGHT} in flight: ${createTime}; ${N} finds, ${IN_FLIGHT} in flight: ${findTime}`);
        });
    });

    describe("over HTTP through the local API gateway (scripts/local-api.ts, shipped bundles)", () => {
        let dir: string;
        let api: LocalApi;
        let doc: DynamoDBDocumentClient;
        let restoreLogs: () => void;
        let created = 0;

        before(async () => {
            restoreLogs = setEnv({ LOG_LEVEL: "silent" });
            // Bundles are built into a temp dir (served from there) so the shared build/ is not touched.
            dir = mkdtempSync(join(tmpdir(), "robustness-api-"));
            await buildFunctions({ outDir: join(dir, "build"), quiet: true });
            api = await startLocalApi({ port: 0, quiet: true, app: productApp(join(dir, "build")) });
            doc = DynamoDBDocumentClient.from(
                new DynamoDBClient({ endpoint: api.dynamoEndpoint, region: TEST_REGION, credentials: LOCAL_CREDENTIALS }),
            );
        });
        after(async () => {
            doc?.destroy();
            await api?.stop();
            restoreLogs?.();
            if (dir) rmSync(dir, { recursive: true, force: true });
        });

        const post = async (body: unknown) => {
            const res = await fetch(`${api.url}/product/create`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify(body),
            });
            expect(res.headers.get("content-type")).to.equal("application/json");
            return { status: res.status, location: res.headers.get("location"), body: JSON.parse(await res.text()) };
        };
        const get = async (path: string) => {
            const res = await fetch(`${api.url}${path}`);
            expect(res.headers.get("content-type")).to.equal("application/json");
            return { status: res.status, body: JSON.parse(await res.text()) };
        };

        it("200 concurrent POSTs with distinct ids → each gets its own product back; 200 concurrent GETs read them back", async () => {
            const N = 200;
            const bodies = Array.from({ length: N }, (_, i) => product(`http-${i}`, i));
            let t0 = performance.now();
            const results = await Promise.all(bodies.map(post));
            const createTime = ms(t0);
            results.forEach((r, i) => {
                expect({ status: r.status, body: r.body }, `POST #${i}`).to.deep.equal({ status: 201, body: bodies[i] });
                expect(r.location).to.equal(`/product/find/${bodies[i].id}`);
            });
            created += N;
            t0 = performance.now();
            const found = await Promise.all(results.map((r) => get(r.location!)));
            const findTime = ms(t0);
            found.forEach((r, i) => expect(r, `GET #${i}`).to.deep.equal({ status: 200, body: bodies[i] }));
            expect(await countItems(doc, api.tableName)).to.equal(created);
            console.log(`      HTTP: ${N} concurrent POSTs ${createTime}; ${N} concurrent GETs ${findTime}`);
        });

        it("50 concurrent POSTs of ONE id over HTTP → one 201, 49 × 409, stored = the winner's body", async () => {
            const N = 50;
            const bodies = Array.from({ length: N }, (_, i) => product("http-race", i));
            const t0 = performance.now();
            const wait = jitter(42);
            const results = await Promise.all(bodies.map(async (b) => (await wait(), post(b))));
            const statuses = results.map((r) => r.status);
            expect(
                statuses.filter((s) => s === 201),
                statuses.join(","),
            ).to.have.length(1);
            expect(statuses.filter((s) => s === 409)).to.have.length(N - 1);
            const w = statuses.indexOf(201);
            expect(results[w].body).to.deep.equal(bodies[w]);
            created++;
            const { Item } = await doc.send(new GetCommand({ TableName: api.tableName, Key: { id: "http-race" }, ConsistentRead: true }));
            expect(Item).to.deep.equal(bodies[w]);
            expect(await get("/product/find/http-race")).to.deep.equal({ status: 200, body: bodies[w] });
            expect(await countItems(doc, api.tableName)).to.equal(created);
            console.log(`      HTTP: ${N} same-id POSTs ${ms(t0)}; winner = request #${w}`);
        });
    });
});
