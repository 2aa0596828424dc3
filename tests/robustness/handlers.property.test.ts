/**
 * "Prove it safe": property-based tests (fast-check) against the REAL exported handlers of
 * functions/create-product.ts and functions/find-product.ts, in-process, with a real dynalite behind the
 * SDK (no mocked client). Every generated input is checked for:
 *   - never a 5xx, never a rejected handler promise;
 *   - Content-Type application/json, nosniff, no-store, never isBase64Encoded, a JSON body, and on every 4xx a
 *     non-empty `message` in printable ASCII (no client text such as control characters is ever reflected);
 *   - the Content-Type rule first (415 unless exactly one application/json, UTF-8 or no charset), then the body;
 *   - the status the documented contract demands (independent oracle in ./arbitraries.ts);
 *   - rejected creates write nothing: the table holds exactly the products some create answered 201 for
 *     (item count checked every 250 requests and after each property, full content at the end; near-valid
 *     bodies additionally read their id back after each request);
 *   - valid products round-trip: 201 → find 200 with the same product, price as a number; 409 changes nothing.
 *
 * Seed: fixed (see harness.ts) so CI is reproducible; FC_SEED=<int> explores others, FC_SCALE=<n> scales runs.
 * A failure prints fast-check's seed/path and the shrunk counterexample.
 */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { expect } from "chai";
import fc from "fast-check";
import { setEnv, startTestDynamo, type TestDynamo } from "../helpers/dynalite";
import {
    brokenCaseArb,
    createEventFor,
    expectedCreate,
    findEventFor,
    findParamsArb,
    isValidId,
    jsonHeadersArb,
    oddHeadersArb,
    rawCaseArb,
    requestHeadersArb,
    validCaseArb,
    validIdArb,
    type CreateExpectation,
} from "./arbitraries";
import {
    counts,
    fcParams,
    header,
    invoke,
    loadFreshHandlers,
    runs,
    sawStatus,
    SEED,
    statusSummary,
    TableModel,
    tick,
    type Handler,
} from "./harness";

/** Property names, as printed in the summary. */
const P = {
    json: "create: arbitrary JSON values",
    broken: "create: near-valid, one field broken",
    raw: "create: raw/base64/huge bodies",
    roundTrip: "create→find: valid products round-trip",
    find: "find: ids in the path",
    contentType: "create: Content-Type of valid products",
    headers: "create: other headers irrelevant (metamorphic)",
};
const RUNS = { jsonValues: 2000, nearValid: 2000, rawBodies: 2000, roundTrip: 2500, findIds: 2000, contentType: 1000, headers: 1000 };

