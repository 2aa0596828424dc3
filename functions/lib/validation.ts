/**
 * Pure request parsing/validation for the product API. No I/O, so it is unit-testable on its own.
 *
 * Hand-written on purpose: four fields do not justify a schema library in a Lambda bundle (zod adds ~50 KB
 * minified to every cold start) and the messages here say exactly which field is wrong and why.
 *
 * Limits (the API contract; keep README/tests in step):
 *   - body:        at most MAX_BODY_BYTES = 16 KiB, measured in bytes after base64-decoding when
 *                  isBase64Encoded is set                                           → 413 when larger
 *   - Content-Type: application/json, case-insensitive, parameters tolerated; a charset parameter must be
 *                  UTF-8 ("utf-8"/"utf8"). Missing, any other type (text/plain, form types: what a cross-site
 *                  HTML form can send), another charset, or several different values → 415, checked first.
 *   - body:        UTF-8 JSON object with exactly the fields id, title, description, price
 *                  (unknown fields are rejected, not silently dropped, and not named: the message gives
 *                  their number and the allowed names, so client text is never reflected)  → 400
 *   - id:          string matching ID_PATTERN = ^[A-Za-z0-9._~-]{1,64}$ (RFC 3986 "unreserved": safe in a
 *                  URL path segment without encoding), and not "." or ".." (clients and proxies collapse
 *                  those path segments, so /product/find/.. could never be read back)
 *   - title:       string, not blank, single line, ≤ 200 characters (Unicode code points)
 *   - description: string, not blank, ≤ 2000 characters (Unicode code points); may span lines
 *   - blank:       made only of Unicode White_Space, format characters (\p{Cf}: zero-width space/joiners,
 *                  word joiner, BOM, ...) and other default-ignorable code points (variation selectors,
 *                  Hangul fillers): text a reader cannot see counts as empty.
 *   - refused characters, named by code point (U+XXXX) in the message, never echoed:
 *                  control characters (\p{Cc}: NUL, BEL, ESC, DEL, C1), except TAB, LF and CR in a
 *                  description (multi-line text is legitimate); in a title LF, CR, NEL, U+2028 and U+2029
 *                  are refused as line breaks; bidirectional embedding/override/isolate characters
 *                  (U+202A-U+202E, U+2066-U+2069: they reorder how the surrounding text is displayed).
 *   - title and description must be well-formed Unicode: a JSON escape such as "\ud800" (an unpaired UTF-16
 *                  surrogate) has no UTF-8 encoding, so DynamoDB (UTF-8 strings) could not store it as sent → 400.
 *                  (Base64 bodies already reject invalid UTF-8 bytes; this closes the same gap for JSON escapes.)
 *   - price:       JSON number or a plain decimal string ("89.99"; no exponent, sign or spaces in strings),
 *                  0 ≤ price ≤ 1e9, at most 2 decimal places; stored as a DynamoDB number. Exactly
 *                  representable as the nearest double of a 2-decimal value, so it round-trips unchanged.
 * Strings are stored as sent (no trimming or normalisation).
 */

export interface Product {
    id: string;
    title: string;
    description: string;
    price: number;
}

export const MAX_BODY_BYTES = 16 * 1024;
export const ID_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
export const ID_MAX_LENGTH = 64;
export const TITLE_MAX_CHARS = 200;
export const DESCRIPTION_MAX_CHARS = 2000;
export const PRICE_MAX = 1e9;
export const PRICE_MAX_DECIMALS = 2;

const FIELDS = ["id", "title", "description", "price"] as const;
const PRICE_STRING = /^\d+(\.\d+)?$/;
// With the u flag a surrogate pair is one code point, so \p{Cs} only matches an unpaired surrogate.
const LONE_SURROGATE = /\p{Cs}/u;
// Text a reader cannot see: whitespace, format characters (U+200B-U+200D, U+2060, U+FEFF, ...) and the other
// default-ignorable code points (variation selectors, Hangul fillers). JS trim() knows neither U+200B nor U+180E.
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}\p{Default_Ignorable_Code_Point}]*$/u;

