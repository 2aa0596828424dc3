/**
 * fast-check generators for the product API, and an INDEPENDENT oracle for the documented contract
 * (functions/lib/validation.ts header). The oracle is re-derived from the documentation on purpose (nothing
 * is imported from functions/), so a property compares the handler against the contract, not against itself.
 */
import type { APIGatewayProxyEvent } from "aws-lambda";
import fc from "fast-check";
import { apiEvent } from "../functions/events";
import type { Product } from "./harness";

// ---- the contract, restated --------------------------------------------------------------------------------
export const LIMIT_BYTES = 16 * 1024;
const ID_RE = /^[A-Za-z0-9._~-]{1,64}$/;
const FIELDS = ["id", "title", "description", "price"];
export const isValidId = (s: unknown): s is string => typeof s === "string" && ID_RE.test(s) && s !== "." && s !== "..";
const codePoints = (s: string) => [...s].length;
const wellFormed = (s: string) => !/\p{Cs}/u.test(s); // an unpaired surrogate has no UTF-8 form
export type TextField = "title" | "description";
const MAX_CHARS: Record<TextField, number> = { title: 200, description: 2000 };
/** Blank: only White_Space, format (Cf) and other default-ignorable code points. */
const BLANK = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;
const BIDI_OVERRIDES = "\u202A-\u202E\u2066-\u2069";
/** Refused anywhere in the field: C0/C1 controls and DEL (a description keeps TAB, LF, CR), bidi overrides/isolates,
 * and in the single-line title also the line/paragraph separators. */
export const REFUSED_CHARS: Record<TextField, RegExp> = {
    title: new RegExp(`[\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029${BIDI_OVERRIDES}]`, "u"),
    description: new RegExp(`[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F${BIDI_OVERRIDES}]`, "u"),
};
const validText = (v: unknown, field: TextField) =>
    typeof v === "string" && !BLANK.test(v) && wellFormed(v) && !REFUSED_CHARS[field].test(v) && codePoints(v) <= MAX_CHARS[field];

function specPrice(v: unknown): number | undefined {
    let n: number;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && v.length <= 32 && /^\d+(\.\d+)?$/.test(v)) n = Number(v);
    else return undefined;
    if (!Number.isFinite(n) || n < 0 || n > 1e9 || Math.round(n * 100) / 100 !== n) return undefined;
    return n === 0 ? 0 : n;
}

/** The product a create must store for this parsed body, or undefined when the contract says 400. */
export function specProduct(data: unknown): Product | undefined {
    if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
    const o = data as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.some((k) => !FIELDS.includes(k))) return undefined;
    const price = specPrice(o.price);
    if (!isValidId(o.id) || !validText(o.title, "title") || !validText(o.description, "description") || price === undefined)
        return undefined;
    return { id: o.id, title: o.title as string, description: o.description as string, price };
}

export type CreateExpectation = { status: 400 | 413 | 415 } | { status: 201; product: Product };

/**
 * Whether the request's Content-Type is acceptable: among all Content-Type values it carried (any spelling of the
 * name), exactly one distinct non-blank one; its media type is application/json (any case); a charset parameter,
 * if any, is utf-8 or utf8 (any case, optionally quoted).
 */
export function acceptedContentType(headers: RequestHeaders): boolean {
    const values = new Set(
        (headers ?? [])
            .filter(([name]) => name.toLowerCase() === "content-type")
            .map(([, value]) => value.trim())
            .filter((v) => v !== ""),
    );
    if (values.size !== 1) return false;
    const [mediaType, ...parameters] = [...values][0].split(";");
    if (mediaType.trim().toLowerCase() !== "application/json") return false;
    return parameters.every((p) => {
        const charset = /^\s*charset\s*=(.*)$/is.exec(p)?.[1].trim();
        if (charset === undefined) return true;
        const unquoted = /^".*"$/s.test(charset) ? charset.slice(1, -1) : charset;
        return ["utf-8", "utf8"].includes(unquoted.toLowerCase());
    });
}

