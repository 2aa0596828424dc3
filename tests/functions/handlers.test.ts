/**
 * Handlers (TypeScript source) against a real dynalite: the whole HTTP contract, no mocked SDK.
 * Most tests inject a client (makeHandler); one suite goes through the exported `handler` and its
 * env-configured module-scope client, as Lambda runs it.
 */
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { expect } from "chai";
import * as create from "../../functions/create-product";
import * as find from "../../functions/find-product";
import { createDocumentClient } from "../../functions/lib/products";
import { deadPort, setEnv, startTestDynamo, type TestDynamo } from "../helpers/dynalite";
import { createEvent, expectClientError, expectServerError, findEvent, jsonBody, lambdaContext, SAMPLE, SECURITY_HEADERS } from "./events";

const ID_CHARS_MESSAGE = "id may only contain ASCII letters (A-Z, a-z), digits (0-9) and the characters . _ ~ -";

describe("product handlers (source) against dynalite", function () {
    let db: TestDynamo;
    let restoreEnv: () => void;
    let createHandler: ReturnType<typeof create.makeHandler>;
    let findHandler: ReturnType<typeof find.makeHandler>;
    const post = (body: unknown, over: Partial<APIGatewayProxyEvent> & { stage?: string; fullPath?: string } = {}) =>
        createHandler(createEvent(body, over), lambdaContext());
    const get = (id: string | undefined) => findHandler(findEvent(id), lambdaContext());

    before(async () => {
        db = await startTestDynamo("products-handlers");
        restoreEnv = setEnv(db.env);
        const deps = { client: db.doc, tableName: () => db.tableName };
        createHandler = create.makeHandler(deps);
        findHandler = find.makeHandler(deps);
    });
    after(async () => {
        await db?.stop();
        restoreEnv?.();
    });

    describe("POST /product/create", () => {
        it("201: returns the stored product as plain JSON with a Location under the stage", async () => {
            const res = await post(SAMPLE);
            expect(jsonBody(res, 201)).to.deep.equal({ ...SAMPLE, price: 89.99 });
            expect(res.headers?.Location).to.equal("/dev/product/find/1001");
            const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id: "1001" } }));
            expect(Item).to.deep.equal({ ...SAMPLE, price: 89.99 });
        });

        it("stores a JSON number price as a number too", async () => {
            const res = await post({ ...SAMPLE, id: "num-1", price: 12 });
            expect(jsonBody(res, 201).price).to.equal(12);
            const raw = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id: "num-1" } }));
            expect(raw.Item?.price).to.equal(12);
        });

        it("Location follows a custom-domain base path, and is the bare path without one", async () => {
            const viaDomain = await post({ ...SAMPLE, id: "loc-1" }, { fullPath: "/v1/product/create" });
            expect(viaDomain.headers?.Location).to.equal("/v1/product/find/loc-1");
            const atRoot = await post({ ...SAMPLE, id: "loc-2" }, { fullPath: "/product/create" });
            expect(atRoot.headers?.Location).to.equal("/product/find/loc-2");
        });

        it("409 for an existing id, and the original item is unchanged", async () => {
            await post({ ...SAMPLE, id: "dup-1" });
            const res = await post({ ...SAMPLE, id: "dup-1", title: "Overwrite attempt", price: 1 });
            expectClientError(res, 409, "Product dup-1 already exists");
            const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id: "dup-1" } }));
            expect(Item).to.deep.equal({ ...SAMPLE, id: "dup-1", price: 89.99 });
        });

        const bad: [string, unknown, string | RegExp][] = [
            ["no body", null, "Request body is required"],
            ["malformed JSON", '{"id": "1",', /^Request body is not valid JSON \(error at character 11\)$/],
            ["not an object", "[]", "Request body must be a JSON object, got an array"],
            ["missing fields", { id: "x" }, "title is required; description is required; price is required"],
            ["empty title", { ...SAMPLE, title: "" }, "title must not be empty"],
            ["oversized title", { ...SAMPLE, title: "t".repeat(201) }, "title must be at most 200 characters"],
            ["oversized description", { ...SAMPLE, description: "d".repeat(2001) }, "description must be at most 2000 characters"],
            ["non-numeric price", { ...SAMPLE, price: "cheap" }, 'price must be a number or a decimal string such as "89.99"'],
            ["negative price", { ...SAMPLE, price: -5 }, "price must not be negative"],
            ["too many decimals", { ...SAMPLE, price: "1.999" }, "price must have at most 2 decimal places"],
            ["unknown field", { ...SAMPLE, stock: 3 }, "1 unknown field (allowed: id, title, description, price)"],
            [
                "unknown fields with hostile names (not echoed)",
                { ...SAMPLE, "<img src=x onerror=alert(1)>": 1, "\u001b[2J": 2 },
                "2 unknown fields (allowed: id, title, description, price)",
            ],
            ["URL-unsafe id", { ...SAMPLE, id: "a/b" }, ID_CHARS_MESSAGE],
            ["zero-width-space title", { ...SAMPLE, title: "\u200b" }, "title must not be empty"],
            ["invisible-only description", { ...SAMPLE, description: "\u2060\ufeff\u200d " }, "description must not be empty"],
            ["ESC in the title", { ...SAMPLE, title: "\u001b[31mSALE" }, "title must not contain control characters (U+001B)"],
            ["NUL in the description", { ...SAMPLE, description: "a\u0000b" }, "description must not contain control characters (U+0000)"],
            ["a line break in the title", { ...SAMPLE, title: "one\ntwo" }, "title must not contain line breaks (U+000A)"],
            [
                "a right-to-left override in the title",
                { ...SAMPLE, title: "photo\u202egpj.exe" },
                "title must not contain bidirectional override or isolate characters (U+202E)",
            ],
        ];
        for (const [name, body, msg] of bad) {
            it(`400 for ${name}`, async () => {
                const res = await post(body);
                expectClientError(res, 400, msg);
            });
        }

        it("201 for a multi-line description (TAB, CR, LF are allowed there)", async () => {
            const description = "Smart speaker.\r\n\n\tWorks with Alexa.";
            expect(jsonBody(await post({ ...SAMPLE, id: "multi-line", description }), 201).description).to.equal(description);
        });

        it("400s write nothing", async () => {
            await post({ ...SAMPLE, id: "never", price: "x" });
            const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id: "never" } }));
            expect(Item).to.equal(undefined);
        });

        describe("Content-Type (415, checked before the body)", () => {
            const SEND_JSON = "Content-Type must be application/json: send Content-Type: application/json";
            const ONLY_UTF8 = "Only UTF-8 request bodies are accepted: send Content-Type: application/json; charset=utf-8 (or no charset)";
            const withHeaders = (id: string, headers: Record<string, string> | null, multi: Record<string, string[]> | null = null) =>
                post({ ...SAMPLE, id }, { headers: headers as APIGatewayProxyEvent["headers"], multiValueHeaders: multi as never });
            const stored = async (id: string) =>
                (await db.doc.send(new GetCommand({ TableName: db.tableName, Key: { id }, ConsistentRead: true }))).Item;

            it("415 for text/plain (what a cross-site HTML form can send), and nothing is written", async () => {
                const h = { "Content-Type": "text/plain" };
                expectClientError(await withHeaders("ct-plain", h, { "Content-Type": ["text/plain"] }), 415, SEND_JSON);
                expect(await stored("ct-plain")).to.equal(undefined);
            });

            it("415 for the other form types and for a missing header", async () => {
                for (const type of ["application/x-www-form-urlencoded", "multipart/form-data; boundary=----x"]) {
                    expectClientError(await withHeaders("ct-form", { "content-type": type }), 415, SEND_JSON);
                }
                const missing = "Content-Type header is required: send Content-Type: application/json";
                expectClientError(await withHeaders("ct-none", {}, {}), 415, missing);
                expectClientError(await withHeaders("ct-none", null, null), 415, missing);
                expect(await stored("ct-form")).to.equal(undefined);
                expect(await stored("ct-none")).to.equal(undefined);
            });

            it("415 for a body declared in another charset (it would be stored with replacement characters)", async () => {
                const latin1 = '{"id":"ct-latin1","title":"Caf\u00e9","description":"d","price":1}';
                const res = await createHandler(
                    createEvent(Buffer.from(latin1, "latin1").toString("utf8"), {
                        headers: { "Content-Type": "application/json; charset=iso-8859-1" },
                        multiValueHeaders: { "Content-Type": ["application/json; charset=iso-8859-1"] },
                    }),
                    lambdaContext(),
                );
                expectClientError(res, 415, ONLY_UTF8);
                expect(await stored("ct-latin1")).to.equal(undefined);
            });

            it("415 for two different Content-Type values (multiValueHeaders)", async () => {
                expectClientError(
                    await withHeaders(
                        "ct-two",
                        { "Content-Type": "application/json" },
                        { "Content-Type": ["text/plain", "application/json"] },
                    ),
                    415,
                    "Content-Type must be sent once: send Content-Type: application/json",
                );
            });

            it("201 whatever the header name's case, in headers or only in multiValueHeaders, with charset=utf-8", async () => {
                expect(jsonBody(await withHeaders("ct-lower", { "content-type": "application/json" }), 201).id).to.equal("ct-lower");
                expect(jsonBody(await withHeaders("ct-multi", null, { "CONTENT-TYPE": ["application/json"] }), 201).id).to.equal(
                    "ct-multi",
                );
                const utf8 = { "Content-Type": "Application/JSON; Charset=UTF-8" };
                expect(jsonBody(await withHeaders("ct-utf8", utf8, { "Content-Type": [utf8["Content-Type"]] }), 201).id).to.equal(
                    "ct-utf8",
                );
            });
        });

        it("413 for a body over 16 KiB (bytes), base64 bodies measured decoded", async () => {
            expectClientError(
                await post(JSON.stringify(SAMPLE) + " ".repeat(16 * 1024)),
                413,
                /^Request body is \d+ bytes; the limit is 16384 bytes$/,
            );
            const b64 = Buffer.from(JSON.stringify({ ...SAMPLE, id: "b64-1" })).toString("base64");
            const res = await createHandler(createEvent(b64, { isBase64Encoded: true }), lambdaContext());
            expect(jsonBody(res, 201).id).to.equal("b64-1");
        });

        it("500 + requestId, no internals, when the table does not exist", async () => {
            const h = create.makeHandler({ client: db.doc, tableName: () => "no-such-table" });
            const ctx = lambdaContext();
            expectServerError(await h(createEvent({ ...SAMPLE, id: "t-1" }), ctx), 500, ctx.awsRequestId);
        });

        it("500 + requestId when PRODUCTS_TABLE_NAME is missing", async () => {
            const h = create.makeHandler({ client: db.doc, tableName: () => undefined });
            const ctx = lambdaContext();
            expectServerError(await h(createEvent(SAMPLE), ctx), 500, ctx.awsRequestId);
        });

        it("503 + requestId when DynamoDB is unreachable", async () => {
            const restore = setEnv({ AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${await deadPort()}`, AWS_MAX_ATTEMPTS: "1" });
            const client = createDocumentClient();
            try {
                const ctx = lambdaContext();
                const res = await create.makeHandler({ client, tableName: () => db.tableName })(createEvent(SAMPLE), ctx);
                expectServerError(res, 503, ctx.awsRequestId);
                expect(res.headers?.["Retry-After"]).to.equal("1");
                const ctx2 = lambdaContext();
                expectServerError(
                    await find.makeHandler({ client, tableName: () => db.tableName })(findEvent("1001"), ctx2),
                    503,
                    ctx2.awsRequestId,
                );
            } finally {
                client.destroy();
                restore();
            }
        });

        it("500 (not a Lambda error) when something unexpected throws", async () => {
            const tableName = () => {
                throw new TypeError("boom at secret place");
            };
            const ctx = lambdaContext();
            const res = await create.makeHandler({ client: db.doc, tableName })(createEvent({ ...SAMPLE, id: "x-1" }), ctx);
            expectServerError(res, 500, ctx.awsRequestId);
            expect(res.body).not.to.contain("boom");
        });
    });

    describe("GET /product/find/{id}", () => {
        before(async () => {
            await db.doc.send(
                new PutCommand({
                    TableName: db.tableName,
                    Item: { id: "f-1", title: "T", description: "D", price: 5, internal: "hidden" },
                }),
            );
        });

        it("200 with the product (public fields only)", async () => {
            expect(jsonBody(await get("f-1"), 200)).to.deep.equal({ id: "f-1", title: "T", description: "D", price: 5 });
        });

        it("404 with a JSON error when there is none", async () => {
            expectClientError(await get("nope"), 404, "Product nope not found");
        });

        it("400 for an id that cannot exist, or no id", async () => {
            expectClientError(await get("a b"), 400, ID_CHARS_MESSAGE);
            expectClientError(await get(undefined), 400, "Missing path parameter: id");
        });

        it("500 + requestId when the table does not exist", async () => {
            const ctx = lambdaContext();
            expectServerError(
                await find.makeHandler({ client: db.doc, tableName: () => "no-such-table" })(findEvent("f-1"), ctx),
                500,
                ctx.awsRequestId,
            );
        });
    });

    describe("exported handlers (module-scope client configured from env, as on Lambda)", () => {
        it("create then find through env: PRODUCTS_TABLE_NAME + AWS_ENDPOINT_URL_DYNAMODB", async () => {
            const created = await create.handler(createEvent({ ...SAMPLE, id: "env-1" }), lambdaContext());
            expect(jsonBody(created, 201).id).to.equal("env-1");
            expect(jsonBody(await find.handler(findEvent("env-1"), lambdaContext()), 200)).to.deep.equal({
                ...SAMPLE,
                id: "env-1",
                price: 89.99,
            });
        });

        it("missing PRODUCTS_TABLE_NAME → 500", async () => {
            const restore = setEnv({ PRODUCTS_TABLE_NAME: undefined });
            try {
                const ctx = lambdaContext();
                expectServerError(await find.handler(findEvent("env-1"), ctx), 500, ctx.awsRequestId);
            } finally {
                restore();
            }
        });
    });

    describe("response headers", () => {
        it("every response carries X-Content-Type-Options: nosniff and Cache-Control: no-store (2xx, 4xx, 5xx, catch-all)", async () => {
            const unexpected = () => {
                throw new Error("unexpected");
            };
            const responses = [
                await post({ ...SAMPLE, id: "hdr-1" }),
                await post({ ...SAMPLE, id: "hdr-1" }),
                await post("{"),
                await post({ ...SAMPLE, id: "hdr-2" }, { headers: { "Content-Type": "text/plain" }, multiValueHeaders: {} }),
                await get("hdr-1"),
                await get("hdr-none"),
                await get("a b"),
                await create.makeHandler({ client: db.doc, tableName: () => undefined })(createEvent(SAMPLE), lambdaContext()),
                await find.makeHandler({ client: db.doc, tableName: unexpected })(findEvent("hdr-1"), lambdaContext()),
            ];
            expect(responses.map((r) => r.statusCode)).to.deep.equal([201, 409, 400, 415, 200, 404, 400, 500, 500]);
            for (const res of responses) expect(res.headers, `a ${res.statusCode}`).to.include(SECURITY_HEADERS);
        });
    });

    describe("logs", () => {
        it("one JSON line per request with requestId and status, never the body at info level", async () => {
            const restore = setEnv({ LOG_LEVEL: "info" });
            const lines: string[] = [];
            const write = process.stdout.write;
            process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
            const ctx = lambdaContext();
            let res: APIGatewayProxyResult;
            try {
                res = await post({ ...SAMPLE, id: "log-1", description: "SECRET-MARKER" }).then(() =>
                    createHandler(createEvent({ ...SAMPLE, id: "log-2", description: "SECRET-MARKER" }), ctx),
                );
            } finally {
                process.stdout.write = write;
                restore();
            }
            expect(res.statusCode).to.equal(201);
            expect(lines).to.have.length(2);
            const entry = JSON.parse(lines[1]);
            expect(entry).to.include({
                level: "info",
                fn: "create-product",
                requestId: ctx.awsRequestId,
                status: 201,
                method: "POST",
                id: "log-2",
            });
            expect(lines.join("")).not.to.contain("SECRET-MARKER");
        });
    });
});