export type ValidationError = { ok: false; status: 400 | 413 | 415; message: string };
export type Valid<T> = { ok: true; value: T };
export type Result<T> = Valid<T> | ValidationError;

const invalid = (message: string, status: ValidationError["status"] = 400): ValidationError => ({ ok: false, status, message });

/** Checks an id (from a body or a path parameter). Returns a problem description or undefined. */
export function idProblem(id: unknown): string | undefined {
    if (id === undefined || id === null) return "id is required";
    if (typeof id !== "string") return "id must be a string";
    if (id.length === 0) return "id must not be empty";
    if (id.length > ID_MAX_LENGTH) return `id must be at most ${ID_MAX_LENGTH} characters`;
    if (!ID_PATTERN.test(id)) return "id may only contain ASCII letters (A-Z, a-z), digits (0-9) and the characters . _ ~ -";
    if (id === "." || id === "..") return 'id must not be "." or ".."';
    return undefined;
}

export function validateId(id: unknown): Result<string> {
    const problem = idProblem(id);
    return problem ? invalid(problem) : { ok: true, value: id as string };
}

/** "U+001B": how a message names a character without echoing it. */
export const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;

interface TextRule {
    name: "title" | "description";
    maxChars: number;
    /** Characters refused in this field, each with the words the message uses for them. */
    refused: [RegExp, string][];
}

const BIDI_RULE: [RegExp, string] = [/[\u202A-\u202E\u2066-\u2069]/u, "bidirectional override or isolate characters"];
const TITLE: TextRule = {
    name: "title",
    maxChars: TITLE_MAX_CHARS,
    refused: [[/[\n\r\u0085\u2028\u2029]/u, "line breaks"], [/\p{Cc}/u, "control characters"], BIDI_RULE],
};
const DESCRIPTION: TextRule = {
    name: "description",
    maxChars: DESCRIPTION_MAX_CHARS,
    refused: [[/(?![\t\n\r])\p{Cc}/u, "control characters"], BIDI_RULE],
};

function textProblem(rule: TextRule, value: unknown): string | undefined {
    const { name, maxChars } = rule;
    if (value === undefined || value === null) return `${name} is required`;
    if (typeof value !== "string") return `${name} must be a string`;
    if (INVISIBLE_ONLY.test(value)) return `${name} must not be empty`;
    if (LONE_SURROGATE.test(value)) return `${name} must be valid Unicode text (it contains an unpaired UTF-16 surrogate)`;
    for (const [pattern, what] of rule.refused) {
        const hit = pattern.exec(value);
        if (hit) return `${name} must not contain ${what} (${codePoint(hit[0])})`;
    }
    // Count code points, not UTF-16 units, so an emoji counts as one character.
    let chars = 0;
    for (const _ of value) if (++chars > maxChars) return `${name} must be at most ${maxChars} characters`;
    return undefined;
}

/** Parses a price given as a JSON number or a decimal string. */
export function parsePrice(value: unknown): Result<number> {
    let price: number;
    if (value === undefined || value === null) return invalid("price is required");
    if (typeof value === "number") {
        price = value;
    } else if (typeof value === "string") {
        if (value.length === 0) return invalid("price must not be empty");
        if (/^-\d+(\.\d+)?$/.test(value)) return invalid("price must not be negative");
        if (value.length > 32 || !PRICE_STRING.test(value)) {
            return invalid('price must be a number or a decimal string such as "89.99"');
        }
        price = Number(value);
    } else {
        return invalid('price must be a number or a decimal string such as "89.99"');
    }
    if (!Number.isFinite(price)) return invalid("price must be a finite number");
    if (price < 0) return invalid("price must not be negative");
    if (price > PRICE_MAX) return invalid(`price must be at most ${PRICE_MAX}`);
    // A 2-decimal value v satisfies round(v*100)/100 === v exactly (both sides are the nearest double of n/100).
    if (Math.round(price * 100) / 100 !== price) {
        return invalid(`price must have at most ${PRICE_MAX_DECIMALS} decimal places`);
    }
    return { ok: true, value: price === 0 ? 0 : price }; // normalise -0
}

const SEND_JSON = "send Content-Type: application/json";