/** What POST /product/create must answer for this raw API Gateway body and headers (before the 409 check). */
export function expectedCreate(
    body: string | null | undefined,
    isBase64Encoded: boolean,
    headers: RequestHeaders = JSON_HEADERS,
): CreateExpectation {
    if (!acceptedContentType(headers)) return { status: 415 };
    if (body === null || body === undefined || body === "") return { status: 400 };
    const bytes = isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
    if (bytes.length > LIMIT_BYTES) return { status: 413 };
    if (bytes.length === 0) return { status: 400 };
    let text = body;
    if (isBase64Encoded) {
        try {
            text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        } catch {
            return { status: 400 };
        }
    }
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch {
        return { status: 400 };
    }
    const product = specProduct(data);
    return product ? { status: 201, product } : { status: 400 };
}

// ---- events and headers -------------------------------------------------------------------------------------
const randomCase = (s: string) =>
    fc
        .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
        .map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

/** Request headers as the client sent them, in order, duplicates possible; null = API Gateway passed null maps. */
export type RequestHeaders = [string, string][] | null;
export const JSON_HEADERS: RequestHeaders = [["Content-Type", "application/json"]];

/** headers/multiValueHeaders as API Gateway (REST, proxy) builds them: names as sent, `headers` keeps the last value. */
export function eventHeaders(raw: RequestHeaders): Pick<APIGatewayProxyEvent, "headers" | "multiValueHeaders"> {
    if (raw === null)
        return { headers: null, multiValueHeaders: null } as unknown as Pick<APIGatewayProxyEvent, "headers" | "multiValueHeaders">;
    const last = new Map<string, string>();
    const all = new Map<string, string[]>();
    for (const [name, value] of raw) {
        last.set(name, value);
        all.set(name, [...(all.get(name) ?? []), value]);
    }
    // fromEntries defines own properties, so a header named "__proto__" stays a header.
    return { headers: Object.fromEntries(last), multiValueHeaders: Object.fromEntries(all) };
}

const ACCEPTED_CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "Application/Json;Charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/json ; charset=utf8",
    "application/json; version=1",
    " application/json\t",
];
const REFUSED_CONTENT_TYPES = [
    "text/plain",
    "text/plain;charset=UTF-8",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/xml",
    "application/json; charset=latin1",
    "application/json; charset=iso-8859-1",
    "application/json; charset=utf-16",
    'application/json; charset="utf-8',
    "application/jsonp",
    "application/merge-patch+json",
    "*/*",
    "",
    " ",
    "application/json\u0000",
    "😀",
    "json",
];

const contentTypeName = randomCase("content-type");
const insertHeader = (others: [string, string][], header: [string, string], at: number) => {
    const i = at % (others.length + 1);
    return [...others.slice(0, i), header, ...others.slice(i)];
};

/** Headers other than Content-Type: odd names, odd values, random casing of common ones. */
const otherHeadersArb: fc.Arbitrary<[string, string][]> = fc.array(
    fc
        .tuple(
            fc.oneof(
                fc.string({ minLength: 1, maxLength: 20 }),
                randomCase("content-length"),
                randomCase("x-forwarded-for"),
                fc.constantFrom("__proto__", "constructor", "Content-Type "),
            ),
            fc.string({ maxLength: 60 }),
        )
        .filter(([name]) => name.toLowerCase() !== "content-type"),
    { maxLength: 5 },
);

/** An accepted Content-Type (any spelling of name and value) among odd other headers. */
export const jsonHeadersArb: fc.Arbitrary<RequestHeaders> = fc
    .tuple(contentTypeName, fc.constantFrom(...ACCEPTED_CONTENT_TYPES), otherHeadersArb, fc.nat())
    .map(([name, value, others, at]) => insertHeader(others, [name, value], at));

