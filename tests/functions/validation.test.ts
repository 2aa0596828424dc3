import { expect } from "chai";
import fc from "fast-check";
import { MAX_BODY_BYTES, parseCreateProduct, parsePrice, validateId } from "../../functions/lib/validation";

const base = { id: "1001", title: "Amazon Echo", description: "Amazon Echo", price: "89.99" };
const parse = (body: unknown) => parseCreateProduct(typeof body === "string" ? body : JSON.stringify(body));
function problem(body: unknown, isBase64 = false) {
    const r = parseCreateProduct(typeof body === "string" ? body : JSON.stringify(body), isBase64);
    if (r.ok) throw new Error(`expected a validation error, got ${JSON.stringify(r.value)}`);
    return r;
}
const message = (body: unknown) => problem(body).message;

describe("functions/lib/validation", () => {
    it("parses the sample into a typed product with a numeric price", () => {
        expect(parse(base)).to.deep.equal({ ok: true, value: { ...base, price: 89.99 } });
        expect(parse({ ...base, price: 89.99 })).to.deep.equal({ ok: true, value: { ...base, price: 89.99 } });
    });

    it("rejects missing, non-JSON and non-object bodies with what is wrong", () => {
        for (const b of [null, undefined, ""])
            expect(parseCreateProduct(b)).to.deep.equal({ ok: false, status: 400, message: "Request body is required" });
        expect(message("{not json")).to.equal("Request body is not valid JSON (error at character 1)");
        // V8 quotes the body in some messages ('Unexpected token …, "{"password": hunter2}" is not valid JSON'):
        // none of it may reach the response, or the logs that record the reason.
        expect(message('{"password": hunter2}')).to.equal("Request body is not valid JSON");
        expect(message("[1,2]")).to.equal("Request body must be a JSON object, got an array");
        expect(message("null")).to.equal("Request body must be a JSON object, got null");
        expect(message('"text"')).to.equal("Request body must be a JSON object, got string");
        expect(message("42")).to.equal("Request body must be a JSON object, got number");
    });

    it("lists every missing field, and unknown fields", () => {
        expect(message({})).to.equal("id is required; title is required; description is required; price is required");
        expect(message({ ...base, color: "red" })).to.equal('unknown field "color" (allowed: id, title, description, price)');
        expect(message({ ...base, a: 1, b: 2 })).to.equal('unknown fields "a", "b" (allowed: id, title, description, price)');
        expect(message({ ...base, title: null, price: undefined })).to.equal("title is required; price is required");
    });

    it("rejects empty, non-string and oversized text fields (limits in code points)", () => {
        expect(message({ ...base, title: "" })).to.equal("title must not be empty");
        expect(message({ ...base, description: "   " })).to.equal("description must not be empty");
        expect(message({ ...base, title: 7 })).to.equal("title must be a string");
        expect(message({ ...base, title: "x".repeat(201) })).to.equal("title must be at most 200 characters");
        expect(message({ ...base, description: "x".repeat(2001) })).to.equal("description must be at most 2000 characters");
        expect(parse({ ...base, title: "x".repeat(200), description: "x".repeat(2000) }).ok).to.equal(true);
        expect(parse({ ...base, title: "🙂".repeat(200) }).ok, "200 emoji = 400 UTF-16 units, still 200 characters").to.equal(true);
    });

    it("accepts only URL-safe ids", () => {
        expect(message({ ...base, id: "" })).to.equal("id must not be empty");
        expect(message({ ...base, id: 1001 })).to.equal("id must be a string");
        expect(message({ ...base, id: "a".repeat(65) })).to.equal("id must be at most 64 characters");
        for (const id of ["a b", "a/b", "ü", "a?b", "a%20b", "a#b"]) {
            expect(message({ ...base, id }), id).to.equal("id may only contain letters, digits and . _ ~ -");
        }
        for (const id of [".", ".."]) expect(message({ ...base, id })).to.equal('id must not be "." or ".."');
        for (const id of ["1001", "a".repeat(64), "A-z_0.9~"]) expect(validateId(id)).to.deep.equal({ ok: true, value: id });
        expect(validateId(undefined)).to.deep.equal({ ok: false, status: 400, message: "id is required" });
    });

    it("parses prices: number or decimal string, 0..1e9, at most 2 decimals", () => {
        const ok = (v: unknown, n: number) => expect(parsePrice(v), String(v)).to.deep.equal({ ok: true, value: n });
        const bad = (v: unknown, m: string) => expect(parsePrice(v), String(v)).to.deep.equal({ ok: false, status: 400, message: m });
        ok("89.99", 89.99);
        ok(89.99, 89.99);
        ok("0", 0);
        ok(0, 0);
        ok(-0, 0);
        ok("89.990", 89.99);
        ok("1000000000", 1e9);
        ok(0.1, 0.1);
        const notNumeric = 'price must be a number or a decimal string such as "89.99"';
        for (const v of ["abc", "1e3", " 5", "5 ", "+5", "0x10", "1,5", ".5", "5.", true, {}, []]) bad(v, notNumeric);
        bad("", "price must not be empty");
        bad(-1, "price must not be negative");
        bad("-1.50", "price must not be negative");
        bad(1.234, "price must have at most 2 decimal places");
        bad("0.001", "price must have at most 2 decimal places");
        bad(1e9 + 0.01, "price must be at most 1000000000");
        bad(Infinity, "price must be a finite number");
        expect(message('{"id":"1","title":"t","description":"d","price":1e400}')).to.equal("price must be a finite number");
    });

    it("property: every 2-decimal price in range round-trips exactly, as number and as string", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 100_000_000_000 }), (cents) => {
                const text = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
                const fromString = parsePrice(text);
                const fromNumber = parsePrice(Number(text));
                return fromString.ok && fromNumber.ok && fromString.value === Number(text) && fromNumber.value === Number(text);
            }),
            { numRuns: 2000 },
        );
    });

    it("measures the body limit in bytes, after base64 decoding", () => {
        const padded = (bytes: number) => {
            const json = JSON.stringify(base);
            return json + " ".repeat(bytes - Buffer.byteLength(json));
        };
        expect(parse(padded(MAX_BODY_BYTES)).ok).to.equal(true);
        const over = problem(padded(MAX_BODY_BYTES + 1));
        expect(over).to.deep.equal({
            ok: false,
            status: 413,
            message: `Request body is ${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES} bytes`,
        });
        // 6000 "€" = 6000 characters but 18000 bytes.
        expect(problem({ ...base, description: "€".repeat(6000) }).status).to.equal(413);
        // Base64 of 15 KiB is 20 KiB of text: still accepted, because the decoded size counts.
        const b64 = Buffer.from(padded(15 * 1024)).toString("base64");
        expect(b64.length).to.be.greaterThan(MAX_BODY_BYTES);
        expect(parseCreateProduct(b64, true)).to.deep.equal({ ok: true, value: { ...base, price: 89.99 } });
        expect(problem(Buffer.from(padded(MAX_BODY_BYTES + 1)).toString("base64"), true).status).to.equal(413);
        expect(problem(Buffer.from([0xc3, 0x28]).toString("base64"), true).message).to.equal("Request body is not valid UTF-8");
    });
});
