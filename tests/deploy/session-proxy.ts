/**
 * A front for moto (tests/helpers/moto-front.ts) that sees every session of one role being issued, and can make
 * those sessions expire.
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
 * Everything else goes to moto unchanged; the deploy and its IAM checks stay moto's.
 */
import { startMotoFront, xmlAnswer } from "../helpers/moto-front";

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
    const expiry = new Map<string, number>(); // access key id -> epoch ms
    const issued: IssuedSession[] = [];
    let refused = 0;

    const front = await startMotoFront({
        moto: args.moto,
        answer(req) {
            if (req.accessKeyId && expiry.has(req.accessKeyId) && Date.now() >= expiry.get(req.accessKeyId)!) {
                refused++;
                return xmlAnswer(400, EXPIRED);
            }
            return undefined;
        },
        rewrite(req, answer) {
            if (req.form.get("Action") !== "AssumeRole" || req.form.get("RoleArn") !== args.roleArn || answer.status !== 200) return answer;
            const text = answer.body.toString("utf8");
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
            if (args.sessionSeconds === undefined) return answer;
            const until = Date.now() + args.sessionSeconds * 1000;
            expiry.set(session.accessKeyId, until);
            const expiration = `<Expiration>${new Date(until).toISOString()}</Expiration>`;
            return { ...answer, body: Buffer.from(text.replace(/<Expiration>[^<]+<\/Expiration>/, expiration)) };
        },
    });
    return {
        url: front.url,
        issued,
        get refused() {
            return refused;
        },
        close: front.close,
    };
}