describe("robustness: generated inputs against the real handlers + dynalite", function () {
    this.timeout(120_000);
    let db: TestDynamo;
    let restoreEnv: () => void;
    let create: Handler;
    let find: Handler;
    let model: TableModel;
    let sinceCountCheck = 0;
    const started = Date.now();
    const params = fcParams;

    before(async () => {
        db = await startTestDynamo("products-robustness");
        restoreEnv = setEnv(db.env);
        ({ create, find } = loadFreshHandlers());
        model = new TableModel(db.doc, db.tableName);
        console.log(`      fast-check seed ${SEED} (FC_SEED=<int> to change, FC_SCALE=<n> to scale numRuns)`);
    });

    after(async () => {
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        console.log("      generated inputs per property:");
        for (const [name, n] of counts)
            console.log(`        ${String(n).padStart(6)}  ${name.padEnd(46)} responses: ${statusSummary(name)}`);
        console.log(
            `        ${String(total).padStart(6)}  TOTAL (seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s, ${model?.items.size ?? 0} products created)`,
        );
        await db?.stop();
        restoreEnv?.();
    });

    /** POST /product/create; checks the universal invariants, then the contract's status and the model. */
    async function checkCreate(name: string, event: APIGatewayProxyEvent, exp: CreateExpectation) {
        const existed = exp.status === 201 && model.items.has(exp.product.id);
        const { status, body, res } = await invoke(create, event);
        sawStatus(name, status);
        if (status === 201 && !model.items.has(body.id)) model.items.set(body.id, body); // keep the model true even if an assertion below fails
        if (exp.status === 201) {
            const { product } = exp;
            if (existed) {
                expect({ status, body }, "an existing id").to.deep.equal({
                    status: 409,
                    body: { message: `Product ${product.id} already exists` },
                });
            } else {
                expect(status, `valid new product; got ${JSON.stringify(body).slice(0, 200)}`).to.equal(201);
                expect(body, "201 body = the product as stored").to.deep.equal(product);
                expect(body.price).to.be.a("number");
                expect(header(res, "Location")).to.equal(`/dev/product/find/${encodeURIComponent(product.id)}`);
            }
        } else {
            expect(status, `contract says ${exp.status}; got ${JSON.stringify(body).slice(0, 200)}`).to.equal(exp.status);
            expect(Object.keys(body)).to.deep.equal(["message"]);
        }
        if (++sinceCountCheck >= 250) {
            sinceCountCheck = 0;
            await model.expectCount("batch check");
        }
        return { status, body };
    }

    afterEach(async () => model && (await model.expectCount("after property")));

    it(`create: arbitrary JSON values and field-shaped objects with arbitrary values (${runs(RUNS.jsonValues)} inputs)`, async () => {
        const json = fc.jsonValue();
        const body = fc.oneof(
            json.map((v) => JSON.stringify(v)),
            fc
                .record({ id: fc.oneof(validIdArb, json), title: json, description: json, price: json }, { requiredKeys: [] })
                .map((o) => JSON.stringify(o)),
            fc.dictionary(fc.constantFrom("id", "title", "description", "price", "Price", ""), json).map((o) => JSON.stringify(o)),
        );
        await fc.assert(
            fc.asyncProperty(body, requestHeadersArb, async (b, headers) => {
                tick(P.json);
                await checkCreate(P.json, createEventFor(b, false, headers), expectedCreate(b, false, headers));
            }),
            params(RUNS.jsonValues),
        );
    });

    it(`create: near-valid products with exactly one field broken → 400 naming the field, nothing written (${runs(RUNS.nearValid)} inputs)`, async () => {
        await fc.assert(
            fc.asyncProperty(brokenCaseArb, async (c) => {
                tick(P.broken);
                const exp = expectedCreate(c.body, false);
                expect(exp.status, `generator produced a valid body for ${c.what}`).not.to.equal(201);
                const { body } = await checkCreate(P.broken, createEventFor(c.body, false), exp);
                if (exp.status === 400) {
                    const named = c.field === "unknown" ? /unknown field/ : new RegExp(`\\b${c.field}\\b`);
                    expect(body.message, c.what).to.match(named);
                    if (c.message !== undefined) expect(body.message, c.what).to.equal(c.message);
                }
                if (isValidId(c.id)) {
                    const { Item } = await db.doc.send(
                        new GetCommand({ TableName: db.tableName, Key: { id: c.id }, ConsistentRead: true }),
                    );
                    expect(Item, `item ${c.id} after a rejected create (${c.what})`).to.deep.equal(model.items.get(c.id));
                }
            }),
            params(RUNS.nearValid),
        );
    });

    it(`create: random strings/bytes, base64, huge and boundary-sized bodies, odd headers (${runs(RUNS.rawBodies)} inputs)`, async () => {
        await fc.assert(
            fc.asyncProperty(rawCaseArb, async (c) => {
                tick(P.raw);
                await checkCreate(
                    P.raw,
                    createEventFor(c.body, c.isBase64Encoded, c.headers),
                    expectedCreate(c.body, c.isBase64Encoded, c.headers),
                );
            }),
            params(RUNS.rawBodies),
        );
    });

    it(`create → find round trip of valid products in every spelling; a 409 changes nothing (${runs(RUNS.roundTrip)} inputs)`, async () => {
        await fc.assert(
            fc.asyncProperty(validCaseArb, async (c) => {
                tick(P.roundTrip);
                const exp = expectedCreate(c.body, c.isBase64Encoded, c.headers);
                expect(exp, "generator/oracle agree the product is valid").to.deep.equal({ status: 201, product: c.product });
                await checkCreate(P.roundTrip, createEventFor(c.body, c.isBase64Encoded, c.headers), exp);
                const found = await invoke(find, findEventFor({ id: c.product.id }, c.headers));
                sawStatus(P.roundTrip, found.status);
                expect(found.status).to.equal(200);
                expect(found.body, "find returns what the (first) create stored").to.deep.equal(model.items.get(c.product.id));
                expect(found.body.price).to.be.a("number");
            }),
            params(RUNS.roundTrip),
        );
    });

    it(`find: ids in the path — unicode, slashes, dot segments, empty, very long, percent-encoded, missing (${runs(RUNS.findIds)} inputs)`, async () => {
        const existing = [...model.items.keys()];
        expect(existing.length, "the round-trip property ran first").to.be.greaterThan(100);
        await fc.assert(
            fc.asyncProperty(findParamsArb(existing), requestHeadersArb, async (pp, headers) => {
                tick(P.find);
                const { status, body } = await invoke(find, findEventFor(pp, headers));
                sawStatus(P.find, status);
                const id = pp?.id;
                if (!isValidId(id)) {
                    expect(status, `id ${JSON.stringify(id)?.slice(0, 80)}`).to.equal(400);
                    expect(body.message).to.match(/\bid\b/);
                } else if (model.items.has(id)) {
                    expect({ status, body }).to.deep.equal({ status: 200, body: model.items.get(id) });
                } else {
                    expect({ status, body }).to.deep.equal({ status: 404, body: { message: `Product ${id} not found` } });
                }
            }),
            params(RUNS.findIds),
        );
    });

    it(`create: a valid product is 415 and written nowhere unless the Content-Type is accepted (${runs(RUNS.contentType)} inputs)`, async () => {
        const headers = fc.oneof(jsonHeadersArb, oddHeadersArb);
        await fc.assert(
            fc.asyncProperty(validCaseArb, headers, async (c, h) => {
                tick(P.contentType);
                const exp = expectedCreate(c.body, c.isBase64Encoded, h);
                const { status } = await checkCreate(P.contentType, createEventFor(c.body, c.isBase64Encoded, h), exp);
                if (exp.status === 415) {
                    const { Item } = await db.doc.send(
                        new GetCommand({ TableName: db.tableName, Key: { id: c.product.id }, ConsistentRead: true }),
                    );
                    expect(Item, `item ${c.product.id} after a 415`).to.deep.equal(model.items.get(c.product.id));
                } else {
                    expect(status, "accepted Content-Type").to.be.oneOf([201, 409]);
                }
            }),
            // Another seed than the round-trip property's, whose ids (same arbitrary, same seed) all exist by now.
            { ...params(RUNS.contentType), seed: SEED + 1 },
        );
    });

    it(`create: headers besides an accepted Content-Type never change the outcome of a rejected request (${runs(RUNS.headers)} inputs, 2 calls each)`, async () => {
        const rejected = fc
            .oneof(
                brokenCaseArb.map((c) => ({ body: c.body as string | null | undefined, isBase64Encoded: false })),
                rawCaseArb.map((c) => ({ body: c.body, isBase64Encoded: c.isBase64Encoded })),
            )
            .filter((c) => expectedCreate(c.body, c.isBase64Encoded).status !== 201);
        await fc.assert(
            fc.asyncProperty(rejected, jsonHeadersArb, async (c, headers) => {
                tick(P.headers);
                const exp = expectedCreate(c.body, c.isBase64Encoded);
                const plain = await checkCreate(P.headers, createEventFor(c.body, c.isBase64Encoded), exp);
                const odd = await checkCreate(P.headers, createEventFor(c.body, c.isBase64Encoded, headers), exp);
                expect(odd).to.deep.equal(plain);
            }),
            params(RUNS.headers),
        );
    });

    it("the table holds exactly the products that got a 201, unchanged (full content check)", async () => {
        await model.expectContent("end of suite");
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        if (!process.env.FC_SCALE) expect(total, "generated inputs in this suite").to.be.at.least(10_000);
    });
});
