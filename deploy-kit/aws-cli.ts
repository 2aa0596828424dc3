// The AWS CLI, as the deploy kit calls it: JSON out, errors carrying the CLI's own message. The kit never handles
// a credential: every call names a profile (written by ./profile.ts) or uses the build's own role, and the CLI and
// its SDK fetch and refresh the credentials themselves.
import { execFile } from "node:child_process";

export interface AwsCallOptions {
    /** The AWS config profile to sign with; the build's own (container) credentials when absent. */
    readonly profile?: string;
    readonly region: string;
}

export class AwsCliError extends Error {
    constructor(
        readonly command: string,
        readonly stderr: string,
    ) {
        super(`aws ${command}: ${stderr.trim() || "failed"}`);
        this.name = "AwsCliError";
    }
}

/** Runs `aws <args>` and parses its JSON output ({} when it prints nothing). */
export function aws<T = any>(args: readonly string[], options: AwsCallOptions): Promise<T> {
    const full = [...args, "--region", options.region, "--output", "json", ...(options.profile ? ["--profile", options.profile] : [])];
    return new Promise((resolve, reject) => {
        execFile("aws", full, { maxBuffer: 64 * 1024 * 1024, env: process.env }, (error, stdout, stderr) => {
            if (error) return reject(new AwsCliError(args.slice(0, 2).join(" "), String(stderr || error.message)));
            try {
                resolve((stdout.trim() === "" ? {} : JSON.parse(stdout)) as T);
            } catch {
                reject(new AwsCliError(args.slice(0, 2).join(" "), `unexpected output: ${stdout.slice(0, 200)}`));
            }
        });
    });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
