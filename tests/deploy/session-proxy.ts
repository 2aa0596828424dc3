/**
 * A proxy in front of moto that sees every session of one role being issued, and can make those sessions expire.
 *
 *   - Sessions: each sts:AssumeRole of `roleArn` is recorded with the credentials moto issued and the client that
 *     asked (its User-Agent), so a test knows every secret that exists, including those that the SDK inside osls
 *     holds only in memory, and can look for them in the build log.
 *   - Expiry (`sessionSeconds`), for the rehearsal of a deploy that outlives its assumed-role session (role
 *     chaining caps it at one hour, and a slow CloudFormation update can take longer): the answer's <Expiration>
 *     becomes `sessionSeconds` from now, and a request signed with that session after that moment is refused with
 *     ExpiredToken, as STS-issued credentials are, without reaching moto. This is the stand-in part, because moto
 *     never expires credentials: it checks an assumed-role session's key and token, not its Expiration
 *     (moto/iam/access_control.py, AssumedRoleAccessKey), and STS refuses DurationSeconds below 900.
 * Everything else is forwarded to moto unchanged; the deploy and its IAM checks stay moto's.
 */
import { createServer, request, IncomingHttpHeaders } from "node:http";
import { AddressInfo } from "node:net";

export interface IssuedSession {
    readonly userAgent: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken: string;
}

export interface SessionProxy {
    readonly url: string;
    /** The AssumeRole calls for the role, in order. */
    readonly issued: IssuedSession[];
    /** Requests refused because their session had expired. */
    readonly refused: number;
    close(): Promise<void>;
}

const EXPIRED = `<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>expired</RequestId></ErrorResponse>`;

export async function startSessionProxy(args: { moto: string; roleArn: string; sessionSeconds?: number }): Promise<SessionProxy> {
    const upstream = new URL(args.moto);
    const expiry = new Map<string, number>(); // access key id -> epoch ms
    const issued: IssuedSession[] = [];
    let refused = 0;

    const forward = (method: string, path: string, headers: IncomingHttpHeaders, body: Buffer) =>
        new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
            const req = request({ host: upstream.hostname, port: upstream.port, method, path, headers }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
            });
            req.on("error", reject);
            req.end(body);
        });

    const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
            const body = Buffer.concat(chunks);
            const akid = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ""))?.[1];
            if (akid && expiry.has(akid) && Date.now() >= expiry.get(akid)!) {
                refused++;
                res.writeHead(400, { "content-type": "text/xml" });
                res.end(EXPIRED);
                return;
            }
            const form = new URLSearchParams(body.toString("utf8"));
            const isAssume = form.get("Action") === "AssumeRole" && form.get("RoleArn") === args.roleArn;
            try {
                const answer = await forward(req.method ?? "GET", req.url ?? "/", req.headers, body);
                let payload = answer.body;
                if (isAssume && answer.status === 200) {
                    const text = payload.toString("utf8");
                    const field = (name: string) => {
                        const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(text)?.[1];
                        if (!value) throw new Error(`AssumeRole answer without ${name}: ${text}`);
                        return value;
                    };
                    const session = {
                        userAgent: String(req.headers["user-agent"] ?? ""),
                        accessKeyId: field("AccessKeyId"),
                        secretAccessKey: field("SecretAccessKey"),
                        sessionToken: field("SessionToken"),
                    };
                    issued.push(session);
                    if (args.sessionSeconds !== undefined) {
                        const until = Date.now() + args.sessionSeconds * 1000;
                        expiry.set(session.accessKeyId, until);
                        const expiration = `<Expiration>${new Date(until).toISOString()}</Expiration>`;
                        payload = Buffer.from(text.replace(/<Expiration>[^<]+<\/Expiration>/, expiration));
                    }
                }
                const headers = { ...answer.headers, "content-length": String(payload.length) };
                delete headers["transfer-encoding"];
                res.writeHead(answer.status, headers);
                res.end(payload);
            } catch (error) {
                res.writeHead(502, { "content-type": "text/plain" });
                res.end(String(error));
            }
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        issued,
        get refused() {
            return refused;
        },
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}