/** Everything else API Gateway could deliver: null maps, no Content-Type, a refused or random one, two of them. */
export const oddHeadersArb: fc.Arbitrary<RequestHeaders> = fc.oneof(
    fc.constant<RequestHeaders>(null),
    fc.constant<RequestHeaders>([]),
    otherHeadersArb,
    fc
        .tuple(
            contentTypeName,
            fc.oneof(fc.constantFrom(...REFUSED_CONTENT_TYPES), fc.string({ maxLength: 40 })),
            otherHeadersArb,
            fc.nat(),
        )
        .map(([name, value, others, at]) => insertHeader(others, [name, value], at)),
    fc
        .tuple(
            contentTypeName,
            contentTypeName,
            fc.constantFrom(...ACCEPTED_CONTENT_TYPES, ...REFUSED_CONTENT_TYPES),
            fc.constantFrom(...ACCEPTED_CONTENT_TYPES, ...REFUSED_CONTENT_TYPES),
        )
        .map(([n1, n2, v1, v2]): [string, string][] => [
            [n1, v1],
            [n2, v2],
        ]),
    fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 200 })), { maxLength: 8 }),
);

/** Mostly an accepted Content-Type (so the body is what gets tested), sometimes anything else. */
export const requestHeadersArb: fc.Arbitrary<RequestHeaders> = fc.oneof(
    { weight: 3, arbitrary: jsonHeadersArb },
    { weight: 1, arbitrary: oddHeadersArb },
);

export function createEventFor(
    body: string | null | undefined,
    isBase64Encoded: boolean,
    headers: RequestHeaders = JSON_HEADERS,
): APIGatewayProxyEvent {
    return apiEvent({ body: body as string | null, isBase64Encoded, ...eventHeaders(headers) });
}

export function findEventFor(
    pathParameters: Record<string, string | undefined> | null,
    headers: RequestHeaders = [],
): APIGatewayProxyEvent {
    const id = pathParameters?.id;
    const path = `/product/find/${id ?? ""}`;
    return apiEvent({
        httpMethod: "GET",
        path,
        resource: "/product/find/{id}",
        pathParameters: pathParameters as APIGatewayProxyEvent["pathParameters"],
        ...eventHeaders(headers),
    });
}

// ---- valid products -------------------------------------------------------------------------------------------
const ID_CHARS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-"];
const idChar = fc.constantFrom(...ID_CHARS);
export const validIdArb: fc.Arbitrary<string> = fc
    .oneof(
        { weight: 6, arbitrary: fc.string({ unit: idChar, minLength: 1, maxLength: 64, size: "max" }) },
        { weight: 1, arbitrary: fc.string({ unit: idChar, minLength: 64, maxLength: 64 }) },
        { weight: 1, arbitrary: fc.constantFrom("...", "-", "~", "_", "0", "a.b", ".hidden", "..x", "x..", "dup-1", "dup-2", "DUP-1") },
    )
    .filter(isValidId);

/** Characters that are valid in both text fields and tend to break things. */
const TRICKY = [
    '"',
    "\\",
    "/",
    "\ufeff",
    "😀",
    "e\u0301",
    "\u200b",
    "\u200e",
    "<script>alert(1)</script>",
    "${jndi:x}",
    "%00",
    "' OR 1=1 --",
    " ",
    "\u00a0",
    "𝕏",
    "👩‍👩‍👧",
    "null",
    "{}",
    "__proto__",
    "\u{10ffff}",
    "\uffff",
];

/** Exactly `n` code points, cycling through the code points of `s`. */
const fitTo = (s: string, n: number) => {
    const cps = [...s];
    return Array.from({ length: n }, (_, i) => cps[i % cps.length]).join("");
};

/** Only in a (multi-line) description. */
const DESCRIPTION_ONLY = ["\t", "\n", "\r\n", "\u2028", "\u2029"];

export const validTextArb = (field: TextField): fc.Arbitrary<string> => {
    const max = MAX_CHARS[field];
    const tricky = field === "description" ? [...TRICKY, ...DESCRIPTION_ONLY] : TRICKY;
    // Random code points are often controls ("binary" favours small ones): swap those for a visible character
    // rather than filtering most strings away. The broken-field generators below insert them on purpose.
    const refused = new RegExp(REFUSED_CHARS[field].source, "gu");
    return fc
        .oneof(
            { weight: 4, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: Math.min(max, 120), size: "max" }) },
            { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }) },
            { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...tricky), minLength: 1, maxLength: 30 }) },
            { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 4 }).map((s) => fitTo(s, max)) },
        )
        .map((s) => s.replace(refused, "\u00b7"))
        .filter((s) => validText(s, field));
};

