/**
 * The artifacts the deployers ship: build/<fn>/index.js and build/<fn>.zip, built once in `before`.
 * The bundles are invoked against dynalite exactly as Lambda would load them (index.handler).
 */
import type { APIGatewayProxyResult, Context, APIGatewayProxyEvent } from "aws-lambda";
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { buildFunctions, FUNCTIONS, ROOT, type BuiltFunction } from "../../scripts/build-functions";
import { FUNCTION_SETTINGS, ROUTES } from "../../functions/route-table";
import { setEnv, startTestDynamo, type TestDynamo } from "../helpers/dynalite";
import { createEvent, expectClientError, expectServerError, findEvent, jsonBody, lambdaContext, SAMPLE } from "./events";

type Handler = (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;

/** Minimal zip reader: entries from the central directory (enough to check what we write). */
function readZip(zip: Buffer) {
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(eocd, "end of central directory").to.be.greaterThan(0);
    const count = zip.readUInt16LE(eocd + 10);
    let p = zip.readUInt32LE(eocd + 16);
    const entries = [];
    for (let i = 0; i < count; i++) {
        expect(zip.readUInt32LE(p)).to.equal(0x02014b50);
        const method = zip.readUInt16LE(p + 10);
        const [time, date] = [zip.readUInt16LE(p + 12), zip.readUInt16LE(p + 14)];
        const compressed = zip.readUInt32LE(p + 20);
        const nameLen = zip.readUInt16LE(p + 28);
        const extraLen = zip.readUInt16LE(p + 30);
        const commentLen = zip.readUInt16LE(p + 32);
        const mode = zip.readUInt32LE(p + 38) >>> 16;
        const localOffset = zip.readUInt32LE(p + 42);
        const name = zip.subarray(p + 46, p + 46 + nameLen).toString("utf8");
        const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
        const data = inflateRawSync(zip.subarray(dataStart, dataStart + compressed));
        entries.push({ name, method, time, date, mode, data });
        p += 46 + nameLen + extraLen + commentLen;
    }
    return entries;
}

function loadBundle(fn: string): Handler {
    const path = join(ROOT, "build", fn, "index.js");
    delete require.cache[require.resolve(path)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path).handler;
}

describe("built bundles (scripts/build-functions.ts)", function () {
    let built: BuiltFunction[];
    let db: TestDynamo;
    let restoreEnv: () => void;
    let createProduct: Handler;
    let findProduct: Handler;

    before(async () => {
        built = await buildFunctions({ quiet: true });
        db = await startTestDynamo("products-bundles");
        restoreEnv = setEnv(db.env); // before loading: the bundles create their client at module load
        createProduct = loadBundle("create-product");
        findProduct = loadBundle("find-product");
    });
    after(async () => {
        await db?.stop();
        restoreEnv?.();
    });

    it("builds build/<fn>/index.js, <fn>.zip and <fn>.meta.json for every function", () => {
        expect(built.map((b) => b.name)).to.deep.equal([...FUNCTIONS]);
        for (const b of built) {
            expect(b.bundle).to.equal(join(ROOT, "build", b.name, "index.js"));
            expect(b.zip).to.equal(join(ROOT, "build", `${b.name}.zip`));
            expect(JSON.parse(readFileSync(b.meta, "utf8"))).to.have.keys("inputs", "outputs");
        }
    });

    it("builds one bundle per route of the route table, exporting the handler its settings name (index.handler)", () => {
        expect(FUNCTION_SETTINGS.handler).to.equal("index.handler");
        expect(built.map((b) => b.name)).to.deep.equal(ROUTES.map((r) => r.bundle));
        expect(built.map((b) => b.name)).to.include.members(["create-product", "find-product"]);
        for (const route of ROUTES) {
            const bundle = join(ROOT, "build", route.bundle, "index.js");
            delete require.cache[require.resolve(bundle)];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            expect(typeof require(bundle).handler, route.functionKey).to.equal("function");
        }
    });

    it("zips contain exactly index.js (deflated, fixed 1980-01-01 timestamp, mode 0644) equal to the bundle", () => {
        for (const b of built) {
            const entries = readZip(readFileSync(b.zip));
            expect(entries.map((e) => e.name)).to.deep.equal(["index.js"]);
            const [e] = entries;
            expect({ method: e.method, time: e.time, date: e.date, mode: e.mode }).to.deep.equal({
                method: 8,
                time: 0,
                date: 33,
                mode: 0o100644,
            });
            expect(e.data.equals(readFileSync(b.bundle))).to.equal(true);
        }
    });

    it("is deterministic: a second build (elsewhere) gives byte-identical zips", async () => {
        const dir = mkdtempSync(join(tmpdir(), "build-again-"));
        try {
            const again = await buildFunctions({ outDir: dir, quiet: true });
            for (const [i, b] of built.entries()) {
                expect(readFileSync(again[i].zip).equals(readFileSync(b.zip)), b.name).to.equal(true);
            }
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it("bundles the SDK but not the unused credential providers (size budget)", () => {
        for (const b of built) {
            const inputs = Object.keys(JSON.parse(readFileSync(b.meta, "utf8")).inputs).join("\n");
            expect(inputs).to.contain("node_modules/@aws-sdk/lib-dynamodb/");
            for (const gone of ["credential-provider-ini", "credential-provider-sso", "credential-provider-node", "nested-clients"]) {
                expect(inputs, `${b.name} bundles ${gone}`).not.to.contain(`@aws-sdk/${gone}/`);
            }
            expect(b.rawBytes, `${b.name} raw`).to.be.below(300 * 1024);
            expect(b.zipBytes, `${b.name} zip`).to.be.below(100 * 1024);
            expect(readFileSync(b.bundle, "utf8")).not.to.match(/require\("@aws-sdk\//);
        }
    });

    it("create bundle: 201 + Location, then 409; find bundle: 200 and 404", async () => {
        const created = await createProduct(createEvent(SAMPLE), lambdaContext());
        expect(jsonBody(created, 201)).to.deep.equal({ ...SAMPLE, price: 89.99 });
        expect(created.headers?.Location).to.equal("/dev/product/find/1001");
        expectClientError(await createProduct(createEvent({ ...SAMPLE, price: 1 }), lambdaContext()), 409, "Product 1001 already exists");
        expect(jsonBody(await findProduct(findEvent("1001"), lambdaContext()), 200)).to.deep.equal({ ...SAMPLE, price: 89.99 });
        expectClientError(await findProduct(findEvent("1002"), lambdaContext()), 404, "Product 1002 not found");
    });

    it("create bundle: 400, 413 and 415", async () => {
        expectClientError(await createProduct(createEvent({ ...SAMPLE, price: "-1" }), lambdaContext()), 400, "price must not be negative");
        expectClientError(
            await createProduct(createEvent(SAMPLE, { headers: { "content-type": "text/plain" }, multiValueHeaders: {} }), lambdaContext()),
            415,
            "Content-Type must be application/json: send Content-Type: application/json",
        );
        expectClientError(
            await createProduct(createEvent("x".repeat(20_000)), lambdaContext()),
            413,
            "Request body is 20000 bytes; the limit is 16384 bytes",
        );
    });

    it("bundles: 500 + requestId when the table is missing", async () => {
        const restore = setEnv({ PRODUCTS_TABLE_NAME: "missing-table" });
        try {
            const ctx = lambdaContext();
            expectServerError(await findProduct(findEvent("1001"), ctx), 500, ctx.awsRequestId);
        } finally {
            restore();
        }
    });
});
