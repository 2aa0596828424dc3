/**
 * An HTTP front for moto: forwards every request unchanged, except those `answer` answers itself, and lets
 * `rewrite` change what moto answered. The stand-ins built on it (tests/deploy/session-proxy.ts,
 * tests/drift/cloudformation-drift.ts) say in their headers what moto cannot do that they take over; everything
 * they do not touch is moto's.
 */
import { createServer, IncomingHttpHeaders, request } from "node:http";
import { AddressInfo } from "node:net";

export interface FrontRequest {
    readonly method: string;
    readonly url: string;
    readonly headers: IncomingHttpHeaders;
    readonly body: Buffer;
    /** The form body of a query-protocol call (STS, CloudFormation, SNS): Action=… */
    readonly form: URLSearchParams;
    /** Access key ID the request is signed with. */
    readonly accessKeyId?: string;
    /** Signing service from the SigV4 credential scope (`sts`, `cloudformation`, `s3`, …). */
    readonly service?: string;
}

export interface FrontAnswer {
    readonly status: number;
    readonly headers: IncomingHttpHeaders;
    readonly body: Buffer;
}

export interface MotoFront {
    readonly url: string;
    close(): Promise<void>;
}

export const xmlAnswer = (status: number, xml: string): FrontAnswer => ({
    status,
    headers: { "content-type": "text/xml" },
    body: Buffer.from(xml),
});

export async function startMotoFront(args: {
    moto: string;
    answer?: (req: FrontRequest) => FrontAnswer | undefined;
    rewrite?: (req: FrontRequest, answer: FrontAnswer) => FrontAnswer;
}): Promise<MotoFront> {
    const upstream = new URL(args.moto);
    const forward = (req: FrontRequest) =>
        new Promise<FrontAnswer>((resolve, reject) => {
            const out = request(
                { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
                },
            );
            out.on("error", reject);
            out.end(req.body);
        });

    const server = createServer((incoming, res) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (c: Buffer) => chunks.push(c));
        incoming.on("end", async () => {
            const body = Buffer.concat(chunks);
            const scope = /Credential=([^/]+)\/\d+\/[^/]+\/([^/]+)\//.exec(String(incoming.headers.authorization ?? ""));
            const req: FrontRequest = {
                method: incoming.method ?? "GET",
                url: incoming.url ?? "/",
                headers: incoming.headers,
                body,
                form: new URLSearchParams(body.toString("utf8")),
                accessKeyId: scope?.[1],
                service: scope?.[2],
            };
            try {
                let answer = args.answer?.(req) ?? (await forward(req));
                if (args.rewrite) answer = args.rewrite(req, answer);
                const headers = { ...answer.headers, "content-length": String(answer.body.length) };
                delete headers["transfer-encoding"];
                res.writeHead(answer.status, headers);
                res.end(answer.body);
            } catch (error) {
                res.writeHead(502, { "content-type": "text/plain" });
                res.end(String(error));
            }
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}