/** A valid price: its JSON text as sent (number or decimal string, several spellings) and the stored number. */
export const validPriceArb: fc.Arbitrary<{ json: string; value: number }> = fc
    .oneof(fc.integer({ min: 0, max: 100_000_000_000 }), fc.constantFrom(0, 1, 10, 99, 100, 8999, 99_999_999_999, 100_000_000_000))
    .chain((cents) => {
        const value = cents / 100; // the nearest double to the 2-decimal value, like Number("…")
        const whole = Math.floor(cents / 100);
        const frac = cents % 100;
        const strings = [`${whole}.${String(frac).padStart(2, "0")}`, `000${whole}.${String(frac).padStart(2, "0")}`];
        if (frac % 10 === 0) strings.push(`${whole}.${frac / 10}`);
        if (frac === 0) strings.push(`${whole}`);
        const numbers = [JSON.stringify(value), `${cents}e-2`, `${cents}E-2`];
        if (cents === 0) numbers.push("-0", "0.0e5");
        return fc
            .oneof(
                fc.constantFrom(...numbers),
                fc.constantFrom(...strings).map((s) => JSON.stringify(s)),
            )
            .map((json) => ({ json, value }));
    });

/** JSON string text; optionally with every non-ASCII UTF-16 unit \u-escaped (same value once parsed). */
export const jsonString = (s: string, asciiOnly: boolean) => {
    const t = JSON.stringify(s);
    return asciiOnly ? t.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : t;
};

/** Serialises [key, JSON text] pairs as an object in the given order, with the given whitespace. */
export const objectText = (pairs: [string, string][], ws: string) =>
    `{${ws}${pairs.map(([k, v]) => `${JSON.stringify(k)}${ws}:${ws}${v}`).join(`,${ws}`)}${ws}}`;

const WS = fc.constantFrom("", " ", "\n", "\t", "\r\n  ");

export interface ValidCase {
    product: Product;
    body: string;
    isBase64Encoded: boolean;
    headers: RequestHeaders;
}

/** A valid create request in many spellings: key order, whitespace, escapes, price form, base64 (± BOM), headers. */
export const validCaseArb: fc.Arbitrary<ValidCase> = fc
    .record({
        id: validIdArb,
        title: validTextArb("title"),
        description: validTextArb("description"),
        price: validPriceArb,
        order: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
        ws: WS,
        asciiOnly: fc.boolean(),
        encoding: fc.constantFrom("plain", "plain", "base64", "base64+bom"),
        headers: jsonHeadersArb,
    })
    .map(({ id, title, description, price, order, ws, asciiOnly, encoding, headers }) => {
        const spell = (ascii: boolean) => {
            const pairs: [string, string][] = [
                ["id", jsonString(id, ascii)],
                ["title", jsonString(title, ascii)],
                ["description", jsonString(description, ascii)],
                ["price", price.json],
            ];
            return objectText(
                order.map((i) => pairs[i]),
                ws,
            );
        };
        // \u-escaping 2000 astral characters takes 24 KB: over the body limit (→ 413, checked elsewhere), so
        // this valid-product generator falls back to raw UTF-8 then (at most ~14 KB).
        let text = spell(asciiOnly);
        if (Buffer.byteLength(text) + 3 > LIMIT_BYTES) text = spell(false);
        const b64 = encoding !== "plain";
        const body = b64 ? Buffer.from((encoding === "base64+bom" ? "\ufeff" : "") + text, "utf8").toString("base64") : text;
        return { product: { id, title, description, price: price.value }, body, isBase64Encoded: b64, headers };
    });

// ---- near-valid products with exactly one thing wrong ----------------------------------------------------------
export type BrokenField = "id" | "title" | "description" | "price" | "unknown";

export interface BrokenCase {
    field: BrokenField;
    what: string;
    id: string; // the (valid) id of the base product; the body may carry a broken one
    body: string;
    message?: string; // the exact 400 message, where the contract fixes it
}

