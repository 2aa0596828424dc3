// The Node.js side of one Lambda invocation for ./lambda-standin.ts (stand-in for the Lambda runtime, which moto
// runs only in Docker): started with the function's code directory as cwd and its environment, it receives
// {handler, event, context} over IPC, loads `<file>.<export>` from LAMBDA_TASK_ROOT as the nodejs runtime does,
// calls it (async, or with a callback), and sends back {ok, result} or {ok: false, errorType, errorMessage} with
// the runtime's error types. One process per invocation: no state survives between invocations.
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

function reply(message) {
    process.send(message, () => process.exit(0));
}

function failure(errorType, error) {
    return { ok: false, errorType, errorMessage: error instanceof Error ? error.message : String(error) };
}

async function load(handler) {
    const dot = handler.lastIndexOf(".");
    const file = handler.slice(0, dot);
    const name = handler.slice(dot + 1);
    const root = process.env.LAMBDA_TASK_ROOT;
    const path = [".js", ".mjs", ".cjs"].map((ext) => join(root, file + ext)).find((p) => existsSync(p));
    if (!path) throw Object.assign(new Error(`Cannot find module '${file}'`), { errorType: "Runtime.ImportModuleError" });
    let module;
    try {
        module = path.endsWith(".mjs") ? await import(pathToFileURL(path).href) : require(path);
    } catch (error) {
        throw Object.assign(new Error(`Error: ${error.message}`), { errorType: "Runtime.ImportModuleError" });
    }
    if (typeof module[name] !== "function") {
        throw Object.assign(new Error(`${file}.${name} is undefined or not exported`), { errorType: "Runtime.HandlerNotFound" });
    }
    return module[name];
}

process.on("unhandledRejection", (reason) => reply(failure("Runtime.UnhandledPromiseRejection", reason)));

process.once("message", async ({ handler, event, context }) => {
    let fn;
    try {
        fn = await load(handler);
    } catch (error) {
        return reply(failure(error.errorType, error));
    }
    const lambdaContext = {
        ...context,
        callbackWaitsForEmptyEventLoop: true,
        getRemainingTimeInMillis: () => context.deadline - Date.now(),
    };
    try {
        const result = await new Promise((resolve, reject) => {
            const returned = fn(event, lambdaContext, (error, value) => (error ? reject(error) : resolve(value)));
            if (returned && typeof returned.then === "function") returned.then(resolve, reject);
            else if (fn.length < 3) resolve(returned);
        });
        reply({ ok: true, result: result === undefined ? null : result });
    } catch (error) {
        reply(failure(error && error.name ? error.name : "Error", error));
    }
});
