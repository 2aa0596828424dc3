/**
 * Structured logs: one JSON object per line on stdout (CloudWatch keeps each line as one event; no
 * console.log prefixes). Every line carries the Lambda requestId. Request bodies are never logged at info
 * level; at debug level only their size is logged.
 *
 * LOG_LEVEL = debug | info (default) | warn | error | silent, read per call so tests can silence it.
 */

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level | "silent", number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Fields = Record<string, unknown>;

export interface Logger {
    debug(msg: string, fields?: Fields): void;
    info(msg: string, fields?: Fields): void;
    warn(msg: string, fields?: Fields): void;
    error(msg: string, fields?: Fields): void;
}

function threshold(): number {
    const configured = (process.env.LOG_LEVEL ?? "info").toLowerCase();
    return ORDER[configured as Level] ?? ORDER.info;
}

/** Serialises an Error for logs (stack included: logs are private, response bodies are not). */
export function errorFields(err: unknown): Fields {
    if (err instanceof Error) {
        const meta = (err as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
        return {
            errorName: err.name,
            errorMessage: err.message,
            ...(meta ? { awsStatus: meta.httpStatusCode, awsRequestId: meta.requestId } : {}),
            stack: err.stack,
        };
    }
    return { errorName: typeof err, errorMessage: String(err) };
}

export function createLogger(base: Fields, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
    const emit = (level: Level, msg: string, fields?: Fields) => {
        if (ORDER[level] < threshold()) return;
        let line: string;
        try {
            line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields });
        } catch {
            line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, note: "fields not serialisable" });
        }
        write(`${line}\n`);
    };
    return {
        debug: (msg, fields) => emit("debug", msg, fields),
        info: (msg, fields) => emit("info", msg, fields),
        warn: (msg, fields) => emit("warn", msg, fields),
        error: (msg, fields) => emit("error", msg, fields),
    };
}