const anyJson = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? "null");
const lone = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));
const insertAt = (s: string, piece: string, at: number) => {
    const cps = [...s];
    const i = at % (cps.length + 1);
    return [...cps.slice(0, i), piece, ...cps.slice(i)].join("");
};
const WHITESPACE = [" ", "\t", "\n", "\r", "\u00a0", "\u2003", "\u3000", "\ufeff", "\u2028", "\v", "\f", "\u0085"];
/** Invisible, so blank: zero-width space/non-joiner/joiner, word joiner, soft hyphen, Mongolian vowel separator,
 * Hangul filler, variation selector, combining grapheme joiner, invisible times, a tag character, LRM. */
const INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\u00ad",
    "\u180e",
    "\u3164",
    "\ufe0f",
    "\u034f",
    "\u2062",
    "\u{e0041}",
    "\u200e",
];
const LINE_BREAKS = ["\n", "\r", "\u0085", "\u2028", "\u2029"];
const controlChar = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((c) => String.fromCodePoint(c));
const bidiChar = fc.constantFrom(..."\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");
const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

const brokenId: fc.Arbitrary<[string, string | undefined]> = fc.oneof(
    fc.constant<[string, string | undefined]>(["missing", undefined]),
    fc.constantFrom<[string, string]>(
        ["null", "null"],
        ["number", "1001"],
        ["bool", "true"],
        ["array", '["1001"]'],
        ["object", '{"id":"1"}'],
        ["empty", '""'],
        ["dot", '"."'],
        ["dotdot", '".."'],
    ),
    fc.integer({ min: 65, max: 400 }).map((n): [string, string] => ["too long", JSON.stringify("a".repeat(n))]),
    fc
        .tuple(
            validIdArb,
            fc.constantFrom("/", " ", "%", "%2F", "ü", "😀", "?", "#", "\u0000", "\\", "+", ":", "@", "\n", "*", "é", "\u200b"),
            fc.nat(),
        )
        .map(([id, bad, at]): [string, string] => [`bad char ${JSON.stringify(bad)}`, JSON.stringify(insertAt(id, bad, at))]),
    fc
        .string({ unit: "binary", minLength: 1, maxLength: 30 })
        .filter((s) => !isValidId(s))
        .map((s): [string, string] => ["random string", JSON.stringify(s)]),
);

/** [label, JSON text or undefined (field left out), the exact message when the contract fixes it] */
type Broken = [string, string | undefined, string?];

/** Valid text one code point short of the limit, so inserting one character breaks exactly one rule. */
const roomForOneMore = (field: TextField) =>
    validTextArb(field)
        .map((s) => [...s].slice(0, MAX_CHARS[field] - 1).join(""))
        .filter((s) => validText(s, field));

/** One refused character (`pieces`) inserted into valid text, with the message that must name it. */
const withInserted = (field: TextField, pieces: fc.Arbitrary<string>, label: string, what: string) =>
    fc
        .tuple(roomForOneMore(field), pieces, fc.nat())
        .map(([s, c, at]): Broken => [
            `${label} ${codePoint(c)}`,
            JSON.stringify(insertAt(s, c, at)),
            `${field} must not contain ${what} (${codePoint(c)})`,
        ]);

const brokenText = (field: TextField): fc.Arbitrary<Broken> => {
    const max = MAX_CHARS[field];
    const allowedControls = field === "description" ? ["\t", "\n", "\r"] : LINE_BREAKS;
    return fc.oneof(
        fc.constant<Broken>(["missing", undefined]),
        fc.constantFrom<[string, string]>(
            ["null", "null"],
            ["number", "7"],
            ["bool", "false"],
            ["array", '["t"]'],
            ["object", '{"t":1}'],
            ["empty", '""'],
        ),
        fc
            .string({ unit: fc.constantFrom(...WHITESPACE, ...INVISIBLE), minLength: 1, maxLength: 20 })
            .map((s): Broken => ["blank", JSON.stringify(s), `${field} must not be empty`]),
        fc
            .tuple(
                fc.string({ unit: "binary", minLength: 1, maxLength: 3 }).filter((s) => s.trim().length > 0),
                fc.integer({ min: 1, max: 50 }),
            )
            .map(([s, extra]): Broken => ["too long", JSON.stringify(fitTo(s, max + extra))]),
        fc.tuple(roomForOneMore(field), lone, fc.nat()).map(([s, l, at]): Broken => ["lone surrogate", JSON.stringify(insertAt(s, l, at))]),
        withInserted(
            field,
            controlChar.filter((c) => !allowedControls.includes(c)),
            "control character",
            "control characters",
        ),
        withInserted(field, bidiChar, "bidi override/isolate", "bidirectional override or isolate characters"),
        ...(field === "title" ? [withInserted(field, fc.constantFrom(...LINE_BREAKS), "line break", "line breaks")] : []),
    );
};

