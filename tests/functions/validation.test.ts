import { expect } from "chai";
import fc from "fast-check";
import { contentTypeError, MAX_BODY_BYTES, parseCreateProduct, parsePrice, validateId } from "../../functions/lib/validation";

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

    it("lists every missing field, and counts unknown fields without naming them (client text is never reflected)", () => {
        expect(message({})).to.equal("id is required; title is required; description is required; price is required");
        expect(message({ ...base, color: "red" })).to.equal("1 unknown field (allowed: id, title, description, price)");
        expect(message({ ...base, a: 1, b: 2 })).to.equal("2 unknown fields (allowed: id, title, description, price)");
        const hostile = { ...base, "<script>alert(1)</script>": 1, "\u001b[31mred": 2, "\u202egnp.exe": 3 };
        expect(message(hostile)).to.equal("3 unknown fields (allowed: id, title, description, price)");
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

    it("counts text a reader cannot see as empty: whitespace, zero-width and other invisible format characters", () => {
        const invisible = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u3164", "\ufe0f", "\u0085", "\u3000"];
        for (const text of [...invisible, invisible.join(""), " \u200b\t\u2060 ", "\u202e"]) {
            const shown = JSON.stringify(text);
            expect(message({ ...base, title: text }), shown).to.equal("title must not be empty");
            expect(message({ ...base, description: text }), shown).to.equal("description must not be empty");
        }
        // Visible text around them is fine (a zero-width joiner inside an emoji sequence, a soft hyphen in a word).
        expect(parse({ ...base, title: "👩\u200d💻 Dev\u00adKit", description: "x\u200by" }).ok).to.equal(true);
    });

    it("refuses control characters and bidi overrides/isolates, naming the code point and never echoing it", () => {
        const refused: [string, string, string][] = [
            ["title", "a\u0000b", "title must not contain control characters (U+0000)"],
            ["title", "bell\u0007", "title must not contain control characters (U+0007)"],
            ["title", "\u001b[31mred", "title must not contain control characters (U+001B)"],
            ["title", "del\u007f", "title must not contain control characters (U+007F)"],
            ["title", "c1\u009b", "title must not contain control characters (U+009B)"],
            ["title", "tab\there", "title must not contain control characters (U+0009)"],
            ["title", "two\nlines", "title must not contain line breaks (U+000A)"],
            ["title", "cr\r", "title must not contain line breaks (U+000D)"],
            ["title", "nel\u0085x", "title must not contain line breaks (U+0085)"],
            ["title", "ls\u2028x", "title must not contain line breaks (U+2028)"],
            ["title", "ps\u2029x", "title must not contain line breaks (U+2029)"],
            ["title", "invoice\u202efdp.exe", "title must not contain bidirectional override or isolate characters (U+202E)"],
            ["title", "x\u2066y\u2069", "title must not contain bidirectional override or isolate characters (U+2066)"],
            ["description", "a\u0000b", "description must not contain control characters (U+0000)"],
            ["description", "\u001b]8;;http://evil\u0007link", "description must not contain control characters (U+001B)"],
            ["description", "form\u000cfeed", "description must not contain control characters (U+000C)"],
            ["description", "nel\u0085x", "description must not contain control characters (U+0085)"],
            ["description", "x\u202ay", "description must not contain bidirectional override or isolate characters (U+202A)"],
            ["description", "x\u2069", "description must not contain bidirectional override or isolate characters (U+2069)"],
        ];
        for (const [field, text, expected] of refused) {
            const got = message({ ...base, [field]: text });
            expect(got, JSON.stringify(text)).to.equal(expected);
            expect(got, "the message is plain ASCII").to.match(/^[\x20-\x7e]+$/);
        }
        expect(message({ ...base, title: "\u0000", description: "\u202d" })).to.equal(
            "title must not contain control characters (U+0000); description must not be empty",
        );
    });

    it("allows a multi-line description (TAB, LF, CR, U+2028) and the bidi marks LRM/RLM", () => {
        const description = "Line one\r\nLine two\n\tindented\u2028next";
        expect(parse({ ...base, description })).to.deep.equal({ ok: true, value: { ...base, description, price: 89.99 } });
        expect(parse({ ...base, title: "שלום\u200e 2024\u200f" }).ok).to.equal(true);
    });

    it("Content-Type: application/json in UTF-8 only (case-insensitive, parameters tolerated) → otherwise 415", () => {
        for (const accepted of [
            ["application/json"],
            ["Application/JSON"],
            [" application/json "],
            ["application/json; charset=utf-8"],
            ["application/json;charset=UTF-8"],
            ['application/json; CHARSET="utf-8"'],
            ["application/json; charset=utf8"],
            ["application/json; version=2"],
            ["application/json", "application/json"],
        ]) {
            expect(contentTypeError(accepted), JSON.stringify(accepted)).to.equal(undefined);
        }
        const unsupported = (values: string[], msg: string) =>
            expect(contentTypeError(values), JSON.stringify(values)).to.deep.equal({ ok: false, status: 415, message: msg });
        const required = "Content-Type header is required: send Content-Type: application/json";
        unsupported([], required);
        unsupported([""], required);
        unsupported(["  "], required);
        const notJson = "Content-Type must be application/json: send Content-Type: application/json";
        for (const type of [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/html",
            "application/xml",
            "application/octet-stream",
            "application/jsonp",
            "application/merge-patch+json",
            "application/json\u0000",
            "*/*",
        ]) {
            unsupported([type], notJson);
        }
        const onlyUtf8 = "Only UTF-8 request bodies are accepted: send Content-Type: application/json; charset=utf-8 (or no charset)";
        for (const type of ["application/json; charset=iso-8859-1", "application/json; charset=latin1", "application/json; charset=utf-16"])
            unsupported([type], onlyUtf8);
        unsupported(["application/json", "text/plain"], "Content-Type must be sent once: send Content-Type: application/json");
    });

    it("accepts only URL-safe ids", () => {
        expect(message({ ...base, id: "" })).to.equal("id must not be empty");
        expect(message({ ...base, id: 1001 })).to.equal("id must be a string");
        expect(message({ ...base, id: "a".repeat(65) })).to.equal("id must be at most 64 characters");
        for (const id of ["a b", "a/b", "ü", "a?b", "a%20b", "a#b"]) {
            expect(message({ ...base, id }), id).to.equal(
                "id may only contain ASCII letters (A-Z, a-z), digits (0-9) and the characters . _ ~ -",
            );
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