/**
 * Checks the request's Content-Type values (every value the request carried, under any spelling of the header
 * name). JSON is UTF-8 (RFC 8259); a body declared in another charset would be decoded wrongly, so it is refused
 * rather than stored with replacement characters. Returns the 415 or undefined.
 */
export function contentTypeError(values: readonly string[]): ValidationError | undefined {
    const distinct = [...new Set(values.map((v) => v.trim()).filter((v) => v !== ""))];
    if (distinct.length === 0) return invalid(`Content-Type header is required: ${SEND_JSON}`, 415);
    if (distinct.length > 1) return invalid(`Content-Type must be sent once: ${SEND_JSON}`, 415);
    const [mediaType, ...parameters] = distinct[0].split(";");
    if (mediaType.trim().toLowerCase() !== "application/json") return invalid(`Content-Type must be application/json: ${SEND_JSON}`, 415);
    for (const parameter of parameters) {
        const eq = parameter.indexOf("=");
        if (eq < 0 || parameter.slice(0, eq).trim().toLowerCase() !== "charset") continue;
        const charset = parameter
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/s, "$1")
            .toLowerCase();
        if (charset !== "utf-8" && charset !== "utf8") {
            return invalid(
                "Only UTF-8 request bodies are accepted: send Content-Type: application/json; charset=utf-8 (or no charset)",
                415,
            );
        }
    }
    return undefined;
}

/** Decodes the raw API Gateway body into text, enforcing the byte limit. */
export function decodeBody(body: string | null | undefined, isBase64Encoded: boolean | undefined): Result<string> {
    if (body === null || body === undefined || body.length === 0) return invalid("Request body is required");
    const bytes = isBase64Encoded ? Buffer.from(body, "base64") : undefined;
    const size = bytes ? bytes.length : Buffer.byteLength(body, "utf8");
    if (size > MAX_BODY_BYTES) {
        return invalid(`Request body is ${size} bytes; the limit is ${MAX_BODY_BYTES} bytes`, 413);
    }
    if (!bytes) return { ok: true, value: body };
    if (bytes.length === 0) return invalid("Request body is required");
    try {
        return { ok: true, value: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
    } catch {
        return invalid("Request body is not valid UTF-8");
    }
}

/** Full create-product parse: raw body → Product, or the first class of problem found (all field problems at once). */
export function parseCreateProduct(body: string | null | undefined, isBase64Encoded?: boolean): Result<Product> {
    const text = decodeBody(body, isBase64Encoded);
    if (!text.ok) return text;

    let data: unknown;
    try {
        data = JSON.parse(text.value);
    } catch (err) {
        // Only where it broke: V8's own message can quote part of the body, which must not reach the logs.
        const position = /at position (\d+)/.exec((err as Error).message)?.[1];
        return invalid(`Request body is not valid JSON${position === undefined ? "" : ` (error at character ${position})`}`);
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
        return invalid(
            `Request body must be a JSON object, got ${Array.isArray(data) ? "an array" : data === null ? "null" : typeof data}`,
        );
    }
    const input = data as Record<string, unknown>;

    const problems: string[] = [];
    const unknown = Object.keys(input).filter((k) => !(FIELDS as readonly string[]).includes(k));
    if (unknown.length > 0) {
        // Counted, not named: a field name is client text, and messages never reflect client text.
        problems.push(`${unknown.length} unknown field${unknown.length > 1 ? "s" : ""} (allowed: ${FIELDS.join(", ")})`);
    }
    const idIssue = idProblem(input.id);
    if (idIssue) problems.push(idIssue);
    const titleIssue = textProblem(TITLE, input.title);
    if (titleIssue) problems.push(titleIssue);
    const descriptionIssue = textProblem(DESCRIPTION, input.description);
    if (descriptionIssue) problems.push(descriptionIssue);
    const price = parsePrice(input.price);
    if (!price.ok) problems.push(price.message);

    if (problems.length > 0 || !price.ok) return invalid(problems.join("; "));
    return {
        ok: true,
        value: { id: input.id as string, title: input.title as string, description: input.description as string, price: price.value },
    };
}