const BAD_PRICE_STRINGS = [
    "",
    " 1",
    "1 ",
    "+1",
    "1e3",
    "0x10",
    "1.",
    ".5",
    "NaN",
    "Infinity",
    "-Infinity",
    "1,5",
    "١٢",
    "12abc",
    "1".repeat(33),
    "-1.50",
    "-0",
    "1.999",
    "0.001",
    "1000000000.01",
    "9".repeat(20),
    "1_000",
    "½",
    "$1",
    "1.0.0",
];
const brokenPrice: fc.Arbitrary<[string, string | undefined]> = fc.oneof(
    fc.constant<[string, string | undefined]>(["missing", undefined]),
    fc.constantFrom<[string, string]>(
        ["null", "null"],
        ["bool", "true"],
        ["array", "[1]"],
        ["object", '{"amount":1}'],
        ["overflow", "1e400"],
        ["-overflow", "-1e400"],
        ["over max", "1000000000.01"],
        ["over max", "1e12"],
        ["tiny", "5e-324"],
        ["tiny", "0.001"],
        ["float noise", "0.30000000000000004"],
    ),
    fc.constantFrom(...BAD_PRICE_STRINGS).map((s): [string, string] => [`string ${JSON.stringify(s)}`, JSON.stringify(s)]),
    fc.integer({ min: 1, max: 100_000_000_000 }).map((c): [string, string] => ["negative", JSON.stringify(-c / 100)]),
    fc
        .integer({ min: 1, max: 999_999_999_999 })
        .filter((m) => m % 10 !== 0)
        .map((m): [string, string] => ["3 decimals", JSON.stringify(m / 1000)]),
    fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((d) => specPrice(d) === undefined)
        .map((d): [string, string] => ["double", JSON.stringify(d)]),
);

const unknownKey = fc.oneof(
    fc.constantFrom(
        "ID",
        "Id",
        "__proto__",
        "constructor",
        "prototype",
        "toString",
        "price ",
        " id",
        "id\u0000",
        "stock",
        "title2",
        "hasOwnProperty",
    ),
    fc.string({ maxLength: 60 }).filter((k) => !FIELDS.includes(k)),
);

export const brokenCaseArb: fc.Arbitrary<BrokenCase> = fc
    .record({
        base: validCaseArb.filter((c) => !c.isBase64Encoded),
        field: fc.constantFrom<BrokenField>("id", "title", "description", "price", "unknown"),
        id: brokenId,
        title: brokenText("title"),
        description: brokenText("description"),
        price: brokenPrice,
        extra: fc.tuple(unknownKey, anyJson),
        ws: WS,
    })
    .map(({ base, field, id, title, description, price, extra, ws }) => {
        const p = base.product;
        const pairs: [string, string | undefined][] = [
            ["id", JSON.stringify(p.id)],
            ["title", JSON.stringify(p.title)],
            ["description", JSON.stringify(p.description)],
            ["price", JSON.stringify(p.price)],
        ];
        let what: string;
        let message: string | undefined;
        if (field === "unknown") {
            pairs.splice(extra[0].length % 5, 0, [extra[0], extra[1]]);
            what = `unknown key ${JSON.stringify(extra[0])}`;
            message = "1 unknown field (allowed: id, title, description, price)"; // counted, never named
        } else {
            const [label, text, expected] = ({ id, title, description, price } as Record<string, Broken>)[field];
            pairs.find(([k]) => k === field)![1] = text;
            what = `${field}: ${label}`;
            message = expected;
        }
        const kept = pairs.filter((x): x is [string, string] => x[1] !== undefined);
        return { field, what, id: p.id, body: objectText(kept, ws), ...(message === undefined ? {} : { message }) };
    });

// ---- random bodies -----------------------------------------------------------------------------------------------
export interface RawCase {
    kind: string;
    body: string | null | undefined;
    isBase64Encoded: boolean;
    headers: RequestHeaders;
}

const JSONISH = [
    "{",
    "}",
    "[",
    "]",
    '"',
    ":",
    ",",
    "id",
    '"id"',
    '"title"',
    '"description"',
    '"price"',
    "1",
    "-",
    ".",
    "e",
    "null",
    "true",
    "\\",
    "\\u",
    "\\ud800",
    " ",
    "\n",
    '"x"',
    "89.99",
    '"__proto__"',
];

/** A body of `size` bytes made of `fill`, or a valid product padded with spaces to about that size. */
const sized = fc
    .record({
        size: fc.oneof(
            { weight: 4, arbitrary: fc.integer({ min: LIMIT_BYTES - 48, max: LIMIT_BYTES + 48 }) },
            { weight: 1, arbitrary: fc.integer({ min: 14, max: 23 }).map((e) => 2 ** e + 7) }, // 16 KiB .. 8 MiB
            { weight: 1, arbitrary: fc.constant(10 * 1024 * 1024) }, // API Gateway's payload limit
        ),
        fill: fc.constantFrom(" ", "x", "é", "😀", "{", "\u0000"),
        padValid: fc.boolean(),
        valid: validCaseArb.filter((c) => !c.isBase64Encoded),
        b64: fc.boolean(),
    })
    .map(({ size, fill, padValid, valid, b64 }): Omit<RawCase, "headers"> => {
        let text: string;
        if (padValid) {
            const base = Buffer.byteLength(valid.body);
            text = valid.body + " ".repeat(Math.max(0, size - base)); // trailing whitespace is valid JSON
        } else {
            const unit = Buffer.byteLength(fill);
            text = fill.repeat(Math.ceil(size / unit));
        }
        return {
            kind: `${padValid ? "padded product" : `fill ${JSON.stringify(fill)}`} ~${size}B${b64 ? " base64" : ""}`,
            body: b64 ? Buffer.from(text).toString("base64") : text,
            isBase64Encoded: b64,
        };
    });

export const rawCaseArb: fc.Arbitrary<RawCase> = fc
    .tuple(
        fc.oneof(
            fc.constantFrom<Omit<RawCase, "headers">>(
                { kind: "null", body: null, isBase64Encoded: false },
                { kind: "undefined", body: undefined, isBase64Encoded: false },
                { kind: "empty", body: "", isBase64Encoded: false },
                { kind: "empty b64", body: "", isBase64Encoded: true },
                { kind: "b64 padding only", body: "====", isBase64Encoded: true },
                { kind: "b64 of nothing useful", body: "!!!!", isBase64Encoded: true },
                { kind: "deep array", body: "[".repeat(5000) + "]".repeat(5000), isBase64Encoded: false },
                { kind: "deep object", body: '{"a":'.repeat(2500) + "1" + "}".repeat(2500), isBase64Encoded: false },
                {
                    kind: "BOM + product, not base64",
                    body: '\ufeff{"id":"bom","title":"t","description":"d","price":1}',
                    isBase64Encoded: false,
                },
            ),
            fc.string({ unit: "binary", maxLength: 300 }).map((s) => ({ kind: "binary string", body: s, isBase64Encoded: false })),
            fc.string({ unit: "grapheme", maxLength: 100 }).map((s) => ({ kind: "grapheme string", body: s, isBase64Encoded: false })),
            fc
                .array(fc.constantFrom(...JSONISH), { maxLength: 40 })
                .map((a) => ({ kind: "json-ish tokens", body: a.join(""), isBase64Encoded: false })),
            fc.jsonValue().map((v) => ({ kind: "json value", body: JSON.stringify(v), isBase64Encoded: false })),
            fc
                .uint8Array({ maxLength: 600 })
                .map((u) => ({ kind: "random bytes, base64", body: Buffer.from(u).toString("base64"), isBase64Encoded: true })),
            fc
                .uint8Array({ maxLength: 600 })
                .map((u) => ({ kind: "random bytes as latin1 text", body: Buffer.from(u).toString("latin1"), isBase64Encoded: false })),
            fc.string({ maxLength: 200 }).map((s) => ({ kind: "text flagged base64", body: s, isBase64Encoded: true })),
            validCaseArb.map((c) => ({
                kind: "valid product flagged base64 (not encoded)",
                body: c.isBase64Encoded ? Buffer.from(c.body, "base64").toString() : c.body,
                isBase64Encoded: true,
            })),
            fc
                .tuple(
                    validCaseArb.filter((c) => !c.isBase64Encoded),
                    fc.nat(),
                )
                .map(([c, at]) => ({
                    kind: "valid product, truncated",
                    body: c.body.slice(0, at % c.body.length),
                    isBase64Encoded: false,
                })),
            fc
                .tuple(
                    validCaseArb.filter((c) => !c.isBase64Encoded),
                    fc.constantFrom("x", "}", "{}", ",", "\u0000", "null"),
                )
                .map(([c, junk]) => ({ kind: "valid product + trailing junk", body: c.body + junk, isBase64Encoded: false })),
            fc
                .tuple(
                    fc.uint8Array({ minLength: 1, maxLength: 8 }),
                    fc.constantFrom('{"id":"u","title":"', '{"id":"u","title":"t","description":"'),
                )
                .map(([u, prefix]) => ({
                    kind: "invalid UTF-8 inside a base64 product",
                    body: Buffer.concat([
                        Buffer.from(prefix),
                        Buffer.from([0xff, ...u]),
                        Buffer.from('","description":"d","price":1}'),
                    ]).toString("base64"),
                    isBase64Encoded: true,
                })),
            { weight: 2, arbitrary: sized },
        ),
        requestHeadersArb,
    )
    .map(([c, headers]) => ({ kind: c.kind, body: c.body, isBase64Encoded: c.isBase64Encoded, headers }));

// ---- ids in the path -------------------------------------------------------------------------------------------
const encodeAll = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");

export const PATH_SPECIALS = [
    "",
    ".",
    "..",
    "%2e%2e",
    "../etc/passwd",
    "..%2F..%2F",
    "%2F",
    "a%2Fb",
    "%00",
    "a b",
    "/",
    "//",
    "\\",
    "a\\b",
    "?",
    "#",
    "id?x=1",
    "%E2%98%83",
    "☃",
    "\u0000",
    " ",
    "1001 ",
    " 1001",
    "undefined",
    "null",
    "*",
    "a".repeat(65),
    "\ud800",
];

/** pathParameters for GET /product/find/{id}: absent, no id, or an id of every kind. */
export const findParamsArb = (existing: string[]): fc.Arbitrary<Record<string, string | undefined> | null> => {
    const known = existing.length > 0 ? fc.constantFrom(...existing) : validIdArb;
    const id = fc.oneof(
        { weight: 5, arbitrary: known },
        { weight: 3, arbitrary: validIdArb },
        { weight: 1, arbitrary: known.map((k) => (k.toUpperCase() === k ? k.toLowerCase() : k.toUpperCase())) },
        { weight: 1, arbitrary: known.map(encodeAll) },
        { weight: 1, arbitrary: known.map((k) => `${k}/`) },
        { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) },
        { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 30 }) },
        { weight: 1, arbitrary: fc.array(validIdArb, { minLength: 2, maxLength: 5 }).map((a) => a.join("/")) },
        { weight: 1, arbitrary: validIdArb.map(encodeAll) },
        { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent) },
        { weight: 2, arbitrary: fc.constantFrom(...PATH_SPECIALS) },
        { weight: 1, arbitrary: fc.integer({ min: 65, max: 20_000 }).map((n) => "a".repeat(n)) },
    );
    return fc.oneof(
        { weight: 1, arbitrary: fc.constantFrom<Record<string, string | undefined> | null>(null, {}, { id: undefined }) },
        { weight: 20, arbitrary: id.map((v) => ({ id: v })) },
    );
};
